"""The dry run's days are the live system's: a scripted run is replayed
through the services at the instants the simulation gives each decision
(issue 19), and every decision falls within the time limit the live system
set for its task, the case ends when the dry run says and as it says."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.services import case_create, case_submit
from govflow.engine import load_definition
from govflow.engine.simulate import real_instant, script_from_mapping, simulate
from govflow.processes.services import process_publish
from govflow.timers.services import calendar_get
from tests.deciding import claim_and_add_signer, claim_and_complete

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

TEMPLATE = """
id: test_dry_and_live
title: {zh: 测试时限一致, en: Test dry and live}
time_limit: {days: 20}
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: intake}
  - id: intake
    type: user_task
    title: {zh: 受理审查, en: Intake}
    department: market_regulation
    sla: {days: 2, on_breach: reject, legal_basis: 测试规定第1条}
    outcomes: {approve: review, reject: rejected}
  - id: review
    type: user_task
    title: {zh: 审查, en: Review}
    department: fire
    sla: {days: 5}
    outcomes: {approve: approved, reject: rejected}
  - {id: approved, type: end, title: {zh: 准予许可, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予许可, en: Rejected}, outcome: rejected}
"""
# A Monday in a year the shipped calendar holds; accepted at office open.
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def dry_and_live(base_data, applicant):
    process_publish(source=TEMPLATE)
    calendar = calendar_get("cn")

    def run(decisions):
        dry = simulate(
            load_definition(TEMPLATE),
            script_from_mapping({"data": {"company_name": "甲"}, "decisions": decisions}),
            start=START,
            calendar=calendar,
        )
        case = case_create(
            applicant=applicant, template_code="test_dry_and_live", data={"company_name": "乙"}
        )
        case_submit(case_id=case.pk, actor=applicant, now=START)
        return dry, case, lambda day: real_instant(calendar, START, day)

    return run


def live(case, node, department=None):
    tasks = Task.objects.filter(case=case, node_id=node, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    if department is not None:
        tasks = tasks.filter(department__code=department)
    return tasks.get()


def days_of(dry, node):
    return [(d["outcome"], d["day"]) for d in dry.decisions if d["node"] == node]


def decide_in_time(task, user, at, outcome="approve"):
    """Decide `task` at `at`, which the live system's time limit for it allows."""
    assert at <= task.due_at, f"{task.node_id} decided at {at}, after its time limit {task.due_at}"
    return claim_and_complete(task_id=task.pk, actor=user, outcome=outcome, opinion="同意", now=at)


def test_a_signer_added_before_the_reviewer_costs_no_time_beyond_the_reviewers_limit(dry_and_live, base_data):
    dry, case, at = dry_and_live({"review": ["add_signer:tax:before", "approve", "approve"]})
    assert days_of(dry, "review") == [("add_signer:tax:before", 2.0), ("approve", 7.0), ("approve", 7.0)]
    decide_in_time(live(case, "intake"), base_data["market_regulation_reviewer"], at(2.0))
    review = live(case, "review")
    claim_and_add_signer(
        task_id=review.pk, actor=base_data["fire_reviewer"], department="tax", position="before", now=at(2.0)
    )
    decide_in_time(live(case, "review", "tax"), base_data["tax_reviewer"], at(7.0))  # the added signer
    decide_in_time(live(case, "review", "fire"), base_data["fire_reviewer"], at(7.0))  # the reviewer
    case.refresh_from_db()
    assert (case.status, dry.outcome) == ("approved", "approved")
    assert case.completed_at == at(dry.working_days)


def test_a_decision_taken_back_is_made_again_within_the_tasks_first_limit(dry_and_live, base_data):
    dry, case, at = dry_and_live({"intake": ["take_back", "approve"]})
    (_, took), (_, again) = days_of(dry, "intake")
    reviewer = base_data["market_regulation_reviewer"]
    first = live(case, "intake")
    decide_in_time(first, reviewer, at(took))
    given_back = task_take_back(task_id=first.pk, actor=reviewer, now=at(took))
    assert given_back.due_at == first.due_at  # the live system keeps the limit
    decide_in_time(given_back, reviewer, at(again))
    decide_in_time(live(case, "review"), base_data["fire_reviewer"], at(dry.working_days))
    case.refresh_from_db()
    assert (case.status, dry.outcome) == ("approved", "approved")


def test_a_timeout_after_a_take_back_falls_due_when_the_live_breach_does(dry_and_live, base_data):
    dry, case, at = dry_and_live({"intake": ["take_back", "timeout"]})
    reviewer = base_data["market_regulation_reviewer"]
    first = live(case, "intake")
    claim_and_complete(task_id=first.pk, actor=reviewer, outcome="approve", opinion="同意", now=at(2.0))
    given_back = task_take_back(task_id=first.pk, actor=reviewer, now=at(2.0))
    timers_fire_due(now=at(dry.working_days) + timedelta(seconds=1))  # the breach rejects (on_breach)
    case = Case.objects.get(pk=case.pk)
    assert (case.status, dry.outcome) == ("rejected", "rejected")
    assert given_back.due_at == at(dry.working_days)
