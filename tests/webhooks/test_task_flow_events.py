"""Webhook events of the operations that move a case (issue 19, part A)."""

import json

import pytest

from govflow.cases.models import Task
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.cases.services import case_create, case_submit
from govflow.webhooks.models import Delivery
from tests.deciding import claim_and_add_signer, claim_and_complete, claim_and_return

from .conftest import GOOD_DATA, register

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

KINDS = ["task.returned", "decision.taken_back", "task.transferred", "task.signer_added"]


def _live(case, node):
    return Task.objects.get(case=case, node_id=node, status__in=["open", "claimed"])


def test_each_operation_is_one_webhook_event(review_template, base_data, applicant, process_admin, now):
    register(process_admin, "http://127.0.0.1:9/hook", kinds=KINDS)
    fire_endpoint, _secret = register(
        process_admin, "http://127.0.0.1:9/fire", kinds=KINDS, department_code="fire", name="fire"
    )
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    reviewer = base_data["market_regulation_reviewer"]
    intake = _live(case, "intake")

    claim_and_add_signer(task_id=intake.pk, actor=reviewer, department="fire", position="after", now=now)
    claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="reject", opinion="不符合", now=now)
    # a rejection ends the case: nothing to take back; start again
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    intake = _live(case, "intake")
    claim_and_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    task_take_back(task_id=intake.pk, actor=reviewer, now=now)
    again = _live(case, "intake")
    claim_and_complete(task_id=again.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    task_transfer(
        task_id=_live(case, "tax").pk,
        actor=base_data["tax_reviewer"],
        department="fire",
        opinion="错派",
        now=now,
    )
    claim_and_return(
        task_id=_live(case, "fire").pk,
        actor=base_data["fire_reviewer"],
        target="intake",
        opinion="重审",
        now=now,
    )

    system = Delivery.objects.exclude(endpoint=fire_endpoint).order_by("pk")
    assert [d.kind for d in system] == [
        "task.signer_added",
        "decision.taken_back",
        "task.transferred",
        "task.returned",
    ]
    returned = json.loads(system.last().body)
    assert returned["type"] == "cn.govflow.task.returned"
    assert returned["data"]["operation"]["target"] == "intake"
    assert returned["data"]["operation"]["opinion"] == "重审"
    # the fire department hears of the signer it was added as, and of the task transferred to it
    assert "task.signer_added" in set(
        Delivery.objects.filter(endpoint=fire_endpoint).values_list("kind", flat=True)
    )
