"""An applicant step (`applicant_task`) that asks for a document (issue 20:
"declare completion of works" with the completion report): the step cannot
complete until a file is in the slot, uploaded while the step is open,
through the service, the web and the API; the slot's type, size and count
limits apply; the reviewer sees the document on the case
(tests/data/workflows/valid/applicant_task_documents.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.cases.applicant_steps import (
    applicant_step_document_add,
    applicant_step_document_remove,
    applicant_steps_open,
    applicant_task_complete,
)
from govflow.cases.attachments import attachment_add
from govflow.cases.models import Case, CaseStatus, Task
from govflow.cases.services import case_create, case_submit
from govflow.demo_cases import DEMO_PDF
from govflow.errors import Conflict, FormInvalid, InvalidInput
from govflow.processes.services import process_publish
from tests.cases.conftest import decide

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "applicant_task_documents.yaml"
# Tuesday 3 March 2026, 10:00 in Beijing: drafted; the review decides an hour later.
DRAFTED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
DECIDED = DRAFTED + timedelta(hours=1)
LATER = DRAFTED + timedelta(hours=2)


def _pdf(name: str = "report") -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{name}.pdf", DEMO_PDF, content_type="application/pdf")


@pytest.fixture
def at_step(base_data, applicant, market_reviewer):
    """A case at its `declare` step; a completion report uploaded with the
    application (before the step opened) is there but does not count."""
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    with time_machine.travel(DRAFTED, tick=False):
        case = case_create(
            applicant=applicant,
            template_code="applicant_documents",
            data={"company_name": "北京竣工示例有限公司"},
            now=DRAFTED,
        )
        for slot in ("application", "completion_report"):
            attachment_add(case_id=case.pk, actor=applicant, slot=slot, upload=_pdf(slot), now=DRAFTED)
        case = case_submit(case_id=case.pk, actor=applicant, now=DRAFTED)
    with time_machine.travel(DECIDED, tick=False):
        decide(case, "review", market_reviewer, now=DECIDED)
    case.refresh_from_db()
    task = Task.objects.get(case=case, node_id="declare", status="open")
    return case, task.engine_id


def test_the_step_needs_its_document_uploaded_while_it_is_open(at_step, applicant):
    case, task_id = at_step
    [step] = applicant_steps_open(case=case)
    [document] = step.documents
    assert document.spec.id == "completion_report"
    assert document.files == ()  # the report of the application does not count

    with time_machine.travel(LATER, tick=False):
        # Without the report the step cannot complete, and says why, in the slot
        with pytest.raises(FormInvalid) as missing:
            applicant_task_complete(
                case_id=case.pk, actor=applicant, task_id=task_id, confirmed=True, now=LATER
            )
        assert [(e.path, e.code) for e in missing.value.errors] == [("completion_report", "required")]
        assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_REVIEW
        # A slot the step does not name, a wrong type, or a file too large is refused
        with pytest.raises(InvalidInput):
            applicant_step_document_add(
                case_id=case.pk, actor=applicant, task_id=task_id, slot="application", upload=_pdf()
            )
        text = SimpleUploadedFile("report.pdf", b"just text, no PDF", content_type="application/pdf")
        with pytest.raises(FormInvalid) as wrong:
            applicant_step_document_add(
                case_id=case.pk, actor=applicant, task_id=task_id, slot="completion_report", upload=text
            )
        assert wrong.value.errors[0].code == "type"
        big = SimpleUploadedFile("big.pdf", DEMO_PDF + b"0" * (1024 * 1024), content_type="application/pdf")
        with pytest.raises(FormInvalid) as large:
            applicant_step_document_add(
                case_id=case.pk, actor=applicant, task_id=task_id, slot="completion_report", upload=big
            )
        assert large.value.errors[0].code == "too_large"
        # A wrong file uploaded, removed, and the right one uploaded
        wrong_file = applicant_step_document_add(
            case_id=case.pk, actor=applicant, task_id=task_id, slot="completion_report", upload=_pdf("old")
        )
        applicant_step_document_remove(
            case_id=case.pk, actor=applicant, task_id=task_id, attachment_id=wrong_file.pk
        )
        report = applicant_step_document_add(
            case_id=case.pk, actor=applicant, task_id=task_id, slot="completion_report", upload=_pdf()
        )
        [step] = applicant_steps_open(case=Case.objects.get(pk=case.pk))
        assert [f.pk for f in step.documents[0].files] == [report.pk]
        # The application's own report cannot be removed through the step
        original = case.attachments.filter(slot="completion_report").order_by("pk").first()
        with pytest.raises(Conflict):
            applicant_step_document_remove(
                case_id=case.pk, actor=applicant, task_id=task_id, attachment_id=original.pk
            )
        # The confirmation is still needed
        with pytest.raises(FormInvalid) as unconfirmed:
            applicant_task_complete(case_id=case.pk, actor=applicant, task_id=task_id, now=LATER)
        assert [e.path for e in unconfirmed.value.errors] == ["confirmed"]

        applicant_task_complete(case_id=case.pk, actor=applicant, task_id=task_id, confirmed=True, now=LATER)

    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    done = AuditEvent.objects.get(case_id=case.pk, action="APPLICANT_TASK_COMPLETED")
    assert done.data["documents"] == {"completion_report": [report.sha256]}
    # Once the step is done, no more files go into it
    with pytest.raises(Conflict):
        applicant_step_document_add(
            case_id=case.pk, actor=applicant, task_id=task_id, slot="completion_report", upload=_pdf()
        )


def test_on_the_web_the_step_takes_the_file_and_the_reviewer_sees_it(at_step, applicant, market_reviewer):
    case, task_id = at_step
    owner = Client()
    owner.force_login(applicant)
    page = owner.get(f"/cases/{case.reference}/").content.decode()
    assert 'name="document-completion_report"' in page
    assert 'enctype="multipart/form-data"' in page
    url = f"/cases/{case.reference}/steps/{task_id}/"

    with time_machine.travel(LATER, tick=False):
        # Confirmed without the report: refused on the page, in the slot
        refused = owner.post(url, {"confirmed": "1"})
        assert refused.status_code == 400
        assert "请上传此项材料后再完成此步骤" in refused.content.decode()
        # With it: done
        done = owner.post(url, {"confirmed": "1", "document-completion_report": _pdf("竣工报告")})
        assert done.status_code == 302, done.content.decode()[:2000]

    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    reviewer = Client()
    reviewer.force_login(market_reviewer)
    shown = reviewer.get(f"/cases/{case.reference}/").content.decode()
    assert "竣工报告.pdf" in shown


def test_over_the_api_the_step_lists_uploads_and_completes_with_its_document(
    at_step, applicant, market_reviewer
):
    from tests.api.conftest import api_client

    case, task_id = at_step
    owner = api_client(applicant, language="en")
    url = f"/api/v1/cases/{case.reference}/steps/"
    [step] = owner.get(url).json()["steps"]
    [document] = step["documents"]
    assert document["slot"] == "completion_report"
    assert document["types"] == ["application/pdf"]
    assert (document["max_size_mb"], document["max_count"]) == (1, 2)
    assert document["files"] == []

    with time_machine.travel(LATER, tick=False):
        missing = owner.post(url, {"task": task_id, "confirmed": True}, format="json")
        assert missing.status_code == 400
        assert missing.json()["error"]["code"] == "form_invalid"
        assert "completion_report" in missing.json()["error"]["fields"]
        upload_url = f"{url}{task_id}/documents/completion_report/"
        # a reviewer cannot upload for the applicant; a slot the step does not name is refused
        assert api_client(market_reviewer).post(
            upload_url, {"file": _pdf()}, format="multipart"
        ).status_code in (
            403,
            404,
        )
        other = owner.post(f"{url}{task_id}/documents/application/", {"file": _pdf()}, format="multipart")
        assert other.status_code == 400
        uploaded = owner.post(upload_url, {"file": _pdf("first")}, format="multipart")
        assert uploaded.status_code == 200, uploaded.json()
        [file] = uploaded.json()["steps"][0]["documents"][0]["files"]
        assert file["name"] == "first.pdf"
        # the slot holds at most 2 files, the application's report included
        full = owner.post(upload_url, {"file": _pdf("second")}, format="multipart")
        assert full.status_code == 400
        assert "completion_report" in full.json()["error"]["fields"]
        done = owner.post(url, {"task": task_id, "confirmed": True}, format="json")
        assert done.status_code == 200, done.json()

    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    listed = api_client(market_reviewer).get(f"/api/v1/cases/{case.reference}/attachments/").json()
    names = [row.get("name") or row.get("original_name") for row in (listed.get("results", listed))]
    assert "first.pdf" in names
