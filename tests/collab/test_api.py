"""The task operations over the API: shapes, refusals in the one error shape, Idempotency-Key."""

from datetime import timedelta

import pytest
import time_machine

from govflow.collab.models import Consultation, Delegation, Urge
from govflow.collab.services import consultation_request
from tests.api.conftest import api_client

pytestmark = [pytest.mark.django_db, pytest.mark.operations]


def test_consult_answer_and_decide_over_the_api(held_intake, market_reviewer, fire_reviewer, now):
    reviewer = api_client(market_reviewer)
    with time_machine.travel(now, tick=False):
        asked = reviewer.post(
            f"/api/v1/tasks/{held_intake.pk}/consult/",
            {"departments": ["fire"], "question": "是否符合消防要求？", "days": 2},
            format="json",
            HTTP_IDEMPOTENCY_KEY="consult-1",
        )
        again = reviewer.post(
            f"/api/v1/tasks/{held_intake.pk}/consult/",
            {"departments": ["fire"], "question": "是否符合消防要求？", "days": 2},
            format="json",
            HTTP_IDEMPOTENCY_KEY="consult-1",
        )
        refused = reviewer.post(
            f"/api/v1/tasks/{held_intake.pk}/decide/",
            {"outcome": "approve", "opinion": "同意"},
            format="json",
        )
    assert asked.status_code == 200, asked.content
    assert again.json() == asked.json()
    assert Consultation.objects.count() == 1
    body = asked.json()
    assert body["waiting"] is True
    assert body["consultations"][0]["department"] == "fire"
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "consultation_open"

    consultation = body["consultations"][0]["id"]
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        listed = api_client(fire_reviewer).get("/api/v1/requests/").json()
        answered = api_client(fire_reviewer).post(
            f"/api/v1/consultations/{consultation}/answer/", {"opinion": "符合"}, format="json"
        )
        decided = reviewer.post(
            f"/api/v1/tasks/{held_intake.pk}/decide/",
            {"outcome": "approve", "opinion": "同意"},
            format="json",
        )
    assert [c["id"] for c in listed["consultations"]] == [consultation]
    assert answered.status_code == 200
    assert answered.json()["status"] == "answered"
    assert decided.status_code == 200


def test_outsiders_cannot_answer_or_withdraw(held_intake, market_reviewer, tax_reviewer, applicant, now):
    (made,) = consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="?", now=now
    )
    for user in (tax_reviewer, applicant):
        client = api_client(user)
        assert (
            client.post(
                f"/api/v1/consultations/{made.pk}/answer/", {"opinion": "x"}, format="json"
            ).status_code
            == 404
        )
        assert client.post(f"/api/v1/consultations/{made.pk}/withdraw/").status_code == 404
        assert client.post(f"/api/v1/tasks/{held_intake.pk}/consult/", {}, format="json").status_code == 404


def test_delegate_and_answer_over_the_api(held_intake, market_reviewer, market_colleague, now):
    reviewer = api_client(market_reviewer)
    sent = reviewer.post(
        f"/api/v1/tasks/{held_intake.pk}/delegate/",
        {"to_user": market_colleague.pk, "note": "请核实"},
        format="json",
    )
    assert sent.status_code == 200, sent.content
    delegation = Delegation.objects.get()
    blocked = reviewer.post(f"/api/v1/tasks/{held_intake.pk}/decide/", {"outcome": "approve"}, format="json")
    assert blocked.json()["error"]["code"] == "delegation_open"
    assert (
        api_client(market_colleague)
        .post(
            f"/api/v1/delegations/{delegation.pk}/answer/", {"opinion": "材料齐全，建议同意"}, format="json"
        )
        .status_code
        == 200
    )
    ops = reviewer.get(f"/api/v1/tasks/{held_intake.pk}/operations/").json()
    assert ops["delegations"][0]["opinion"] == "材料齐全，建议同意"
    assert (
        reviewer.post(
            f"/api/v1/tasks/{held_intake.pk}/decide/", {"outcome": "approve"}, format="json"
        ).status_code
        == 200
    )


def test_the_applicant_urges_over_the_api(submitted_case, applicant, now):
    client = api_client(applicant)
    url = f"/api/v1/cases/{submitted_case.reference}/urge/"
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        early = client.post(url, {}, format="json")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "too_early"
    with time_machine.travel(now + timedelta(days=1, hours=6), tick=False):
        urged = client.post(url, {"note": "请加快"}, format="json")
        twice = client.post(url, {}, format="json")
    assert urged.status_code == 201, urged.content
    assert urged.json()[0]["role"] == "applicant"
    assert twice.json()["error"]["code"] == "urged_today"
    assert Urge.objects.count() == 1


def test_cc_shows_the_sender_who_has_read_it(held_intake, market_reviewer, base_data):
    reviewer = api_client(market_reviewer)
    sent = reviewer.post(
        f"/api/v1/tasks/{held_intake.pk}/cc/", {"departments": ["tax"], "note": "知悉"}, format="json"
    )
    assert sent.status_code == 200, sent.content
    assert {c["read_at"] for c in sent.json()["copies"]} == {None}
    tax = api_client(base_data["tax_reviewer"])
    (item,) = tax.get("/api/v1/copies/").json()
    assert tax.post(f"/api/v1/copies/{item['id']}/read/").status_code == 200
    assert tax.get(f"/api/v1/cases/{item['case']}/").status_code == 200
    copies = reviewer.get(f"/api/v1/tasks/{held_intake.pk}/operations/").json()["copies"]
    read = {c["user"]: c["read_at"] is not None for c in copies}
    assert read[base_data["tax_reviewer"].pk] is True
    assert read[base_data["tax_head"].pk] is False


BAD_BODIES = [
    # (operation, body, the member refused)
    ("consult", {"departments": ["fire"], "question": "意见？", "days": "3"}, "days"),
    ("consult", {"departments": ["fire"], "question": "意见？", "days": 2.0}, "days"),
    ("consult", {"departments": ["fire"], "question": "意见？", "deadline": 3}, "deadline"),
    ("delegate", {"to_user": "7"}, "to_user"),
    ("delegate", {"to_user": True}, "to_user"),
    ("cc", {"departments": ["tax"], "notes": "x"}, "notes"),
]


@pytest.mark.parametrize(("operation", "body", "member"), BAD_BODIES)
def test_the_task_operations_refuse_what_their_schema_does_not_say(
    held_intake, market_reviewer, operation, body, member
):
    client = api_client(market_reviewer)

    response = client.post(f"/api/v1/tasks/{held_intake.pk}/{operation}/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [member]
    assert not Consultation.objects.exists()
    assert not Delegation.objects.exists()
