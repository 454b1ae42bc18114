"""Certificate endpoints wire the certificates app's selectors and
verification services into the API: download for whoever sees the case,
public verification by number and by upload. (Rendering and signing are
tested in tests/certificates; here a stored row stands for an issued
certificate.)"""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.certificates.models import Certificate, CertificateStatus

from .conftest import PDF_BYTES, api_client, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(settings, tmp_path, business_case):
    settings.GOVFLOW_CERTIFICATES_DIR = tmp_path / "certificates"
    row = Certificate(
        number="SC-2026-000001",
        issue_key=f"test:{business_case.pk}",
        case=business_case,
        node_id="end_approved",
        type="business_licence",
        title_zh="营业执照",
        title_en="Business licence",
        department=Department.objects.get(code="market_regulation"),
        holder=business_case.title,
        status=CertificateStatus.VALID,
        issued_at=timezone.now(),
        sha256=hashlib.sha256(PDF_BYTES).hexdigest(),
        size=len(PDF_BYTES),
    )
    row.file.save("SC-2026-000001.pdf", ContentFile(PDF_BYTES), save=False)
    row.save()
    return row


def test_the_applicant_lists_and_downloads_the_cases_certificates(applicant, certificate):
    client = api_client(applicant)

    listed = client.get(f"/api/v1/cases/{certificate.case.reference}/certificates/").json()
    download = client.get(listed[0]["download"])

    assert [c["number"] for c in listed] == ["SC-2026-000001"]
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"


def test_outsiders_cannot_download(other_applicant, base_data, certificate):
    for user in (other_applicant, base_data["fire_reviewer"]):
        client = api_client(user)
        assert_error(client.get(f"/api/v1/certificates/{certificate.number}/content/"), 404, "not_found")
        assert_error(
            client.get(f"/api/v1/cases/{certificate.case.reference}/certificates/"), 404, "not_found"
        )


def test_anyone_verifies_by_number(certificate):
    anonymous = api_client()

    valid = anonymous.get(f"/api/v1/certificates/verify/{certificate.number}/").json()
    unknown = anonymous.get("/api/v1/certificates/verify/SC-2026-999999/").json()

    assert valid["status"] == "valid"
    assert valid["holder"] == certificate.holder
    assert unknown["status"] == "not_issued"
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = timezone.now()
    certificate.save(update_fields=["status", "revoked_at"])
    assert anonymous.get(f"/api/v1/certificates/verify/{certificate.number}/").json()["status"] == "revoked"


def test_anyone_verifies_by_upload(certificate):
    anonymous = api_client()

    def verify(content):
        upload = SimpleUploadedFile("c.pdf", content, content_type="application/pdf")
        return anonymous.post("/api/v1/certificates/verify/", {"pdf": upload}, format="multipart")

    unsigned = verify(PDF_BYTES).json()  # the stored bytes, but no valid signature in them
    stranger = verify(b"%PDF-1.4\nsomething else\n%%EOF\n").json()
    missing = anonymous.post("/api/v1/certificates/verify/", {}, format="multipart")

    assert unsigned["status"] == "altered"
    assert unsigned["number"] == certificate.number
    assert stranger["status"] == "not_issued"
    assert list(assert_error(missing, 400, "invalid")["fields"]) == ["pdf"]
