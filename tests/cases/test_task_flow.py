"""退回, 撤回/拿回 and 转办 through the services (issue 19, part A)."""

from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.operations.returns import task_return_targets
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.cases.services import task_claim, task_release
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.deciding import claim_and_return

from .conftest import decide, live_task

pytestmark = [pytest.mark.operations, pytest.mark.django_db]


def _open_nodes(case):
    return sorted(
        Task.objects.filter(case=case, status__in=["open", "claimed"]).values_list("node_id", flat=True)
    )


# -- 退回 -----------------------------------------------------------------------


def test_a_return_before_the_split_cancels_the_block_and_clears_its_decisions(submitted_case, base_data, now):
    # Given intake approved and fire approved inside the parallel block
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    decide(case, "fire", base_data["fire_reviewer"], now=now)
    tax = live_task(case, "tax")
    case.refresh_from_db()
    assert task_return_targets(case=case, task=tax) == ["intake"]

    # When tax sends the case back to intake
    claim_and_return(
        task_id=tax.pk, actor=base_data["tax_reviewer"], target="intake", opinion="受理材料有误", now=now
    )

    # Then only intake is open again, in a new round; fire's decision no longer counts
    case = Case.objects.get(pk=case.pk)
    assert _open_nodes(case) == ["intake"]
    assert live_task(case, "intake").round == 2
    assert "fire" not in case.state["decisions"]
    assert not case.state["scopes"]
    tax.refresh_from_db()
    assert (tax.status, tax.outcome, tax.opinion) == (TaskStatus.COMPLETED, "returned", "受理材料有误")
    event = AuditEvent.objects.get(case=case, action="TASK_RETURNED")
    assert event.data["target"] == "intake"
    assert event.data["cleared"] == ["fire"]
    assert event.data["block"] == "split"


def test_a_return_to_a_step_not_offered_is_refused_and_changes_nothing(submitted_case, base_data, now):
    case = submitted_case
    intake = live_task(case, "intake")
    with pytest.raises(InvalidInput) as refused:
        claim_and_return(
            task_id=intake.pk, actor=base_data["market_regulation_reviewer"], target="fire", opinion="x"
        )
    assert "target" in refused.value.fields
    assert _open_nodes(Case.objects.get(pk=case.pk)) == ["intake"]
    assert not AuditEvent.objects.filter(case=case, action="TASK_RETURNED").exists()


def test_a_return_needs_a_reason_and_the_assignee(submitted_case, base_data, now):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(case, "fire")
    with pytest.raises(InvalidInput):
        claim_and_return(task_id=fire.pk, actor=base_data["fire_reviewer"], target="intake", opinion=" ")
    with pytest.raises(NotFound):  # not of the task's department
        claim_and_return(task_id=fire.pk, actor=base_data["tax_reviewer"], target="intake", opinion="x")
    task_release(task_id=fire.pk, actor=base_data["fire_reviewer"], now=now)
    task_claim(task_id=fire.pk, actor=base_data["fire_head"], now=now)
    with pytest.raises(Conflict):  # a colleague holds it
        claim_and_return(task_id=fire.pk, actor=base_data["fire_reviewer"], target="intake", opinion="x")


def test_come_back_is_refused_across_a_split(submitted_case, base_data, now):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(case, "fire")
    with pytest.raises(Conflict):
        claim_and_return(
            task_id=fire.pk, actor=base_data["fire_reviewer"], target="intake", opinion="x", come_back=True
        )


def test_the_applicant_sees_the_return_with_its_reason(submitted_case, base_data, applicant, now, client):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(case, "fire")
    claim_and_return(
        task_id=fire.pk, actor=base_data["fire_reviewer"], target="intake", opinion="请重新受理", now=now
    )
    client.force_login(applicant)
    page = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # the step shows as sent back (not as passed); the internal reason and the reviewer stay internal
    assert "退回到之前的环节" in page
    assert "请重新受理" not in page
    assert "fire_reviewer" not in page


# -- 撤回 / 拿回 --------------------------------------------------------------------


def test_taking_back_a_decision_gives_the_task_back_with_its_time(submitted_case, base_data, now):
    # Given intake approved an hour after it started
    case = submitted_case
    reviewer = base_data["market_regulation_reviewer"]
    first = live_task(case, "intake")
    decide(case, "intake", reviewer, now=now + timedelta(hours=1))
    assert _open_nodes(Case.objects.get(pk=case.pk)) == ["fire", "tax"]

    # When the reviewer takes it back
    again = task_take_back(task_id=first.pk, actor=reviewer, now=now + timedelta(hours=2))

    # Then the fire and tax tasks are cancelled and intake is the reviewer's again, due when it was
    case = Case.objects.get(pk=case.pk)
    assert _open_nodes(case) == ["intake"]
    again = Task.objects.get(pk=again.pk)
    assert (again.status, again.assignee_id) == (TaskStatus.CLAIMED, reviewer.pk)
    assert again.due_at == first.due_at
    first.refresh_from_db()
    assert first.outcome == "taken_back"
    assert AuditEvent.objects.filter(case=case, action="TASK_DECISION_TAKEN_BACK").count() == 1
    # and it can be decided again
    decide(case, "intake", reviewer, now=now + timedelta(hours=3))
    assert _open_nodes(Case.objects.get(pk=case.pk)) == ["fire", "tax"]


