"""Bad uploads are refused with a clear message and nothing stored: wrong
magic bytes, plain archives, polyglots, active content, oversize and too
many files, and in ZIP-based office files: bombs, path traversal, links,
nested and encrypted archives; and pixel bombs."""

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.attachments import attachment_add
from govflow.cases.models import Attachment
from govflow.cases.services import case_create
from govflow.errors import FormInvalid
from govflow.processes.services import process_publish
from tests.security.pdfs import PDF_BYTES, one_page_pdf
from tests.web.conftest import PNG_BYTES

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).parent / "data" / "uploads.yaml"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def draft(base_data, applicant):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    return case_create(applicant=applicant, template_code="test_uploads", data={"company_name": "测试"})


def upload(draft, applicant, slot, name, data):
    return attachment_add(
        case_id=draft.pk,
        actor=applicant,
        slot=slot,
        upload=SimpleUploadedFile(name, data, content_type="application/octet-stream"),
        language="en",
    )


def refused(draft, applicant, slot, name, data) -> str:
    before = AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count()
    with pytest.raises(FormInvalid) as caught:
        upload(draft, applicant, slot, name, data)
    assert not Attachment.objects.filter(case=draft).exists()
    assert AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count() == before
    return caught.value.fields[slot][0]


DOCX_HEAD = [
    (
        "[Content_Types].xml",
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"></Types>',
    ),
    ("_rels/.rels", b"<Relationships/>"),
    ("word/document.xml", b"<w:document/>"),
]


def zip_bytes(entries, *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def docx(*extra, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A file libmagic takes for Word, with `extra` entries after the parts
    that make it one."""
    return zip_bytes([*DOCX_HEAD, *extra], compression=compression)


def test_a_word_file_is_accepted(draft, applicant):
    attachment = upload(draft, applicant, "bundle", "说明.docx", docx(("word/media/a.png", PNG_BYTES)))
    assert attachment.content_type.endswith("wordprocessingml.document")


def test_a_plain_archive_is_refused(draft, applicant):
    message = refused(draft, applicant, "bundle", "说明.docx", zip_bytes([("a.pdf", PDF_BYTES)]))
    assert "actually ZIP" in message


def test_a_zip_bomb_is_refused(draft, applicant):
    bomb = docx(("word/big.xml", b"\0" * (40 * 1024 * 1024)))
    assert len(bomb) < 100_000
    assert "archive bomb" in refused(draft, applicant, "bundle", "bomb.docx", bomb)


def test_a_zip_that_lies_about_its_sizes_is_still_caught(draft, applicant):
    bomb = bytearray(docx(("word/big.xml", b"\0" * (20 * 1024 * 1024))))
    # Claim a tiny uncompressed size in both headers: only really unpacking tells.
    size = struct.pack("<I", 100)
    local = bomb.rindex(b"PK\x03\x04")
    bomb[local + 22 : local + 26] = size
    central = bomb.rindex(b"PK\x01\x02")
    bomb[central + 24 : central + 28] = size
    message = refused(draft, applicant, "bundle", "liar.docx", bytes(bomb))
    assert "archive bomb" in message or "cannot be read" in message


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "a/../../x.txt", "C:/windows/x.txt", "..\\x.txt"]
)
def test_paths_out_of_the_archive_are_refused(draft, applicant, name):
    assert "outside the archive" in refused(draft, applicant, "bundle", "t.docx", docx((name, b"x")))


def test_links_nested_and_encrypted_archives_are_refused(draft, applicant):
    link = zipfile.ZipInfo("link")
    link.external_attr = 0o120777 << 16
    assert "a link" in refused(draft, applicant, "bundle", "l.docx", docx((link, b"/etc/passwd")))
    nested = docx(("word/inner.zip", zip_bytes([("a.txt", b"x")])))
    assert "another archive" in refused(draft, applicant, "bundle", "n.docx", nested)
    encrypted = bytearray(docx(("word/secret.xml", b"secret")))
    for marker, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = encrypted.rindex(marker) + offset  # the last entry's headers
        encrypted[at] |= 0x1
    assert "encrypted" in refused(draft, applicant, "bundle", "e.docx", bytes(encrypted))


def test_too_many_entries_are_refused(draft, applicant, settings):
    settings.GOVFLOW_ARCHIVE_MAX_ENTRIES = 10
    many = docx(*[(f"word/f{n}.xml", b"x") for n in range(8)])
    assert "the limit is 10" in refused(draft, applicant, "bundle", "many.docx", many)


def test_wrong_magic_bytes_are_refused(draft, applicant):
    message = refused(draft, applicant, "scan", "scan.pdf", b"MZ\x90\x00" + b"\0" * 200)
    assert "accepts only" in message


def test_a_pdf_with_an_archive_appended_is_a_polyglot(draft, applicant):
    polyglot = PDF_BYTES + zip_bytes([("payload.html", b"<script>alert(1)</script>")])
    assert "archive hidden inside" in refused(draft, applicant, "scan", "p.pdf", polyglot)


def test_markup_in_an_image_is_refused(draft, applicant):
    html_png = PNG_BYTES[:33] + b"<script>alert(1)</script>" + PNG_BYTES[33:]
    assert "web page code" in refused(draft, applicant, "scan", "x.png", html_png)


def test_a_pdf_with_javascript_is_refused(draft, applicant):
    active = one_page_pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
    assert "scripts" in refused(draft, applicant, "scan", "js.pdf", active)


def test_an_image_of_absurd_dimensions_is_refused(draft, applicant):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    bomb = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    assert "too large" in refused(draft, applicant, "scan", "huge.png", bomb)


def test_size_and_count_limits(draft, applicant):
    big = PDF_BYTES + b"%" + b"0" * (1024 * 1024)
    assert "the limit is 1 MB" in refused(draft, applicant, "scan", "big.pdf", big)
    upload(draft, applicant, "scan", "1.pdf", PDF_BYTES)
    upload(draft, applicant, "scan", "2.png", PNG_BYTES)
    with pytest.raises(FormInvalid) as caught:
        upload(draft, applicant, "scan", "3.pdf", PDF_BYTES)
    assert "At most 2" in caught.value.fields["scan"][0]
