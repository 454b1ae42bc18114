"""Uploads over the API get the web's checks (the type found in the bytes,
size and count limits, safe names, only while the case is with its
applicant) and downloads are served as attachments with nosniff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.cases.models import Attachment

from .conftest import PDF_BYTES, PNG_BYTES, api_client, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(applicant):
    response = api_client(applicant).post("/api/v1/cases/", {"service": "business_setup"}, format="json")
    return response.json()["reference"]


def _upload(client, reference, slot, name, content, content_type="application/pdf"):
    return client.post(
        f"/api/v1/cases/{reference}/attachments/",
        {"slot": slot, "file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def test_an_upload_is_stored_listed_and_downloaded(applicant, draft):
    client = api_client(applicant)

    uploaded = _upload(client, draft, "articles_of_association", "../../etc/章程.pdf", PDF_BYTES)

    assert uploaded.status_code == 201, uploaded.json()
    body = uploaded.json()
    assert body["name"] == "章程.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF_BYTES)
    assert len(body["sha256"]) == 64
    assert uploaded["Location"].endswith(f"/attachments/{body['id']}/")
    listed = client.get(f"/api/v1/cases/{draft}/attachments/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    download = client.get(body["download"], HTTP_ACCEPT="application/pdf")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"


def test_the_type_comes_from_the_bytes_not_the_name(applicant, draft):
    client = api_client(applicant)

    renamed = _upload(client, draft, "articles_of_association", "章程.pdf", b"MZ\x90\x00 not a pdf at all")
    png_as_pdf = _upload(client, draft, "articles_of_association", "scan.pdf", PNG_BYTES)
    empty = _upload(client, draft, "articles_of_association", "empty.pdf", b"")

    for response in (renamed, png_as_pdf, empty):
        error = assert_error(response, 400, "form_invalid")
        assert list(error["fields"]) == ["articles_of_association"]
    assert not Attachment.objects.filter(case__reference=draft).exists()


def test_size_and_count_limits(applicant, draft):
    client = api_client(applicant)
    big = PDF_BYTES + b"0" * (10 * 1024 * 1024)

    too_big = _upload(client, draft, "address_proof", "big.pdf", big)
    first = _upload(client, draft, "articles_of_association", "a.pdf", PDF_BYTES)
    second = _upload(client, draft, "articles_of_association", "b.pdf", PDF_BYTES)

    assert "MB" in assert_error(too_big, 400, "form_invalid")["fields"]["address_proof"][0]
    assert first.status_code == 201
    assert_error(second, 400, "form_invalid")
    assert Attachment.objects.filter(case__reference=draft).count() == 1


def test_bad_slots_and_bodies(applicant, draft):
    client = api_client(applicant)

    unknown = _upload(client, draft, "no_such_slot", "a.pdf", PDF_BYTES)
    as_json = client.post(f"/api/v1/cases/{draft}/attachments/", {"slot": "x"}, format="json")
    no_file = client.post(f"/api/v1/cases/{draft}/attachments/", {"slot": "id_copies"}, format="multipart")

    assert list(assert_error(unknown, 400, "invalid")["fields"]) == ["slot"]
    assert_error(as_json, 415, "unsupported_media_type")
    assert list(assert_error(no_file, 400, "invalid")["fields"]) == ["file"]


def test_only_the_applicant_uploads_and_only_while_the_case_is_with_them(
    applicant, other_applicant, market_reviewer, business_case
):
    reference = business_case.reference

    owner = _upload(api_client(applicant), reference, "address_proof", "a.pdf", PDF_BYTES)
    reviewer = _upload(api_client(market_reviewer), reference, "address_proof", "a.pdf", PDF_BYTES)
    stranger = _upload(api_client(other_applicant), reference, "address_proof", "a.pdf", PDF_BYTES)

    assert_error(owner, 409, "conflict")
    assert_error(reviewer, 403, "forbidden")
    assert_error(stranger, 404, "not_found")
    attachment = Attachment.objects.filter(case=business_case).first()
    removed = api_client(applicant).delete(f"/api/v1/cases/{reference}/attachments/{attachment.pk}/")
    assert_error(removed, 409, "conflict")
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_the_applicant_removes_a_file_from_a_draft(applicant, draft):
    client = api_client(applicant)
    uploaded = _upload(client, draft, "articles_of_association", "a.pdf", PDF_BYTES).json()

    removed = client.delete(f"/api/v1/cases/{draft}/attachments/{uploaded['id']}/")

    assert removed.status_code == 204
    assert not Attachment.objects.filter(pk=uploaded["id"]).exists()
    assert_error(client.get(f"/api/v1/cases/{draft}/attachments/{uploaded['id']}/"), 404, "not_found")