def test_a_take_back_is_refused_once_the_next_reviewer_claimed(submitted_case, base_data, now):
    case = submitted_case
    reviewer = base_data["market_regulation_reviewer"]
    first = live_task(case, "intake")
    decide(case, "intake", reviewer, now=now)
    task_claim(task_id=live_task(case, "fire").pk, actor=base_data["fire_reviewer"], now=now)
    with pytest.raises(Conflict) as refused:
        task_take_back(task_id=first.pk, actor=reviewer, now=now)
    assert "claimed" in refused.value.message
    assert _open_nodes(Case.objects.get(pk=case.pk)) == ["fire", "tax"]


def test_a_take_back_is_refused_once_the_next_step_decided(submitted_case, base_data, now):
    case = submitted_case
    reviewer = base_data["market_regulation_reviewer"]
    first = live_task(case, "intake")
    decide(case, "intake", reviewer, now=now)
    decide(case, "fire", base_data["fire_reviewer"], now=now)
    with pytest.raises(Conflict):
        task_take_back(task_id=first.pk, actor=reviewer, now=now)


def test_only_the_decider_may_take_back(submitted_case, base_data, now):
    case = submitted_case
    first = live_task(case, "intake")
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    with pytest.raises(Forbidden):
        task_take_back(task_id=first.pk, actor=base_data["market_regulation_head"], now=now)


def test_a_fire_signature_taken_back_inside_the_block_leaves_tax_alone(submitted_case, base_data, now):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(case, "fire")
    decide(case, "fire", base_data["fire_reviewer"], now=now)
    task_take_back(task_id=fire.pk, actor=base_data["fire_reviewer"], now=now)
    case = Case.objects.get(pk=case.pk)
    assert _open_nodes(case) == ["fire", "tax"]
    scope = next(iter(case.state["scopes"].values()))
    assert scope["arrived"] == 0


# -- 转办 ----------------------------------------------------------------------


def test_a_transfer_moves_the_task_and_keeps_its_time_limit(submitted_case, base_data, now):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    fire = live_task(case, "fire")
    due = fire.due_at
    task_claim(task_id=fire.pk, actor=base_data["fire_reviewer"], now=now)

    task_transfer(
        task_id=fire.pk, actor=base_data["fire_reviewer"], department="tax", opinion="错派", now=now
    )

    fire.refresh_from_db()
    assert fire.department.code == "tax"
    assert (fire.status, fire.assignee_id, fire.due_at) == (TaskStatus.OPEN, None, due)
    event = AuditEvent.objects.get(case=case, action="TASK_TRANSFERRED")
    assert event.data["opinion"] == "错派"
    # the receiving department decides it
    decide(case, "fire", base_data["tax_reviewer"], now=now)


def test_a_transfer_to_the_same_or_an_unknown_department_is_refused(submitted_case, base_data, now):
    case = submitted_case
    intake = live_task(case, "intake")
    actor = base_data["market_regulation_reviewer"]
    with pytest.raises(Conflict):
        task_transfer(task_id=intake.pk, actor=actor, department="market_regulation", opinion="x")
    with pytest.raises(InvalidInput):
        task_transfer(task_id=intake.pk, actor=actor, department="nowhere", opinion="x")


# -- 审批人去重 -------------------------------------------------------------------


def test_with_distinct_signers_one_person_cannot_decide_two_steps(base_data, applicant, now):
    from pathlib import Path

    from govflow.cases.services import case_create, case_submit
    from govflow.processes.services import process_publish

    source = Path(__file__).parent.parent / "data" / "services" / "distinct.yaml"
    process_publish(source=source.read_text(encoding="utf-8"))
    case = case_create(
        applicant=applicant, template_code="test_distinct", data={"company_name": "甲"}, now=now
    )
    case_submit(case_id=case.pk, actor=applicant, now=now)
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    decide(case, "first", reviewer, now=now)

    second = live_task(case, "second")
    with pytest.raises(Conflict) as refused:
        task_claim(task_id=second.pk, actor=reviewer, now=now)
    assert refused.value.code == "distinct_signers"

    # a colleague decides the second step
    decide(case, "second", head, now=now)
    assert Case.objects.get(pk=case.pk).status == "approved"
