"""The task-flow operations racing on PostgreSQL with real concurrent
connections (issue 19, part A): a take-back against the next claim, two
returns at once, a vote's last two signatures at once. After each race the
engine's state is whole (tests/engine/test_properties.py's invariants)."""

from pathlib import Path

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.cases.operations.returns import task_return
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.services import case_create, case_submit, task_claim, task_complete
from govflow.errors import Conflict
from govflow.processes.services import process_publish, version_definition
from tests.deciding import claim, claim_and_complete
from tests.engine.test_properties import Journal, assert_invariants

from .conftest import GOOD_DATA, decide, live_task
from .test_concurrency import _race

pytestmark = [
    pytest.mark.operations,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]

VOTE_YAML = Path(__file__).parent.parent / "data" / "services" / "vote.yaml"


def _check(case):
    case = Case.objects.get(pk=case.pk)
    state = dict(case.state)
    state["data"] = case.data
    assert_invariants(version_definition(case.version), state, [], Journal())
    live = set(
        Task.objects.filter(case=case, status__in=["open", "claimed"]).values_list("engine_id", flat=True)
    )
    engine = {t for t, task in state["tasks"].items() if task["kind"] in ("review", "signature")}
    assert live == engine
    return case


def _submit(applicant, now, code="test_review", data=GOOD_DATA):
    case = case_create(applicant=applicant, template_code=code, data=data, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def test_a_take_back_racing_the_next_claim_one_wins(review_template, base_data, applicant, now):
    reviewer, fire_reviewer = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    outcomes = set()
    for _ in range(10):
        case = _submit(applicant, now)
        intake = live_task(case, "intake")
        decide(case, "intake", reviewer, now=now)
        fire = live_task(case, "fire")

        errors = _race(
            lambda i=intake: task_take_back(task_id=i.pk, actor=reviewer),
            lambda f=fire: task_claim(task_id=f.pk, actor=fire_reviewer),
        )

        assert len(errors) == 1, errors
        assert isinstance(errors[0], Conflict), errors
        case = _check(case)
        fire.refresh_from_db()
        if fire.status == TaskStatus.CLAIMED:  # the claim won: nothing taken back
            outcomes.add("claim")
            assert not AuditEvent.objects.filter(case=case, action="TASK_DECISION_TAKEN_BACK").exists()
        else:  # the take-back won: fire's task is cancelled, intake is the reviewer's again
            outcomes.add("take-back")
            assert fire.status == TaskStatus.CANCELLED
            assert live_task(case, "intake").assignee_id == reviewer.pk
    assert outcomes  # which one wins is up to the scheduler


def test_two_returns_at_once_one_sends_the_case_back(review_template, base_data, applicant, now):
    fire_reviewer, tax_reviewer = base_data["fire_reviewer"], base_data["tax_reviewer"]
    for _ in range(10):
        case = _submit(applicant, now)
        decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
        fire, tax = live_task(case, "fire"), live_task(case, "tax")

        claim(fire.pk, fire_reviewer)  # 签收 before the race: the returns race, not the claims
        claim(tax.pk, tax_reviewer)
        errors = _race(
            lambda f=fire: task_return(task_id=f.pk, actor=fire_reviewer, target="intake", opinion="退回"),
            lambda t=tax: task_return(task_id=t.pk, actor=tax_reviewer, target="intake", opinion="退回"),
        )

        assert len(errors) == 1, errors
        assert isinstance(errors[0], Conflict), errors
        case = _check(case)
        assert list(
            Task.objects.filter(case=case, status__in=["open", "claimed"]).values_list("node_id", flat=True)
        ) == ["intake"]
        assert AuditEvent.objects.filter(case=case, action="TASK_RETURNED").count() == 1
        assert not case.state["scopes"]


def test_a_votes_last_two_signatures_at_once_decide_it_once(base_data, applicant, now):
    process_publish(source=VOTE_YAML.read_text(encoding="utf-8"))
    data = {"company_name": "北京示例科技有限公司"}
    tax_reviewer, nr_reviewer = base_data["tax_reviewer"], base_data["natural_resources_reviewer"]
    for _ in range(10):
        case = _submit(applicant, now, "test_vote", data)
        decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
        votes = {
            t.department.code: t
            for t in Task.objects.filter(case=case, node_id="vote").select_related("department")
        }
        claim_and_complete(
            task_id=votes["fire"].pk, actor=base_data["fire_reviewer"], outcome="approve", opinion="同意"
        )

        claim(votes["tax"].pk, tax_reviewer)  # 签收 before the race: the decisions race
        claim(votes["natural_resources"].pk, nr_reviewer)
        errors = _race(
            lambda t=votes["tax"]: task_complete(
                task_id=t.pk, actor=tax_reviewer, outcome="approve", opinion="同意"
            ),
            lambda t=votes["natural_resources"]: task_complete(
                task_id=t.pk, actor=nr_reviewer, outcome="approve", opinion="同意"
            ),
        )

        # two thirds approve with the first of them: the other's task is cancelled under it
        assert len(errors) == 1, errors
        assert isinstance(errors[0], Conflict), errors
        case = Case.objects.get(pk=case.pk)
        assert case.status == CaseStatus.APPROVED
        assert AuditEvent.objects.filter(case=case, action="CASE_APPROVED").count() == 1
        statuses = sorted(Task.objects.filter(case=case, node_id="vote").values_list("status", flat=True))
        assert statuses == ["cancelled", "completed", "completed"]
