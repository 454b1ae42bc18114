"""Races on PostgreSQL with real concurrent connections (transaction=True:
each thread commits for real, as two reviewers' requests would)."""

import threading

import pytest
from django.db import connection

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.cases.services import case_create, case_submit, task_complete
from govflow.outbox.models import OutboxMessage
from tests.deciding import claim, claim_and_complete

from .conftest import GOOD_DATA, decide, live_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _race(*calls):
    """Run the calls in threads released together by a barrier; return errors."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_the_last_two_parallel_approvals_at_once_fire_the_join_once(
    review_template, base_data, applicant, now
):
    assert connection.vendor == "postgresql"
    fire_reviewer, tax_reviewer = base_data["fire_reviewer"], base_data["tax_reviewer"]
    for _ in range(20):
        case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
        case_submit(case_id=case.pk, actor=applicant, now=now)
        decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
        fire, tax = live_task(case, "fire"), live_task(case, "tax")

        claim(fire.pk, fire_reviewer)  # 签收 before the race: the decisions race
        claim(tax.pk, tax_reviewer)
        errors = _race(
            lambda f=fire: task_complete(
                task_id=f.pk, actor=fire_reviewer, outcome="approve", opinion="同意"
            ),
            lambda t=tax: task_complete(task_id=t.pk, actor=tax_reviewer, outcome="approve", opinion="同意"),
        )

        assert errors == []
        case = Case.objects.get(pk=case.pk)
        assert case.status == CaseStatus.APPROVED
        assert AuditEvent.objects.filter(case=case, action="CASE_APPROVED").count() == 1
        assert OutboxMessage.objects.filter(topic="certificate", payload__case=case.pk).count() == 1
        decided = Task.objects.filter(case=case, node_id__in=["fire", "tax"], status=TaskStatus.COMPLETED)
        assert sorted(decided.values_list("outcome", flat=True)) == ["approve", "approve"]
        assert not case.state["tokens"]
        assert not case.state["scopes"]


def test_two_reviewers_deciding_the_same_task_one_wins_the_other_gets_a_conflict(
    review_template, base_data, applicant, now
):
    from govflow.accounts.models import Membership
    from govflow.demo import ensure_user

    colleague = ensure_user("market_regulation_reviewer2", password="x", groups=("reviewer",))
    Membership.objects.get_or_create(user=colleague, department=live_department("market_regulation"))
    reviewer = base_data["market_regulation_reviewer"]
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    intake = live_task(case, "intake")

    # both claim (签收) and decide at once: one of them holds the task, the other is told
    errors = _race(
        lambda: claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意"),
        lambda: claim_and_complete(task_id=intake.pk, actor=colleague, outcome="reject", opinion="不同意"),
    )

    from govflow.errors import Conflict

    assert len(errors) == 1
    assert isinstance(errors[0], Conflict)
    intake.refresh_from_db()
    assert intake.status == TaskStatus.COMPLETED
    assert AuditEvent.objects.filter(case=case, action="TASK_COMPLETED").count() == 1


def live_department(code):
    from govflow.accounts.models import Department

    return Department.objects.get(code=code)
