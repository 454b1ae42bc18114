"""The task-flow endpoints: return, take-back, transfer, add/remove signer (issue 19, part A)."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Task
from tests.deciding import claim

from .conftest import api_client, assert_error

pytestmark = [pytest.mark.operations, pytest.mark.django_db]


@pytest.fixture
def review_case(base_data, applicant, now):
    from govflow.cases.services import case_create, case_submit
    from govflow.processes.services import process_publish
    from tests.cases.conftest import GOOD_DATA, REVIEW_YAML

    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def _live(case, node):
    return Task.objects.get(case=case, node_id=node, status__in=["open", "claimed"])


def test_return_lists_its_targets_and_sends_the_case_back(review_case, base_data):
    intake_reviewer, fire_reviewer = base_data["market_regulation_reviewer"], base_data["fire_reviewer"]
    claim(_live(review_case, "intake").pk, intake_reviewer)
    api_client(intake_reviewer).post(
        f"/api/v1/tasks/{_live(review_case, 'intake').pk}/decide/", {"outcome": "approve"}, format="json"
    )
    fire = _live(review_case, "fire")
    client = api_client(fire_reviewer)

    targets = client.get(f"/api/v1/tasks/{fire.pk}/return/").json()
    assert [t["node"] for t in targets] == ["intake"]

    unclaimed = client.post(
        f"/api/v1/tasks/{fire.pk}/return/", {"target": "intake", "opinion": "x"}, format="json"
    )
    assert_error(unclaimed, 409, "not_claimed")  # 退回 decides: 签收 first
    assert client.post(f"/api/v1/tasks/{fire.pk}/claim/").status_code == 200
    wrong = client.post(f"/api/v1/tasks/{fire.pk}/return/", {"target": "tax", "opinion": "x"}, format="json")
    error = assert_error(wrong, 400, "return_target_not_allowed")
    # the engine's refusal, in the request's language (Chinese by default)
    assert error["message"] == "'fire' 不能将案件退回到 'tax'（可退回至：intake）"
    assert error["fields"] == {"target": ["'fire' 不能将案件退回到 'tax'（可退回至：intake）"]}
    english = client.post(
        f"/api/v1/tasks/{fire.pk}/return/",
        {"target": "tax", "opinion": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert assert_error(english, 400, "return_target_not_allowed")["message"] == (
        "'fire' cannot send the case back to 'tax' (possible: intake)"
    )

    body = {"target": "intake", "opinion": "受理有误"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "return-1"}
    first = client.post(f"/api/v1/tasks/{fire.pk}/return/", body, format="json", **headers)
    again = client.post(f"/api/v1/tasks/{fire.pk}/return/", body, format="json", **headers)
    assert first.status_code == 200, first.content
    assert first.json()["outcome"] == "returned"
    assert again.json() == first.json()
    assert AuditEvent.objects.filter(case=review_case, action="TASK_RETURNED").count() == 1

    late = client.post(f"/api/v1/tasks/{fire.pk}/return/", body, format="json")
    assert_error(late, 409, "conflict")


def test_take_back_answers_the_task_again_and_409_once_claimed(review_case, base_data):
    reviewer = base_data["market_regulation_reviewer"]
    intake = _live(review_case, "intake")
    client = api_client(reviewer)
    client.post(f"/api/v1/tasks/{intake.pk}/claim/")
    client.post(f"/api/v1/tasks/{intake.pk}/decide/", {"outcome": "approve"}, format="json")

    back = client.post(f"/api/v1/tasks/{intake.pk}/take-back/")
    assert back.status_code == 200, back.content
    again = back.json()
    assert again["id"] != intake.pk
    assert (again["node"], again["status"], again["is_mine"]) == ("intake", "claimed", True)

    client.post(f"/api/v1/tasks/{again['id']}/decide/", {"outcome": "approve"}, format="json")
    api_client(base_data["tax_reviewer"]).post(f"/api/v1/tasks/{_live(review_case, 'tax').pk}/claim/")
    refused = client.post(f"/api/v1/tasks/{again['id']}/take-back/")
    assert_error(refused, 409, "take_back_closed")


def test_transfer_and_signers(review_case, base_data):
    reviewer = base_data["market_regulation_reviewer"]
    intake = _live(review_case, "intake")
    client = api_client(reviewer)
    client.post(f"/api/v1/tasks/{intake.pk}/claim/")

    added = client.post(
        f"/api/v1/tasks/{intake.pk}/add-signer/", {"department": "fire", "position": "before"}, format="json"
    )
    assert added.status_code == 200, added.content
    signer = (
        _live(review_case, "intake")
        if False
        else Task.objects.get(case=review_case, node_id="intake", department__code="fire", status="open")
    )
    blocked = client.post(f"/api/v1/tasks/{intake.pk}/decide/", {"outcome": "approve"}, format="json")
    assert_error(blocked, 409, "conflict")
    removed = client.post(f"/api/v1/tasks/{intake.pk}/remove-signer/", {"signer": signer.pk}, format="json")
    assert removed.status_code == 200, removed.content

    moved = client.post(
        f"/api/v1/tasks/{intake.pk}/transfer/", {"department": "tax", "opinion": "错派"}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json() == {"id": intake.pk, "department": "tax", "status": "open"}
    assert_error(client.get(f"/api/v1/tasks/{intake.pk}/"), 404, "not_found")
