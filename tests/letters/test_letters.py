"""Written letters (书面告知): a real PDF in the official layout, sealed
and signed, stored with its SHA-256, listed on the case page and over the
API, downloadable by whoever sees the case and nobody else, and announced
to the applicant in the app."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.certificates.signing import signature_check
from govflow.errors import InvalidInput
from govflow.letters.models import Letter
from govflow.letters.services import letter_issue
from govflow.notifications.models import Notification

from .conftest import letter_path, pdf_text

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

PARAGRAPHS = [
    "你（单位）申请的设立登记事项，因情况复杂，不能在法定期限内作出决定。",
    "经本机关负责人批准，审查期限延长十个工作日，至2026年03月31日。",
]
BASIS = "《中华人民共和国行政许可法》第四十二条"


def issue(case, now, **kwargs):
    options = {
        "case": case,
        "kind": "extension",
        "title": "延长审批期限告知书",
        "paragraphs": PARAGRAPHS,
        "legal_basis": BASIS,
        "department": "market_regulation",
        "now": now,
    }
    options.update(kwargs)
    return letter_issue(**options)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_letter_is_rendered_sealed_signed_stored_and_announced(keys, submitted_case, now, tmp_path):
    letter = issue(submitted_case, now)

    assert letter.number == "MR-YQ-2026-000001"
    assert letter.issuer_name == "北京市朝阳区市场监督管理局"
    assert letter.addressee == "北京远航物流有限公司"
    data = letter_path(letter).read_bytes()
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == letter.sha256
    assert letter.size == len(data)
    text = pdf_text(data, tmp_path)
    for expected in (
        "北京市朝阳区市场监督管理局",
        "延长审批期限告知书",
        "MR-YQ-2026-000001",
        "北京远航物流有限公司：",
        "".join(PARAGRAPHS[1].split()),
        "法律依据：《中华人民共和国行政许可法》第四十二条",
        "2026年03月03日",
        submitted_case.reference,
    ):
        assert expected in text, expected
    check = signature_check(data)
    assert check.ok, check.reason
    assert check.fingerprint == letter.signer_fingerprint
    notice = Notification.objects.get(user=submitted_case.applicant, kind="letter_issued")
    assert notice.case_id == submitted_case.pk
    event = AuditEvent.objects.get(action="LETTER_ISSUED", object_id=letter.number)
    assert event.case_id == submitted_case.pk
    assert event.data["kind"] == "extension"
    assert event.data["sha256"] == letter.sha256


def test_numbers_follow_department_kind_and_year_and_a_key_issues_once(keys, submitted_case, now):
    first = issue(submitted_case, now, key="k1")
    again = issue(submitted_case, now, key="k1")
    other_kind = issue(submitted_case, now, kind="excluded_time", title="特别程序期间告知书")
    second = issue(submitted_case, now)

    assert again.pk == first.pk
    assert Letter.objects.filter(case=submitted_case).count() == 3
    assert other_kind.number == "MR-TC-2026-000001"
    assert second.number == "MR-YQ-2026-000002"


def test_without_a_signing_key_the_letter_still_goes_out_sealed_but_unsigned(
    settings, submitted_case, now, tmp_path
):
    settings.GOVFLOW_KEYS_DIR = tmp_path / "no-keys"

    letter = issue(submitted_case, now)

    assert not letter.is_signed
    assert "延长审批期限告知书" in pdf_text(letter_path(letter).read_bytes(), tmp_path)
    assert Notification.objects.filter(user=submitted_case.applicant, kind="letter_issued").exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "nonsense"}, "unknown_letter_kind"),
        ({"paragraphs": ["  ", ""]}, "letter_invalid"),
        ({"title": "长" * 201}, "letter_invalid"),
        ({"department": "no_such_department"}, "letter_invalid"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(keys, submitted_case, now, change, code):
    with pytest.raises(InvalidInput) as refused:
        issue(submitted_case, now, **change)

    assert refused.value.code == code
    assert not Letter.objects.exists()


def test_the_text_is_text_never_markup(keys, submitted_case, now, tmp_path):
    letter = issue(submitted_case, now, paragraphs=["<b>加粗</b> & <script>x</script>"])

    assert "<b>加粗</b>&<script>x</script>" in pdf_text(letter_path(letter).read_bytes(), tmp_path)


def test_whoever_sees_the_case_lists_and_downloads_its_letters_nobody_else(
    keys, submitted_case, now, base_data, other_applicant
):
    letter = issue(submitted_case, now)
    applicant, reviewer = submitted_case.applicant, base_data["market_regulation_reviewer"]
    stranger_reviewer = base_data["fire_reviewer"]

    for user in (applicant, reviewer):
        client = login(user)
        page = client.get(f"/cases/{submitted_case.reference}/")
        assert page.status_code == 200
        assert f"/letters/{letter.number}/download/" in page.content.decode()
        download = client.get(f"/letters/{letter.number}/download/")
        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == letter.sha256
        listed = client.get(f"/api/v1/cases/{submitted_case.reference}/letters/")
        assert listed.status_code == 200
        [row] = listed.json()
        assert row["number"] == letter.number
        assert row["kind"] == "extension"
        assert row["body"] == PARAGRAPHS
        assert row["legal_basis"] == BASIS
        assert row["signed"] is True
        api_pdf = client.get(row["download"])
        assert api_pdf.status_code == 200

    for user in (other_applicant, stranger_reviewer):
        client = login(user)
        assert client.get(f"/letters/{letter.number}/download/").status_code == 404
        assert client.get(f"/api/v1/letters/{letter.number}/content/").status_code == 404
        assert client.get(f"/api/v1/cases/{submitted_case.reference}/letters/").status_code == 404
    assert Client().get(f"/letters/{letter.number}/download/").status_code == 302
    assert login(applicant).get("/letters/MR-YQ-1999-000001/download/").status_code == 404


def test_an_altered_stored_letter_is_not_served(keys, submitted_case, now):
    letter = issue(submitted_case, now)
    path = letter_path(letter)
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOX"))

    response = login(submitted_case.applicant).get(f"/letters/{letter.number}/download/")

    assert response.status_code == 500
    assert AuditEvent.objects.filter(action="FILE_INTEGRITY_FAILED", object_id=letter.number).exists()
