"""The public verification page (no login), downloads for whoever sees the
case and nobody else, the case page's certificate panel, and the
administrators' revoke and reissue page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.certificates.models import Certificate, CertificateStatus
from govflow.outbox.services import outbox_drain

from .conftest import certificate_path

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_public_page_answers_by_number_and_qr_link_without_login(licence):
    page = Client().get(f"/verify/{licence.number}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="verify-status"' in html
    assert "北京远航物流有限公司" in html
    assert licence.number in html
    assert "verify-valid" in html
    # the form by number redirects to the same page
    assert Client().get("/verify/", {"number": licence.number.lower()}).url == f"/verify/{licence.number}/"
    unknown = Client().get("/verify/MR-1999-000009/").content.decode()
    assert "verify-not_issued" in unknown


def test_the_public_page_shows_only_public_fields(business_case, licence):
    html = Client().get(f"/verify/{licence.number}/").content.decode()
    assert business_case.data["legal_rep_id_number"] not in html
    assert business_case.data["legal_rep_phone"] not in html
    assert business_case.reference not in html


def test_uploading_the_pdf_checks_the_file(licence):
    pdf = certificate_path(licence).read_bytes()
    good = Client().post("/verify/", {"pdf": SimpleUploadedFile("c.pdf", pdf, "application/pdf")})
    assert good.status_code == 200
    assert "verify-valid" in good.content.decode()
    tampered = pdf[:1000] + b"X" + pdf[1001:]
    bad = Client().post("/verify/", {"pdf": SimpleUploadedFile("c.pdf", tampered, "application/pdf")})
    assert "verify-altered" in bad.content.decode()
    junk = Client().post("/verify/", {"pdf": SimpleUploadedFile("c.pdf", b"GIF89a", "image/gif")})
    assert junk.status_code == 200
    assert "verify-not_issued" in junk.content.decode()
    missing = Client().post("/verify/", {})
    assert missing.status_code == 400


def test_the_applicant_and_the_case_reviewers_download_everyone_else_gets_404(
    licence, users, other_applicant
):
    url = f"/verify/download/{licence.number}/"
    for name in ("applicant", "market_regulation_reviewer", "tax_reviewer"):
        response = login(users[name]).get(url)
        assert response.status_code == 200, name
        assert b"".join(response.streaming_content) == certificate_path(licence).read_bytes()
        assert response["Content-Type"] == "application/pdf"
    assert login(other_applicant).get(url).status_code == 404
    assert login(users["natural_resources_reviewer"]).get(url).status_code == 404  # not on the case
    assert Client().get(url).status_code == 302  # to the login page
    assert login(users["applicant"]).get("/verify/download/MR-1999-000001/").status_code == 404


def test_the_case_page_lists_the_certificates_with_download_links(business_case, licence, users):
    html = login(users["applicant"]).get(f"/cases/{business_case.reference}/").content.decode()
    assert f"/verify/download/{licence.number}/" in html
    assert "certificates-none" not in html
    html = (
        login(users["market_regulation_reviewer"]).get(f"/cases/{business_case.reference}/").content.decode()
    )
    assert f"/verify/download/{licence.number}/" in html


def test_an_admin_revokes_and_reissues_and_the_reissue_links_to_the_one_it_replaces(
    business_case, licence, users, process_admin
):
    admin = login(process_admin)
    assert admin.get("/verify/manage/").status_code == 200
    # revoke needs a reason
    assert (
        admin.post(f"/verify/manage/{licence.number}/", {"action": "revoke", "reason": " "}).status_code
        == 400
    )
    response = admin.post(f"/verify/manage/{licence.number}/", {"action": "revoke", "reason": "登记信息有误"})
    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.status == CertificateStatus.REVOKED
    assert licence.revoked_by == process_admin
    assert AuditEvent.objects.filter(action="CERTIFICATE_REVOKED", object_id=licence.number).exists()
    # reissue: a new number, rendered by the worker, replacing the old one
    response = admin.post(f"/verify/manage/{licence.number}/", {"action": "reissue", "reason": "更正后换发"})
    assert response.status_code == 302
    new = Certificate.objects.get(replaces=licence)
    assert new.status == CertificateStatus.PENDING
    assert new.number != licence.number
    outbox_drain()
    new.refresh_from_db()
    assert new.status == CertificateStatus.VALID
    old_page = Client().get(f"/verify/{licence.number}/").content.decode()
    assert "verify-revoked" in old_page
    assert new.number in old_page
    assert "登记信息有误" in old_page
    # a second reissue of the same one is refused
    again = admin.post(f"/verify/manage/{licence.number}/", {"action": "reissue", "reason": "再次"})
    assert again.status_code == 409
    assert Certificate.objects.filter(case=business_case, type="business_licence").count() == 2


def test_applicants_and_reviewers_may_not_manage_certificates(licence, users):
    for name in ("applicant", "market_regulation_reviewer"):
        client = login(users[name])
        assert client.get("/verify/manage/").status_code == 403
        response = client.post(f"/verify/manage/{licence.number}/", {"action": "revoke", "reason": "x"})
        assert response.status_code == 403
    licence.refresh_from_db()
    assert licence.status == CertificateStatus.VALID
