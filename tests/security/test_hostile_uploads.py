"""The hostile upload corpus (tests/data/hostile/): every file is refused
with a message naming it in Chinese and English, and nothing is stored or
audited; and files of the same kinds without the attack are accepted, so the
checks do not refuse ordinary documents."""

from __future__ import annotations

import importlib.util
import io
import os
import signal
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from ruamel.yaml import YAML

from govflow.audit.models import AuditEvent
from govflow.cases.attachments import attachment_add, served_name
from govflow.cases.models import Attachment
from govflow.cases.services import case_create
from govflow.errors import FormInvalid
from govflow.processes.services import process_publish
from govflow.security import uploads
from tests.security.pdfs import PDF_BYTES, one_page_pdf
from tests.web.conftest import PNG_BYTES

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent.parent / "data" / "hostile"
MANIFEST = YAML(typ="safe").load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
TEMPLATE = Path(__file__).parent / "data" / "uploads.yaml"
FILES = sorted(p.name for p in CORPUS.iterdir() if p.name not in {"generate.py", "manifest.yaml"})


def _generator():
    spec = importlib.util.spec_from_file_location("hostile_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def draft(base_data, applicant):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    return case_create(applicant=applicant, template_code="test_uploads", data={"company_name": "测试"})


def add(draft, applicant, slot, name, data, declared="application/octet-stream"):
    return attachment_add(
        case_id=draft.pk,
        actor=applicant,
        slot=slot,
        upload=SimpleUploadedFile(name, data, content_type=declared),
        language="en",
    )


def test_every_file_of_the_corpus_is_in_the_manifest():
    assert set(FILES) == set(MANIFEST), "tests/data/hostile/manifest.yaml must list exactly the corpus"


@pytest.mark.parametrize("name", FILES)
def test_a_hostile_file_is_refused_naming_it_and_nothing_is_kept(draft, applicant, settings, name):
    expected = MANIFEST[name]
    audited = AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count()
    with pytest.raises(FormInvalid) as caught:
        add(
            draft,
            applicant,
            expected["slot"],
            name,
            (CORPUS / name).read_bytes(),
            expected.get("declared", "application/octet-stream"),
        )
    (problem,) = caught.value.errors
    assert problem.path == expected["slot"]
    assert expected["refused"] in problem.message["en"], problem.message["en"]
    assert f"“{name}”" in problem.message["en"]
    assert f"“{name}”" in problem.message["zh"]
    assert not Attachment.objects.filter(case=draft).exists()
    assert AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count() == audited
    stored = Path(settings.MEDIA_ROOT)
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


def test_the_corpus_generator_still_makes_the_committed_files():
    """The committed bytes are what generate.py says they are (the pikepdf
    files are left out: qpdf writes a fresh /ID each time)."""
    made = _generator().FILES
    assert set(made) == set(FILES)
    for name, data in made.items():
        if "encrypted" in name or "object-stream" in name:
            continue
        assert (CORPUS / name).read_bytes() == data, name


# -- what is still accepted -----------------------------------------------------


def test_ordinary_files_are_accepted(draft, applicant):
    import pikepdf

    link = one_page_pdf(b"/OpenAction 4 0 R", b"<< /S /URI /URI (https://www.gov.cn/) >>")
    written = io.BytesIO()
    with pikepdf.open(io.BytesIO(PDF_BYTES)) as pdf:
        pdf.save(written, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    generator = _generator()
    clean_doc = generator.compound_file({"WordDocument": generator.WORD, "1Table": b"\0" * 16})
    add(draft, applicant, "scan", "链接.pdf", link, "application/pdf")
    add(draft, applicant, "scan", "对象流.PDF", written.getvalue(), "application/x-pdf")
    add(draft, applicant, "office", "说明.doc", clean_doc, "application/msword")
    assert Attachment.objects.filter(case=draft).count() == 3


def test_a_name_without_an_extension_gets_the_detected_types(draft, applicant):
    pdf = add(draft, applicant, "scan", "扫描件", PDF_BYTES, "")
    image = add(draft, applicant, "scan", "照片.2024", PNG_BYTES, "image/x-png")
    assert (pdf.original_name, image.original_name) == ("扫描件.pdf", "照片.2024.png")
    assert pdf.file.name.endswith(".pdf")


def test_a_stored_name_from_before_the_check_is_served_with_the_types_extension():
    assert served_name("scan.html", "application/pdf") == "scan.html.pdf"
    assert served_name("scan.JPEG", "image/jpeg") == "scan.JPEG"
    assert served_name("图纸.dwg", "image/vnd.dwg") == "图纸.dwg"


def test_an_inspection_that_runs_out_of_memory_refuses_the_file(draft, applicant, settings):
    settings.GOVFLOW_UPLOAD_CHECK_MEMORY_MB = 20  # not enough for Python to start
    with pytest.raises(FormInvalid) as caught:
        add(draft, applicant, "scan", "a.pdf", PDF_BYTES, "application/pdf")
    assert "could not be checked" in caught.value.fields["scan"][0]
    assert not Attachment.objects.exists()


def test_the_inspection_runs_in_a_child_process(draft, applicant, monkeypatch):
    """A parser crash costs the upload, not the web process, nor the
    inspection server: the next file is checked by the same server."""
    monkeypatch.setattr(uploads, "INSPECTOR", Path(__file__).parent / "data" / "crash.py")
    for _ in range(2):
        with pytest.raises(FormInvalid) as caught:
            add(draft, applicant, "scan", "a.pdf", PDF_BYTES, "application/pdf")
        assert "could not be checked" in caught.value.fields["scan"][0]
        server = uploads.inspection_server_pid()
        assert server is not None
        assert server != os.getpid()
    assert uploads.inspection_server_pid() == server


def test_an_inspection_that_outlasts_its_time_is_refused(draft, applicant, monkeypatch, settings):
    """A parser stuck without using CPU is stopped by the wall-clock limit
    (twice the CPU seconds and five)."""
    settings.GOVFLOW_UPLOAD_CHECK_SECONDS = 1
    monkeypatch.setattr(uploads, "INSPECTOR", Path(__file__).parent / "data" / "hang.py")
    started = time.monotonic()
    with pytest.raises(FormInvalid) as caught:
        add(draft, applicant, "scan", "a.pdf", PDF_BYTES, "application/pdf")
    assert "could not be checked" in caught.value.fields["scan"][0]
    assert time.monotonic() - started < 12
    assert not Attachment.objects.exists()


def test_a_dead_inspection_server_is_replaced(draft, applicant):
    add(draft, applicant, "scan", "one.pdf", PDF_BYTES, "application/pdf")
    first = uploads.inspection_server_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    add(draft, applicant, "scan", "two.pdf", PDF_BYTES, "application/pdf")
    assert uploads.inspection_server_pid() not in (None, first)
    assert Attachment.objects.filter(case=draft).count() == 2


def test_the_limits_are_set_in_each_files_own_process(draft, applicant, settings):
    """Memory and CPU limits are per file: a file checked after a refused one
    has its full allowance again, and the server keeps no limit of its own."""
    settings.GOVFLOW_UPLOAD_CHECK_MEMORY_MB = 20
    with pytest.raises(FormInvalid):
        add(draft, applicant, "scan", "a.pdf", PDF_BYTES, "application/pdf")
    settings.GOVFLOW_UPLOAD_CHECK_MEMORY_MB = 1024
    add(draft, applicant, "scan", "b.pdf", PDF_BYTES, "application/pdf")
    assert Attachment.objects.filter(case=draft).count() == 1
