"""容缺受理: the make-up period of a deferred material runs from the
acceptance (受理, `Case.accepted_at`), when the commitment takes effect, not
from the submission, and never beyond the statutory limit
(tests/data/services/commitments_acceptance.yaml: time_limit 5 working days,
statutory_limit 8; site photos within 3, the fire plan with no deadline of
its own). The clock is pinned across the Qingming holiday (4-6 April 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.attachments import attachment_add
from govflow.cases.models import CaseStatus, Task, TaskStatus
from govflow.cases.services import case_create
from govflow.commitments.models import Commitment, DeferredMaterial, MaterialStatus
from govflow.commitments.services import case_submit_with_commitment, material_supply, materials_fire_due
from govflow.demo_cases import DEMO_PDF
from govflow.processes.services import process_publish
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

SOURCE = Path(__file__).resolve().parents[1] / "data" / "services" / "commitments_acceptance.yaml"
BEIJING = ZoneInfo("Asia/Shanghai")
# Wednesday 1 April 2026 10:00 in Beijing; accepted the next day at 10:00.
SUBMITTED = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
ACCEPTED = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def template(base_data):
    return process_publish(source=SOURCE.read_text(encoding="utf-8"))


def _submitted(applicant):
    case = case_create(
        applicant=applicant,
        template_code="test_commitments_acceptance",
        data={"company_name": "北京容缺期限测试有限公司"},
        now=SUBMITTED,
    )
    pdf = SimpleUploadedFile("application.pdf", DEMO_PDF, content_type="application/pdf")
    attachment_add(case_id=case.pk, actor=applicant, slot="application", upload=pdf, now=SUBMITTED)
    return case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=SUBMITTED)


def _due(case, slot):
    return DeferredMaterial.objects.get(case=case, slot=slot)


def test_the_make_up_period_runs_from_acceptance_across_the_holiday(
    template, keys, applicant, market_reviewer
):
    with time_machine.travel(SUBMITTED, tick=False):
        # Given a case submitted on Wednesday 1 April with both materials missing (容缺)
        case = _submitted(applicant)
        assert case.status == CaseStatus.SUBMITTED
        assert case.accepted_at is None
        # Then the signed commitment gives the period from acceptance, not a date yet
        letter = Commitment.objects.get(case=case).document
        assert any("现场照片" in p and "自受理之日起 3 个工作日内" in p for p in letter.paragraphs)
        assert any("消防预案" in p and "自受理之日起 8 个工作日内" in p for p in letter.paragraphs)

    # and before acceptance the sweep acts on nothing, even past a period counted from submission
    assert materials_fire_due(now=datetime(2026, 4, 9, 9, 0, tzinfo=UTC)) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED

    # When the accepting department accepts on Thursday 2 April 10:00
    with time_machine.travel(ACCEPTED, tick=False):
        accept = Task.objects.get(case=case, node_id="accept", status=TaskStatus.OPEN)
        claim_and_complete(task_id=accept.pk, actor=market_reviewer, outcome="accept", now=ACCEPTED)
    case.refresh_from_db()
    assert case.accepted_at == ACCEPTED

    # Then the photos are due at office close on the 3rd working day after acceptance:
    # 3, 7 and 8 April (4-6 April are the Qingming holiday), not 7 April (from submission)
    photos = _due(case, "site_photos")
    assert photos.due_at == datetime(2026, 4, 8, 17, 0, tzinfo=BEIJING)
    assert not photos.due_provisional
    assert ACCEPTED < photos.remind_at < photos.due_at
    # and the fire plan, with no deadline of its own, by the statutory limit (8 working
    # days: 15 April), not the shorter promise (time_limit, 5: 10 April)
    assert _due(case, "fire_plan").due_at == datetime(2026, 4, 15, 17, 0, tzinfo=BEIJING)
    set_events = AuditEvent.objects.filter(case_id=case.pk, action="MATERIAL_DUE_SET")
    assert sorted(e.data["slot"] for e in set_events) == ["fire_plan", "site_photos"]

    # When the sweep runs at the deadline counted from submission, nothing ends
    assert materials_fire_due(now=datetime(2026, 4, 7, 9, 0, tzinfo=UTC)) == 0
    assert materials_fire_due(now=photos.due_at - timedelta(minutes=1)) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    # and at the deadline counted from acceptance the case is terminated
    assert materials_fire_due(now=photos.due_at) == 1
    case.refresh_from_db()
    photos.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert photos.status == MaterialStatus.LAPSED
    reason = AuditEvent.objects.get(case_id=case.pk, action="CASE_TERMINATED").data["reason"]
    assert "2026-04-08 17:00" in reason


def test_before_acceptance_a_material_can_follow_and_shows_no_date(template, keys, applicant):
    from django.test import Client

    with time_machine.travel(SUBMITTED, tick=False):
        case = _submitted(applicant)
    owner = Client()
    owner.force_login(applicant)
    page = owner.get(f"/cases/{case.reference}/").content.decode()
    assert "自受理之日起计算" in page
    # Past the placeholder counted from submission (7 April), still not accepted
    late = datetime(2026, 4, 8, 2, 0, tzinfo=UTC)
    with time_machine.travel(late, tick=False):
        pdf = SimpleUploadedFile("photos.pdf", DEMO_PDF, content_type="application/pdf")
        material = material_supply(case_id=case.pk, actor=applicant, slot="site_photos", upload=pdf, now=late)
    assert material.status == MaterialStatus.SUPPLIED
