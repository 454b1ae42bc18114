"""加签 / 减签 and 票签 through the services (issue 19, part A), with
`manage.py reconcile`'s checks clean after each operation."""

from pathlib import Path

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.cases.operations.signers import added_signers, task_remove_signer
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.errors import Conflict, InvalidInput, NotFound
from govflow.processes.services import process_publish
from tests.deciding import claim_and_add_signer, claim_and_complete

from .conftest import decide, live_task

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

VOTE_YAML = Path(__file__).parent.parent / "data" / "services" / "vote.yaml"


def _case_problems(case, now):
    return [p for p in reconcile(now=now) if case.reference in p or str(case.pk) in p]


def test_a_signer_added_before_signs_first_and_the_reviewer_decides_after(submitted_case, base_data, now):
    case = submitted_case
    reviewer, fire_reviewer = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    intake = live_task(case, "intake")

    claim_and_add_signer(task_id=intake.pk, actor=reviewer, department="fire", position="before", now=now)

    intake.refresh_from_db()
    assert (intake.status, intake.assignee_id) == (TaskStatus.CLAIMED, reviewer.pk)
    signer = Task.objects.get(case=case, node_id="intake", department__code="fire")
    case = Case.objects.get(pk=case.pk)
    assert [(s.position, s.task.pk) for s in added_signers(case=case, task=intake)] == [("before", signer.pk)]
    with pytest.raises(Conflict):
        claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    claim_and_complete(task_id=signer.pk, actor=fire_reviewer, outcome="approve", opinion="无意见", now=now)
    claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    assert sorted(Task.objects.filter(case=case, status="open").values_list("node_id", flat=True)) == [
        "fire",
        "tax",
    ]
    assert AuditEvent.objects.filter(case=case, action="TASK_SIGNER_ADDED").count() == 1
    assert _case_problems(case, now) == []


def test_an_approval_held_for_a_signer_after_counts_when_the_head_removes_it(submitted_case, base_data, now):
    case = submitted_case
    reviewer = base_data["market_regulation_reviewer"]
    intake = live_task(case, "intake")
    claim_and_add_signer(task_id=intake.pk, actor=reviewer, department="bank", position="after", now=now)
    claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    signer = Task.objects.get(case=case, node_id="intake", department__code="bank", status="open")

    with pytest.raises(NotFound):  # another department's head does not see the task
        task_remove_signer(task_id=intake.pk, actor=base_data["fire_head"], signer_task_id=signer.pk)
    task_remove_signer(
        task_id=intake.pk, actor=base_data["market_regulation_head"], signer_task_id=signer.pk, now=now
    )

    signer.refresh_from_db()
    assert signer.status == TaskStatus.CANCELLED
    assert sorted(Task.objects.filter(case=case, status="open").values_list("node_id", flat=True)) == [
        "fire",
        "tax",
    ]
    assert AuditEvent.objects.filter(case=case, action="TASK_SIGNER_REMOVED").count() == 1
    assert _case_problems(case, now) == []


def test_adding_a_signer_of_the_own_or_an_unknown_department_is_refused(submitted_case, base_data):
    intake = live_task(submitted_case, "intake")
    reviewer = base_data["market_regulation_reviewer"]
    for department in ("market_regulation", "nowhere"):
        with pytest.raises(InvalidInput):
            claim_and_add_signer(task_id=intake.pk, actor=reviewer, department=department, position="before")
    with pytest.raises(InvalidInput):
        claim_and_add_signer(task_id=intake.pk, actor=reviewer, department="fire", position="sideways")


def test_a_vote_rejects_once_approval_can_no_longer_reach_the_ratio(base_data, applicant, now):
    process_publish(source=VOTE_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_vote", data={"company_name": "甲"}, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    votes = {t.department.code: t for t in Task.objects.filter(case=case, node_id="vote")}

    claim_and_complete(
        task_id=votes["fire"].pk, actor=base_data["fire_reviewer"], outcome="reject", opinion="否"
    )
    claim_and_complete(
        task_id=votes["tax"].pk, actor=base_data["tax_reviewer"], outcome="reject", opinion="否"
    )

    case = Case.objects.get(pk=case.pk)
    assert case.status == CaseStatus.REJECTED
    assert Task.objects.get(pk=votes["natural_resources"].pk).status == TaskStatus.CANCELLED


def test_operations_keep_the_rows_and_the_engine_in_step(submitted_case, base_data, now):
    case = submitted_case
    reviewer = base_data["market_regulation_reviewer"]
    intake = live_task(case, "intake")
    decide(case, "intake", reviewer, now=now)
    task_take_back(task_id=intake.pk, actor=reviewer, now=now)
    decide(case, "intake", reviewer, now=now)
    task_transfer(
        task_id=live_task(case, "tax").pk, actor=base_data["tax_head"], department="fire", opinion="错派"
    )
    task_claim(task_id=live_task(case, "fire").pk, actor=base_data["fire_reviewer"], now=now)
    assert _case_problems(case, now) == []


def test_a_person_added_before_gets_the_signers_task(submitted_case, base_data, now):
    intake = live_task(submitted_case, "intake")
    fire_head = base_data["fire_head"]
    claim_and_add_signer(
        task_id=intake.pk,
        actor=base_data["market_regulation_reviewer"],
        department="fire",
        position="before",
        to_user=fire_head,
        now=now,
    )
    signer = Task.objects.get(case=submitted_case, node_id="intake", department__code="fire")
    assert (signer.status, signer.assignee_id) == (TaskStatus.CLAIMED, fire_head.pk)
    with pytest.raises(InvalidInput):  # not of the department
        claim_and_add_signer(
            task_id=intake.pk,
            actor=base_data["market_regulation_reviewer"],
            department="tax",
            position="before",
            to_user=fire_head,
        )
