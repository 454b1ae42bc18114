"""审批人去重 (issue 19): the template's `repeat_signer` says what happens when
a person who decided an earlier step of a case takes or decides a later one.
By default (`auto_approve`, as DingTalk's "同一审批人重复出现时自动同意") the later
step is approved at once in their name, with its own audit event and a note on
the case's timeline; `auto_approve_consecutive` only right after their own
decision; `refuse` wants a colleague; `allow` lets them decide it. A
signature of a countersign that wants distinct people refuses them."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.services import case_create, case_submit, task_claim, task_complete, task_handover
from govflow.errors import Conflict
from govflow.processes.services import process_publish

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

TEMPLATE = """
id: test_repeat_signer
title: {zh: 测试审批人去重, en: Test repeat signers}
%(rule)s
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: first}
  - id: first
    type: user_task
    title: {zh: 初审, en: First review}
    department: market_regulation
    outcomes: {approve: middle, reject: rejected}
  - id: middle
    type: user_task
    title: {zh: 消防审查, en: Fire review}
    department: fire
    outcomes: {approve: second, reject: rejected}
  - id: second
    type: user_task
    title: {zh: 复审, en: Second review}
    department: market_regulation
    outcomes: {approve: sign, reject: rejected}
  - id: sign
    type: user_task
    title: {zh: 会签, en: Countersign}
    countersign: {mode: all, signers: [market_regulation, market_regulation]}
    outcomes: {approve: approved, reject: rejected}
  - {id: approved, type: end, title: {zh: 准予许可, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予许可, en: Rejected}, outcome: rejected}
