"""委派, the template's 抄送, 代理 and 离职交接, 批量审批, and people acting at once."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from govflow.accounts.models import Membership
from govflow.audit.models import AuditEvent
from govflow.cases.models import Task
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.collab.copies import copy_mark_read
from govflow.collab.models import Copy, Delegation, RequestStatus, Urge
from govflow.collab.proxies import opinion_save, proxy_appoint, tasks_approve_batch, tasks_reassign
from govflow.collab.services import delegation_answer, delegation_cancel, delegation_request
from govflow.collab.urges import case_urge
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from tests.cases.conftest import GOOD_DATA, live_task
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.django_db, pytest.mark.operations]
CC_BATCH = Path(__file__).parent.parent / "data" / "services" / "cc_batch.yaml"


@pytest.fixture
def cc_cases(base_data, applicant, now):
    process_publish(source=CC_BATCH.read_text(encoding="utf-8"))
    made = []
    for _ in range(3):
        case = case_create(applicant=applicant, template_code="test_cc_batch", data=GOOD_DATA, now=now)
        made.append(case_submit(case_id=case.pk, actor=applicant, now=now))
    return made


# -- 委派 ------------------------------------------------------------------------------


def test_delegate_answer_decide(held_intake, market_reviewer, market_colleague, now):
    delegation = delegation_request(
        task_id=held_intake.pk, actor=market_reviewer, to_user=market_colleague, now=now
    )
    with pytest.raises(Conflict) as refused:
        claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)
    assert refused.value.code == "delegation_open"
    # only the delegate answers
    with pytest.raises(NotFound):
        delegation_answer(delegation_id=delegation.pk, actor=market_reviewer, opinion="x", now=now)
    delegation_answer(delegation_id=delegation.pk, actor=market_colleague, opinion="建议同意", now=now)
    task = claim_and_complete(
        task_id=held_intake.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now
    )
    assert task.decided_by == market_reviewer  # the reviewer decides, not the delegate
    assert AuditEvent.objects.filter(action__in=["TASK_DELEGATED", "DELEGATION_ANSWERED"]).count() == 2
    outbox_drain(topics=["collab_notify"])
    assert Notification.objects.filter(kind="delegated", user=market_colleague).exists()
    assert Notification.objects.filter(kind="delegation_answered", user=market_reviewer).exists()


def test_delegation_refusals_and_take_back(held_intake, market_reviewer, market_colleague, applicant, now):
    with pytest.raises(Conflict):  # not the holder
        delegation_request(task_id=held_intake.pk, actor=market_colleague, to_user=market_reviewer, now=now)
    with pytest.raises(InvalidInput):
        delegation_request(task_id=held_intake.pk, actor=market_reviewer, to_user=market_reviewer, now=now)
    with pytest.raises(InvalidInput):  # the applicant is no colleague
        delegation_request(task_id=held_intake.pk, actor=market_reviewer, to_user=applicant, now=now)
    delegation = delegation_request(
        task_id=held_intake.pk, actor=market_reviewer, to_user=market_colleague, now=now
    )
    with pytest.raises(Conflict):
        delegation_request(task_id=held_intake.pk, actor=market_reviewer, to_user=market_colleague, now=now)
    with pytest.raises(Forbidden):
        delegation_cancel(delegation_id=delegation.pk, actor=market_colleague, now=now)
    delegation_cancel(delegation_id=delegation.pk, actor=market_reviewer, now=now)
    assert Delegation.objects.get().status == RequestStatus.CANCELLED
    claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)


# -- 抄送 from the template ------------------------------------------------------------------


def test_the_template_copies_the_decision_to_tax_and_the_leaders(cc_cases, base_data, market_reviewer, now):
    case = cc_cases[0]
    task = live_task(case, "intake")
    claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    outbox_drain(topics=["collab_copy", "collab_notify"])
    copied = set(Copy.objects.filter(task=task).values_list("user__username", flat=True))
    assert copied == {"tax_reviewer", "tax_head", "leader"}
    assert set(Notification.objects.filter(kind="copied").values_list("user__username", flat=True)) == copied
    # a second delivery copies nobody twice
    outbox_drain(topics=["collab_copy"])
    assert Copy.objects.filter(task=task).count() == 3
    copy = Copy.objects.get(task=task, user=base_data["leader"])
    copy_mark_read(copy_id=copy.pk, actor=base_data["leader"], now=now)
    with pytest.raises(NotFound):
        copy_mark_read(copy_id=copy.pk, actor=base_data["tax_reviewer"], now=now)


def test_a_copy_to_the_department_head_reaches_the_active_heads_of_the_tasks_department(
    base_data, applicant, market_reviewer, now
):
    source = CC_BATCH.read_text(encoding="utf-8").replace("roles: [leader]", "roles: [department_head]")
    assert "department_head" in source
    process_publish(source=source)
    case = case_create(applicant=applicant, template_code="test_cc_batch", data=GOOD_DATA, now=now)
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    task = live_task(case, "intake")
    market_heads = set(
        Membership.objects.filter(department=task.department, is_head=True).values_list(
            "user__username", flat=True
        )
    )
    assert market_heads
    assert market_reviewer.username not in market_heads
    claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    outbox_drain(topics=["collab_copy"])
    copied = set(Copy.objects.filter(task=task).values_list("user__username", flat=True))
    assert copied == {"tax_reviewer", "tax_head"} | market_heads


# -- 代理 and 离职交接 -------------------------------------------------------------------------


def test_the_acting_officer_decides_for_the_holder_in_the_window(
    held_intake, market_reviewer, market_colleague, fire_reviewer, now
):
    with pytest.raises(InvalidInput):  # no shared department
        proxy_appoint(
            actor=market_reviewer,
            principal=market_reviewer,
            proxy=fire_reviewer,
            starts_at=now,
            ends_at=now + timedelta(days=3),
            now=now,
        )
    proxy_appoint(
        actor=market_reviewer,
        principal=market_reviewer,
        proxy=market_colleague,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=3),
        now=now,
    )
    with pytest.raises(Conflict):  # before the window
        claim_and_complete(task_id=held_intake.pk, actor=market_colleague, outcome="approve", now=now)
    task = claim_and_complete(
        task_id=held_intake.pk,
        actor=market_colleague,
        outcome="approve",
        opinion="代为同意",
        now=now + timedelta(hours=2),
    )
    assert task.decided_by == market_colleague
    event = AuditEvent.objects.filter(action="TASK_COMPLETED").latest("id")
    assert event.actor_id == market_colleague.pk
    assert event.data["acting_for"] == market_reviewer.pk


def test_the_head_hands_a_leaving_reviewers_tasks_over(
    held_intake, market_reviewer, market_colleague, market_head, now
):
    with pytest.raises(Forbidden):
        tasks_reassign(
            actor=market_colleague,
            department_id=held_intake.department_id,
            from_user=market_reviewer,
            to_user=market_colleague,
            now=now,
        )
    moved = tasks_reassign(
        actor=market_head,
        department_id=held_intake.department_id,
        from_user=market_reviewer,
        to_user=market_colleague,
        now=now,
    )
    assert moved == [held_intake.pk]
    assert Task.objects.get(pk=held_intake.pk).assignee == market_colleague
    assert AuditEvent.objects.filter(action="TASKS_REASSIGNED").count() == 1


# -- 常用意见 and 批量审批 ------------------------------------------------------------------------


def test_batch_approval_where_the_template_allows_it(
    cc_cases, submitted_case, market_reviewer, market_colleague, now
):
    opinion_save(actor=market_reviewer, text_value="材料齐全，同意")
    tasks = [live_task(case, "intake") for case in cc_cases]
    # a colleague holds one of them: that one is refused, the others approved
    task_claim(task_id=tasks[2].pk, actor=market_colleague, now=now)
    results = tasks_approve_batch(
        actor=market_reviewer, task_ids=[t.pk for t in tasks], opinion="材料齐全，同意", now=now
    )
    assert [r.ok for r in results] == [True, True, False]
    assert AuditEvent.objects.filter(action="TASKS_BATCH_APPROVED").count() == 1
    # a step without batch: true, or tasks of two steps, are refused whole
    with pytest.raises(InvalidInput):
        tasks_approve_batch(actor=market_reviewer, task_ids=[live_task(submitted_case, "intake").pk], now=now)


def test_the_batch_page_says_why_a_task_was_refused_in_chinese(
    cc_cases, market_reviewer, market_colleague, now
):
    from django.contrib.messages import get_messages
    from django.test import Client

    tasks = [live_task(case, "intake") for case in cc_cases]
    task_claim(task_id=tasks[2].pk, actor=market_colleague, now=now)
    client = Client()
    client.force_login(market_reviewer)

    response = client.post("/collab/batch/", {"tasks": [t.pk for t in tasks], "opinion": "材料齐全，同意"})

    said = [str(m) for m in get_messages(response.wsgi_request)]
    # the service's refusal in the reader's language, not its English
    assert said == ["已批准 2 项任务。", f"#{tasks[2].pk}: 同事已签收此任务；请该同事或部门负责人转交给您。"]


# -- at the same time ---------------------------------------------------------------------------


def _at_once(*calls):
    errors: list[BaseException | None] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        try:
            barrier.wait()
            call()
        except BaseException as exc:
            errors[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_an_opinion_and_the_decision_at_once_never_both_pass_the_open_consultation(
    base_data, review_template, applicant, now
):
    from govflow.collab.services import consultation_answer, consultation_request

    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    reviewer, fire = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    task = live_task(case, "intake")
    task_claim(task_id=task.pk, actor=reviewer, now=now)
    (made,) = consultation_request(
        task_id=task.pk, actor=reviewer, departments=["fire"], question="?", now=now
    )
    errors = _at_once(
        lambda: consultation_answer(consultation_id=made.pk, actor=fire, opinion="同意", now=now),
        lambda: claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approve", now=now),
    )
    task.refresh_from_db()
    made.refresh_from_db()
    assert errors[0] is None
    # either the decision waited (refused) or it came after the answer
    if task.status == "completed":
        assert made.status == "answered"
        assert made.answered_at is not None
    else:
        assert isinstance(errors[1], Conflict)


@pytest.mark.django_db(transaction=True)
def test_two_urges_by_the_applicant_at_once_make_one(base_data, review_template, applicant, now):
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    later = now + timedelta(days=1, hours=6)
    errors = _at_once(
        lambda: case_urge(case_id=case.pk, actor=applicant, now=later),
        lambda: case_urge(case_id=case.pk, actor=applicant, now=later),
    )
    assert Urge.objects.filter(case=case).count() == 1
    assert sum(isinstance(e, Conflict) for e in errors) == 1


def test_a_decision_with_nothing_open_asks_about_delegations_only_in_the_lock_read(
    held_intake, market_reviewer, now
):
    """委派 / 会商 are looked for by the case lock's read of the task (the
    guard's probe), not by a statement of their own: a decision with nothing
    open costs no extra round trip, and one with a delegation open is still
    refused (test_delegate_answer_decide)."""
    from django.test.utils import CaptureQueriesContext

    from govflow.cases.services import task_complete

    with CaptureQueriesContext(connection) as queries:
        task_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)
    asking = [q["sql"] for q in queries.captured_queries if Delegation._meta.db_table in q["sql"]]
    assert len(asking) == 1
    assert "accounts_membership" in asking[0]
