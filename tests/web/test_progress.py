"""The citizen's progress view (govflow.web.progress): every step from the
submission, real dates for what is done, expected dates for what is to come."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import translation

from govflow.cases.models import Task
from govflow.cases.services import task_claim
from govflow.web.progress import case_progress
from tests.deciding import claim_and_complete

from .conftest import live_task, submitted

pytestmark = pytest.mark.django_db

PARALLEL = ("seal", "tax", "social_insurance", "medical_insurance", "housing_fund", "bank_account")


def _case(applicant, now, **overrides):
    with time_machine.travel(now, tick=False):
        return submitted(applicant, "business_setup", employees_count=3, bank="icbc", **overrides)


def test_right_after_submission_every_department_to_come_is_listed_with_expected_dates(applicant, now):
    # Given a business-setup case just submitted (Tuesday 2026-03-03, Beijing)
    case = _case(applicant, now)

    # When its progress is built
    progress = case_progress(case=case, language="zh", now=now)

    # Then the registration review is open and the six parallel departments are to come
    by_node = {s.node_id: s for s in progress.steps}
    assert progress.steps[0].kind == "submission"
    assert progress.steps[0].on == date(2026, 3, 3)
    assert by_node["registration"].state == "in_progress"
    assert len(by_node["registration"].departments) == 1
    for node_id in PARALLEL:
        step = by_node[node_id]
        assert step.state == "upcoming"
        assert step.expected
        assert step.on == date(2026, 3, 4)
        assert step.departments
    assert by_node["check_name"].state == "done"
    assert progress.steps[-1].kind == "end"
    assert progress.steps[-1].on == date(2026, 3, 4)
    assert len(progress.departments) == 7
    # and no raw condition or form value is anywhere in it
    text = repr(progress)
    assert "==" not in text
    assert "北京测试" not in text


def test_a_returned_task_reads_returned_not_done(applicant, market_reviewer, now):
    case = _case(applicant, now)
    task = live_task(case, "registration")
    later = now + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        task_claim(task_id=task.pk, actor=market_reviewer, now=later)
        claim_and_complete(
            task_id=task.pk, actor=market_reviewer, outcome="return", opinion="请补充章程", now=later
        )
    case.refresh_from_db()

    progress = case_progress(case=case, language="en", now=later)

    registration = [s for s in progress.steps if s.node_id == "registration"]
    assert [s.state for s in registration] == ["returned"]
    # Labels follow the language active where they are shown (the page's request).
    with translation.override("en"):
        assert registration[0].state_label == "returned for correction"
    with translation.override("zh-hans"):
        assert registration[0].state_label == "退回补正"
    correction = [s for s in progress.steps if s.kind == "correction"]
    assert correction
    assert correction[0].state == "with_applicant"
    assert "请补充章程" not in repr(progress)


def test_an_approved_case_shows_real_dates_and_its_result(applicant, market_reviewer, now, base_data):
    case = _case(applicant, now)
    later = now + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        task = live_task(case, "registration")
        claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve", opinion="", now=later)
        from govflow.outbox.services import outbox_drain

        outbox_drain()
        for t in Task.objects.filter(case=case, node_id__in=PARALLEL, status__in=["open", "claimed"]):
            reviewer = t.department.memberships.first().user
            claim_and_complete(task_id=t.pk, actor=reviewer, outcome="approve", opinion="", now=later)
    case.refresh_from_db()
    assert case.status == "approved"

    progress = case_progress(case=case, language="zh", now=later)

    assert all(not s.expected for s in progress.steps)
    assert progress.steps[-1].state == "approved"
    assert progress.steps[-1].on == date(2026, 3, 3)
