"""审批人去重, property-tested through the services (issue 19): random
sequences of claims, hand-overs, decisions, transfers, releases and
take-backs by a few people never let one person decide two steps of a case
where the template's `repeat_signer` forbids it: with `refuse` nobody
decides two steps; with `auto_approve` a person's decisions of later steps
are all automatic approvals (audited), made only where they had decided an
earlier one; a two-person check's signatures are two different people who
decided no other step."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.accounts.models import Department, Membership
from govflow.audit.models import AuditEvent
from govflow.cases.models import Task, TaskStatus
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.cases.services import (
    case_create,
    case_submit,
    task_claim,
    task_complete,
    task_handover,
    task_release,
)
from govflow.demo import ensure_user
from govflow.errors import GovflowError
from govflow.processes.services import process_publish

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

TEMPLATE = """
id: test_repeat_random_%(rule)s
title: {zh: 测试审批人去重, en: Test repeat signers}
repeat_signer: %(rule)s
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: first}
  - id: first
    type: user_task
    title: {zh: 初审, en: First review}
    department: market_regulation
    outcomes: {approve: second, reject: rejected}
  - id: second
    type: user_task
    title: {zh: 复审, en: Second review}
    department: market_regulation
    outcomes: {approve: third, reject: rejected}
  - id: third
    type: user_task
    title: {zh: 消防审查, en: Fire review}
    department: fire
    transfer: {to: [market_regulation, fire]}
    outcomes: {approve: sign, reject: rejected}
  - id: sign
    type: user_task
    title: {zh: 双人审核, en: Two-person check}
    countersign: {mode: all, signers: [market_regulation, market_regulation]}
    outcomes: {approve: approved, reject: rejected}
  - {id: approved, type: end, title: {zh: 准予许可, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予许可, en: Rejected}, outcome: rejected}
"""
KINDS = ("claim", "decide", "decide", "handover", "release", "take_back", "transfer")
step = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 4),  # who acts
    st.integers(0, 4),  # the other person (hand-over)
    st.integers(0, 3),  # which live task (or decided task, for a take-back)
    st.sampled_from(["approve", "approve", "approve", "reject"]),
)


@pytest.fixture
def people(base_data):
    market = Department.objects.get(code="market_regulation")
    fire = Department.objects.get(code="fire")
    extra = []
    for name in ("market_second", "market_third"):
        user = ensure_user(name, password="x", groups=("reviewer",), first_name=name)
        Membership.objects.get_or_create(user=user, department=market)
        extra.append(user)
    # one person in both departments: the fire step transferred or not, they may take it
    both = base_data["fire_reviewer"]
    Membership.objects.get_or_create(user=both, department=market)
    assert Membership.objects.filter(user=both, department=fire).exists()
    return [base_data["market_regulation_reviewer"], base_data["market_regulation_head"], *extra, both]


def act(case, people, kind, who, other, index, outcome, now):
    actor = people[who]
    live = list(
        Task.objects.filter(case=case, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).order_by("id")
    )
    done = list(Task.objects.filter(case=case, status=TaskStatus.COMPLETED).order_by("id"))
    try:
        if kind == "take_back":
            if done:
                task_take_back(task_id=done[index % len(done)].pk, actor=actor, now=now)
            return
        if not live:
            return
        task = live[index % len(live)]
        if kind == "claim":
            task_claim(task_id=task.pk, actor=actor, now=now)
        elif kind == "decide":
            opinion = "同意" if outcome == "approve" else "不同意"
            task_complete(task_id=task.pk, actor=actor, outcome=outcome, opinion=opinion, now=now)
        elif kind == "handover":
            task_handover(task_id=task.pk, actor=actor, to_user=people[other], now=now)
        elif kind == "release":
            task_release(task_id=task.pk, actor=actor, now=now)
        elif kind == "transfer":
            target = "fire" if task.department.code == "market_regulation" else "market_regulation"
            task_transfer(task_id=task.pk, actor=actor, department=target, opinion="错派", now=now)
    except GovflowError:
        pass  # a refusal (not the holder, a repeat signer refused, ...) changes nothing


def check(case, rule):
    decided = list(
        Task.objects.filter(case=case, status=TaskStatus.COMPLETED, decided_by__isnull=False)
        .exclude(outcome__in=["taken_back", "returned"])
        .order_by("completed_at", "id")
    )
    automatic = set(
        AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").values_list(
            "object_id", flat=True
        )
    )
    steps_by: dict[int, list[str]] = {}
    for task in decided:
        earlier = steps_by.setdefault(task.decided_by_id, [])
        is_repeat = any(node != task.node_id for node in earlier)
        if task.engine_id in automatic:
            assert rule == "auto_approve", f"{task.node_id} approved automatically under {rule}"
            assert is_repeat, f"{task.node_id} approved automatically without cause"
            assert task.outcome == "approve"
        else:
            assert not is_repeat, f"person {task.decided_by_id} decided {task.node_id} after {earlier}"
        if task.node_id == "sign":
            assert not is_repeat, "a two-person check was signed by who decided an earlier step"
        earlier.append(task.node_id)
    signers = [t.decided_by_id for t in decided if t.node_id == "sign"]
    assert len(signers) == len(set(signers)), "one person signed both signatures of the two-person check"


@pytest.mark.parametrize("rule", ["auto_approve", "refuse"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=4, max_size=16))
def test_no_person_decides_two_steps_where_the_template_forbids_it(rule, steps, people, applicant, now):
    process_publish(source=TEMPLATE % {"rule": rule})
    case = case_create(
        applicant=applicant, template_code=f"test_repeat_random_{rule}", data={"company_name": "甲"}, now=now
    )
    case_submit(case_id=case.pk, actor=applicant, now=now)
    for kind, who, other, index, outcome in steps:
        act(case, people, kind, who, other, index, outcome, now)
        check(case, rule)
