"""Verification by number and by file: valid, revoked, altered (a flipped
byte, an appended incremental update, a swapped page), not issued here; and
the verify_certificate command's answers and exit codes."""

from __future__ import annotations

from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from govflow.certificates.models import Certificate
from govflow.certificates.services import (
    certificate_revoke,
    certificate_verify_number,
    certificate_verify_pdf,
)
from govflow.certificates.signing import signature_check

from .conftest import certificate_path

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


@pytest.fixture
def pdf(licence) -> bytes:
    return certificate_path(licence).read_bytes()


def flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def append_update(data: bytes) -> bytes:
    """An incremental update after the signature: the document's title changed."""
    writer = IncrementalPdfFileWriter(BytesIO(data))
    writer.document_meta.title = "营业执照（已修改）"
    writer.root["/PageMode"] = generic.NameObject("/UseNone")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def swap_page(data: bytes, other: bytes) -> bytes:
    """The file rewritten with another certificate's page in place of its own."""
    writer = copy_into_new_writer(PdfFileReader(BytesIO(data)))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    source = PdfFileReader(BytesIO(other)).root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.import_object(source.raw_get("/Contents"))
    page["/Resources"] = writer.import_object(source.raw_get("/Resources"))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_issued_file_is_valid_and_its_signature_validates(licence, pdf):
    check = signature_check(pdf)
    assert check.ok, check.reason
    assert check.fingerprint == licence.signer_fingerprint
    result = certificate_verify_pdf(pdf)
    assert result.status == "valid"
    assert result.exit_code == 0
    assert result.number == licence.number
    assert result.holder == "北京远航物流有限公司"
    assert result.department == "北京市朝阳区市场监督管理局"


@pytest.mark.parametrize("where", [0.2, 0.5, 0.9])
def test_one_flipped_byte_is_altered(licence, pdf, where):
    result = certificate_verify_pdf(flip_byte(pdf, int(len(pdf) * where)))
    assert result.status == "altered", result
    assert result.number == licence.number
    assert result.exit_code == 1


def test_an_appended_incremental_update_is_altered(licence, pdf):
    changed = append_update(pdf)
    assert changed.startswith(pdf)  # the signed bytes are all still there
    assert not signature_check(changed).ok  # the signature no longer covers the whole file
    result = certificate_verify_pdf(changed)
    assert result.status == "altered"
    assert result.number == licence.number


def test_a_swapped_page_is_altered(business_case, licence, pdf):
    other = certificate_path(Certificate.objects.get(case=business_case, type="seal_filing")).read_bytes()
    swapped = swap_page(pdf, other)
    assert not signature_check(swapped).ok
    result = certificate_verify_pdf(swapped)
    assert result.status == "altered"
    assert result.number == licence.number


def test_the_signature_is_checked_even_when_the_hash_matches(licence, pdf):
    # Someone with database access points a forged file's hash at a real number:
    forged = append_update(pdf)
    Certificate.objects.filter(pk=licence.pk).update(sha256=__import__("hashlib").sha256(forged).hexdigest())
    result = certificate_verify_pdf(forged)
    assert result.status == "altered"
    assert "signature" in result.message


def test_files_that_are_not_our_certificates(keys):
    assert certificate_verify_pdf(b"").status == "not_issued"
    assert certificate_verify_pdf(b"hello, not a pdf").status == "not_issued"
    from govflow.demo_cases import DEMO_PDF

    assert certificate_verify_pdf(DEMO_PDF).status == "not_issued"


def test_a_revoked_certificate_answers_revoked(licence, pdf, process_admin):
    certificate_revoke(number=licence.number, actor=process_admin, reason="企业申请注销登记")
    by_file = certificate_verify_pdf(pdf)
    by_number = certificate_verify_number(licence.number)
    for result in (by_file, by_number):
        assert result.status == "revoked"
        assert result.exit_code == 2
        assert result.revoked_reason == "企业申请注销登记"
        assert result.revoked_at is not None


def test_verifying_by_number(licence):
    assert certificate_verify_number(licence.number).status == "valid"
    assert certificate_verify_number(" " + licence.number.lower() + " ").status == "valid"
    assert certificate_verify_number("MR-1999-000001").status == "not_issued"
    assert certificate_verify_number("<script>").status == "not_issued"
    public = certificate_verify_number(licence.number).as_dict()
    assert "case" not in public
    assert "legal_rep_id_number" not in str(public)


def run_verify(path) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_certificate", str(path), stdout=out, stderr=err, language="en")
    return exit_info.value.code, out.getvalue(), err.getvalue()


def test_the_verify_command_prints_and_exits_0_2_1(licence, pdf, tmp_path, process_admin):
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(flip_byte(pdf, len(pdf) // 2))
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"\x00\x01 not a pdf at all")

    code, out, _ = run_verify(good)
    assert (code, out.split(":")[0]) == (0, "valid")
    code, out, _ = run_verify(bad)
    assert (code, out.split(":")[0]) == (1, "altered")
    code, out, err = run_verify(junk)
    assert (code, out.split(":")[0]) == (1, "altered")
    assert "Traceback" not in out + err
    code, out, err = run_verify(tmp_path / "missing.pdf")
    assert code == 1
    assert "cannot be read" in err

    certificate_revoke(number=licence.number, actor=process_admin, reason="吊销")
    code, out, _ = run_verify(good)
    assert (code, out.split(":")[0]) == (2, "revoked")