"""


@pytest.fixture
def start_case(base_data, applicant, now):
    def start(rule=""):
        process_publish(source=TEMPLATE % {"rule": rule})
        case = case_create(
            applicant=applicant, template_code="test_repeat_signer", data={"company_name": "甲"}, now=now
        )
        return case_submit(case_id=case.pk, actor=applicant, now=now)

    return start


def live(case, node, department=None):
    tasks = Task.objects.filter(case=case, node_id=node, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    if department:
        tasks = tasks.filter(department__code=department)
    return tasks.get()


def approve(case, node, user, now, department=None):
    task = live(case, node, department)
    task_claim(task_id=task.pk, actor=user, now=now)  # 签收 first
    return task_complete(task_id=task.pk, actor=user, outcome="approve", opinion="同意", now=now)


def test_auto_approve_approves_the_later_step_when_the_same_person_claims_it(start_case, base_data, now):
    case = start_case("repeat_signer: auto_approve")
    market, fire = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    second = live(case, "second")

    claimed = task_claim(task_id=second.pk, actor=market, now=now)

    second.refresh_from_db()
    assert (claimed.status, second.status, second.outcome) == ("completed", "completed", "approve")
    assert second.decided_by == market
    assert "「初审」" in second.opinion
    assert "自动同意" in second.opinion
    event = AuditEvent.objects.get(case=case, action="TASK_REPEAT_SIGNER_APPROVED")
    assert (event.actor, event.object_id, event.data["repeat_signer"]) == (market, second.engine_id, "first")
    # the case moved on to the countersign
    assert Task.objects.filter(case=case, node_id="sign", status="open").count() == 2
    # the applicant's timeline shows the automatic approval with its note
    from govflow.cases.selectors.timeline import timeline_entries
    from govflow.processes.services import version_definition

    case.refresh_from_db()
    lines = timeline_entries(
        case, list(Task.objects.filter(case=case)), version_definition(case.version), "zh", staff=False
    )
    (line,) = [e for e in lines if e.kind == "TASK_REPEAT_SIGNER_APPROVED"]
    assert (line.node_title, line.outcome) == ("复审", "approve")
    assert "自动同意" in line.opinion


def test_a_two_person_check_refuses_the_repeat_signer_as_one_of_its_signers(start_case, base_data, now):
    case = start_case()
    market, fire, head = (
        base_data[n] for n in ("market_regulation_reviewer", "fire_reviewer", "market_regulation_head")
    )
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    approve(case, "second", head, now)
    signature = Task.objects.filter(case=case, node_id="sign").first()
    with pytest.raises(Conflict) as refused:
        task_claim(task_id=signature.pk, actor=market, now=now)
    assert refused.value.code == "distinct_signers"
    signature.refresh_from_db()
    assert signature.status == "open"


def test_deciding_otherwise_than_the_automatic_approval_is_refused(start_case, base_data, now):
    case = start_case("claim_required: false\nrepeat_signer: auto_approve")  # deciding without claiming first
    market, fire = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    second = live(case, "second")
    with pytest.raises(Conflict) as refused:
        task_complete(task_id=second.pk, actor=market, outcome="reject", opinion="不同意", now=now)
    assert refused.value.code == "repeat_signer"
    # an approval given directly is the automatic one, with the reviewer's opinion
    task_complete(task_id=second.pk, actor=market, outcome="approve", opinion="同意。", now=now)
    assert AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").count() == 1
    second.refresh_from_db()
    assert second.opinion == "同意。"


def test_handing_the_step_to_the_person_who_decided_an_earlier_one_approves_it(start_case, base_data, now):
    case = start_case("repeat_signer: auto_approve")
    market, fire, head = (
        base_data[n] for n in ("market_regulation_reviewer", "fire_reviewer", "market_regulation_head")
    )
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    second = live(case, "second")
    task_claim(task_id=second.pk, actor=head, now=now)
    task_handover(task_id=second.pk, actor=head, to_user=market, now=now)
    second.refresh_from_db()
    assert (second.status, second.decided_by) == ("completed", market)
    # an automatic approval cannot be taken back
    with pytest.raises(Conflict):
        task_take_back(task_id=second.pk, actor=market, now=now)


def test_consecutive_only_approves_right_after_the_persons_own_decision(start_case, base_data, now):
    case = start_case("repeat_signer: auto_approve_consecutive")
    market, fire = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    second = live(case, "second")
    task_claim(task_id=second.pk, actor=market, now=now)  # fire decided in between: not consecutive
    second.refresh_from_db()
    assert second.status == "claimed"
    task_complete(task_id=second.pk, actor=market, outcome="approve", opinion="同意", now=now)
    assert not AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").exists()


@pytest.mark.parametrize("rule", ["", "repeat_signer: refuse", "distinct_signers: true"])
def test_by_default_and_with_refuse_the_same_person_cannot_take_a_second_step(
    start_case, base_data, now, rule
):
    """The same person may not sign twice in one case unless the template
    allows it: a colleague decides the later step."""
    market, fire, head = (
        base_data[n] for n in ("market_regulation_reviewer", "fire_reviewer", "market_regulation_head")
    )
    case = start_case(rule)
    approve(case, "first", market, now)
    approve(case, "middle", fire, now)
    second = live(case, "second")
    with pytest.raises(Conflict) as refused:
        task_claim(task_id=second.pk, actor=market, now=now)
    assert refused.value.code == "distinct_signers"
    second.refresh_from_db()
    assert (second.status, second.assignee) == ("open", None)
    approve(case, "second", head, now)  # the colleague
    assert not AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").exists()


def test_allow_lets_the_same_person_decide_a_second_step(start_case, base_data, now):
    market, fire = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]

    allowed_case = start_case("repeat_signer: allow")
    approve(allowed_case, "first", market, now)
    approve(allowed_case, "middle", fire, now)
    second = live(allowed_case, "second")
    task_claim(task_id=second.pk, actor=market, now=now)
    task_complete(task_id=second.pk, actor=market, outcome="reject", opinion="不同意", now=now)
    assert Case.objects.get(pk=allowed_case.pk).status == "rejected"


@pytest.mark.parametrize("rule", ["", "repeat_signer: auto_approve"])
def test_a_step_decided_again_after_a_take_back_is_not_a_repeat(start_case, base_data, now, rule):
    case = start_case(rule)
    market = base_data["market_regulation_reviewer"]
    first = live(case, "first")
    approve(case, "first", market, now)
    again = task_take_back(task_id=first.pk, actor=market, now=now)
    task_complete(task_id=again.pk, actor=market, outcome="reject", opinion="不同意", now=now)
    assert Case.objects.get(pk=case.pk).status == "rejected"
    assert not AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").exists()


PARALLEL = """
id: test_repeat_parallel
title: {zh: 测试并行去重, en: Test parallel repeat}
repeat_signer: %(rule)s
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: split}
  - {id: split, type: parallel, next: [left, right]}
  - id: left
    type: user_task
    title: {zh: 左, en: Left}
    department: market_regulation
    outcomes: {approve: join, reject: rejected}
  - id: right
    type: user_task
    title: {zh: 右, en: Right}
    department: market_regulation
    outcomes: {approve: join, reject: rejected}
  - {id: join, type: parallel, next: approved}
  - {id: approved, type: end, title: {zh: 准予许可, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予许可, en: Rejected}, outcome: rejected}
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rule", ["refuse", "auto_approve"])
def test_one_person_deciding_two_parallel_steps_at_once_signs_only_one(base_data, applicant, now, rule):
    from tests.collab.test_more_operations import _at_once

    process_publish(source=PARALLEL % {"rule": rule})
    case = case_create(
        applicant=applicant, template_code="test_repeat_parallel", data={"company_name": "甲"}, now=now
    )
    case_submit(case_id=case.pk, actor=applicant, now=now)
    market = base_data["market_regulation_reviewer"]
    left, right = live(case, "left"), live(case, "right")
    for task in (left, right):  # 签收 both before deciding either
        task_claim(task_id=task.pk, actor=market, now=now)

    errors = _at_once(
        *(
            lambda task=task: task_complete(
                task_id=task.pk, actor=market, outcome="approve", opinion="同意", now=now
            )
            for task in (left, right)
        )
    )

    explicit = AuditEvent.objects.filter(case=case, action="TASK_COMPLETED", actor=market).count()
    automatic = AuditEvent.objects.filter(case=case, action="TASK_REPEAT_SIGNER_APPROVED").count()
    assert explicit == 1  # the case lock serialises the two: the second sees the first's decision
    if rule == "refuse":
        assert sum(isinstance(e, Conflict) for e in errors) == 1
        assert automatic == 0
    else:
        assert errors == [None, None]
        assert automatic == 1
        assert Case.objects.get(pk=case.pk).status == "approved"
