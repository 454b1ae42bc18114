"""The attachment service: type sniffing, limits, safe names, hashes, audit,
and the required-documents check before submission."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.attachments import (
    attachment_add,
    attachment_remove,
    case_submit_with_attachments,
    safe_name,
)
from govflow.cases.models import Attachment, CaseStatus
from govflow.cases.services import case_create
from govflow.errors import Conflict, FormInvalid, NotFound

from .conftest import PDF_BYTES, PNG_BYTES, example, pdf, png, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(applicant):
    return case_create(applicant=applicant, template_code="business_setup", data=example("business_setup"))


def test_a_pdf_is_stored_with_its_hash_type_and_a_random_name(applicant, draft):
    attachment = attachment_add(
        case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf("公司章程.pdf")
    )
    assert attachment.content_type == "application/pdf"
    assert attachment.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert attachment.original_name == "公司章程.pdf"
    assert "公司章程" not in attachment.file.name
    assert attachment.file.name.endswith(".pdf")
    assert attachment.file.read() == PDF_BYTES
    event = AuditEvent.objects.get(action="ATTACHMENT_ADDED", object_id=str(attachment.pk))
    assert event.data["sha256"] == attachment.sha256


def test_the_type_is_sniffed_from_the_bytes_not_the_name(applicant, draft):
    disguised = SimpleUploadedFile("章程.pdf", PNG_BYTES, content_type="application/pdf")
    with pytest.raises(FormInvalid) as caught:
        attachment_add(
            case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=disguised, language="en"
        )
    assert "actually PNG" in caught.value.fields["articles_of_association"][0]
    assert not Attachment.objects.exists()
    # where images are allowed, the same PNG is still refused under a PDF's name
    with pytest.raises(FormInvalid) as caught:
        attachment_add(
            case_id=draft.pk, actor=applicant, slot="id_copies", upload=png("scan.pdf"), language="en"
        )
    assert "named .pdf but is actually PNG" in caught.value.fields["id_copies"][0]
    assert not Attachment.objects.exists()
    # and accepted under its own
    attachment_add(case_id=draft.pk, actor=applicant, slot="id_copies", upload=png("scan.png"))


def test_size_and_count_limits(applicant, draft):
    empty = SimpleUploadedFile("空.pdf", b"", content_type="application/pdf")
    with pytest.raises(FormInvalid) as caught:
        attachment_add(case_id=draft.pk, actor=applicant, slot="address_proof", upload=empty)
    assert "空" in caught.value.fields["address_proof"][0]
    big = SimpleUploadedFile("大.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    with pytest.raises(FormInvalid) as caught:
        attachment_add(case_id=draft.pk, actor=applicant, slot="address_proof", upload=big)
    assert "10 MB" in caught.value.fields["address_proof"][0]
    attachment_add(case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf())
    with pytest.raises(FormInvalid) as caught:
        attachment_add(case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf())
    assert "最多上传 1 个" in caught.value.fields["articles_of_association"][0]


def test_only_the_owner_of_an_editable_case_may_change_its_files(
    base_data, applicant, other_applicant, draft
):
    with pytest.raises(NotFound):
        attachment_add(case_id=draft.pk, actor=other_applicant, slot="address_proof", upload=pdf())
    with pytest.raises(NotFound):
        attachment_add(case_id=draft.pk, actor=applicant, slot="no_such_slot", upload=pdf())
    running = submitted(applicant, "business_setup", company_name="北京已提交测试有限公司")
    with pytest.raises(Conflict):
        attachment_add(case_id=running.pk, actor=applicant, slot="address_proof", upload=pdf())
    attachment = attachment_add(case_id=draft.pk, actor=applicant, slot="address_proof", upload=pdf())
    with pytest.raises(NotFound):
        attachment_remove(case_id=draft.pk, actor=other_applicant, attachment_id=attachment.pk)
    attachment_remove(case_id=draft.pk, actor=applicant, attachment_id=attachment.pk)
    assert not Attachment.objects.filter(pk=attachment.pk).exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\章程.pdf", "章程.pdf"),
        ("a\u202egnp.exe", "a_gnp.exe"),
        ('x"; filename=evil.sh', "x__ filename=evil.sh"),
        ("   ", "file"),
        ("名" * 300 + ".pdf", "名" * 116 + ".pdf"),
    ],
)
def test_safe_names(given, expected):
    assert safe_name(given) == expected


def test_submission_needs_every_required_document_and_reports_them_with_form_errors(applicant, draft):
    draft.data["legal_rep_id_number"] = "bad"
    draft.save(update_fields=["data"])
    with pytest.raises(FormInvalid) as caught:
        case_submit_with_attachments(case_id=draft.pk, actor=applicant)
    assert set(caught.value.fields) == {
        "legal_rep_id_number",
        "articles_of_association",
        "address_proof",
        "id_copies",
    }
    draft.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT
