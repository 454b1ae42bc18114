"""签收 before deciding (`claim_required`, true by default): deciding, 退回
and 加签 on a task nobody holds are refused; a template or a step may let
the department decide an open task, and the decider then holds it."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import TaskStatus
from govflow.cases.operations.returns import task_return
from govflow.cases.operations.signers import task_add_signer
from govflow.cases.operations.transfer import task_transfer
from govflow.cases.services import case_create, case_submit, task_claim, task_complete
from govflow.engine.loader import check_definition
from govflow.errors import Conflict
from govflow.processes.services import process_publish

from .conftest import GOOD_DATA, REVIEW_YAML, decide, live_task

pytestmark = pytest.mark.django_db


def _publish(replace: tuple[str, str] | None = None, top: str = ""):
    source = REVIEW_YAML.read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in source
        source = source.replace(*replace)
    source = source.replace("time_limit: {days: 20}\n", f"time_limit: {{days: 20}}\n{top}")
    process_publish(source=source)


def _case(applicant, now):
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def test_deciding_an_unclaimed_task_is_refused_and_writes_nothing(submitted_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    intake = live_task(submitted_case, "intake")

    with pytest.raises(Conflict) as refused:
        task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)

    assert refused.value.code == "not_claimed"
    intake.refresh_from_db()
    assert (intake.status, intake.assignee_id, intake.outcome) == (TaskStatus.OPEN, None, "")
    assert not AuditEvent.objects.filter(action="TASK_COMPLETED", case_id=submitted_case.pk).exists()
    # once claimed, the same decision goes through and the task keeps its holder
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    intake.refresh_from_db()
    assert (intake.status, intake.assignee_id, intake.decided_by_id) == (
        TaskStatus.COMPLETED,
        reviewer.pk,
        reviewer.pk,
    )


def test_returns_and_added_signers_need_the_claim_but_a_transfer_does_not(submitted_case, base_data, now):
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(submitted_case, "fire")
    reviewer = base_data["fire_reviewer"]

    with pytest.raises(Conflict) as returned:
        task_return(task_id=fire.pk, actor=reviewer, target="intake", opinion="材料有误", now=now)
    with pytest.raises(Conflict) as added:
        task_add_signer(task_id=fire.pk, actor=reviewer, department="tax", position="before", now=now)
    task_transfer(task_id=fire.pk, actor=reviewer, department="tax", opinion="不属本部门", now=now)

    assert (returned.value.code, added.value.code) == ("not_claimed", "not_claimed")
    fire.refresh_from_db()
    assert (fire.department.code, fire.status) == ("tax", TaskStatus.OPEN)


def test_a_template_without_the_claim_lets_the_decider_hold_the_task(base_data, applicant, now):
    _publish(top="claim_required: false\n")
    case = _case(applicant, now)
    reviewer = base_data["market_regulation_reviewer"]
    intake = live_task(case, "intake")

    task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)

    intake.refresh_from_db()
    assert (intake.status, intake.assignee_id, intake.claimed_at) == (TaskStatus.COMPLETED, reviewer.pk, now)


@pytest.mark.parametrize(
    ("top", "node", "intake_needs_claim"),
    [
        ("", "    claim_required: false\n", False),
        ("claim_required: false\n", "    claim_required: true\n", True),
    ],
)
def test_a_step_says_otherwise_than_its_template(base_data, applicant, now, top, node, intake_needs_claim):
    _publish(
        replace=("    department: market_regulation\n", f"    department: market_regulation\n{node}"), top=top
    )
    case = _case(applicant, now)
    intake = live_task(case, "intake")
    decide_unclaimed = lambda: task_complete(  # noqa: E731
        task_id=intake.pk, actor=base_data["market_regulation_reviewer"], outcome="approve", now=now
    )

    if intake_needs_claim:
        with pytest.raises(Conflict):
            decide_unclaimed()
    else:
        decide_unclaimed()
        # the template's own default holds for the other steps
        fire = live_task(case, "fire")
        with pytest.raises(Conflict):
            task_complete(task_id=fire.pk, actor=base_data["fire_reviewer"], outcome="approve", now=now)


def test_claim_required_must_be_true_or_false_and_is_placed():
    source = REVIEW_YAML.read_text(encoding="utf-8").replace(
        "    department: fire\n", "    department: fire\n    claim_required: yes please\n"
    )
    _definition, problems = check_definition(source)
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines, 1) if "claim_required" in line)
    assert [(p.line, p.col) for p in problems] == [(at, 21)]
    assert "'claim_required' must be true or false" in problems[0].message
