"""Messages from other systems (`signal` nodes): the service and the API.
A connected system (the integration role) delivers the message the case
waits for; the step moves on with the message's data as result.<node>;
a message id seen before is a duplicate; a message nobody waits for is a
409 and writes nothing; the deadline moves the case on without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from govflow.accounts.models import INTEGRATION
from govflow.audit.models import AuditEvent
from govflow.cases.models import Case
from govflow.cases.services import case_create, case_submit
from govflow.cases.signals import case_signal
from govflow.demo import ensure_user
from govflow.errors import Conflict, InvalidInput, NotFound
from govflow.processes.services import process_publish
from tests.api.conftest import api_client
from tests.cases.conftest import decide

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "signal_wait.yaml"


@pytest.fixture
def gateway(base_data):
    return ensure_user("payment_platform", password="x", groups=(INTEGRATION,))


@pytest.fixture
def waiting(base_data, applicant, market_reviewer, now):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="fee_test", data={"name": "甲公司"}, now=now)
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    decide(case, "review", market_reviewer, now=now)
    return case


def test_the_message_moves_the_case_on_with_its_data(waiting, gateway, now):
    receipt = case_signal(
        reference=waiting.reference, actor=gateway, name="fee_paid", data={"amount": 150}, message_id="p-1"
    )
    assert not receipt.duplicate
    assert receipt.nodes == ("route", "done")
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    event = AuditEvent.objects.get(case_id=waiting.pk, action="CASE_SIGNAL_RECEIVED")
    assert event.object_id == "fee_paid"
    assert event.actor_id == gateway.pk
    assert event.data["message_id"] == "p-1"
    assert event.data["keys"] == ["amount"]
    # The same message again: a duplicate, nothing changes.
    again = case_signal(reference=waiting.reference, actor=gateway, name="fee_paid", message_id="p-1")
    assert again.duplicate
    assert AuditEvent.objects.filter(action="CASE_SIGNAL_RECEIVED").count() == 1


def test_the_data_routes_the_case(waiting, gateway):
    case_signal(reference=waiting.reference, actor=gateway, name="fee_paid", data={"amount": 20})
    waiting.refresh_from_db()
    assert waiting.status == "rejected"


def test_refusals_write_nothing(waiting, gateway, applicant, market_reviewer):
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict, match="not waiting for the message 'refund'"):
        case_signal(reference=waiting.reference, actor=gateway, name="refund")
    for who in (applicant, market_reviewer):
        with pytest.raises(NotFound):
            case_signal(reference=waiting.reference, actor=who, name="fee_paid")
    with pytest.raises(NotFound):
        case_signal(reference="NOSUCHCASE", actor=gateway, name="fee_paid")
    with pytest.raises(InvalidInput):
        case_signal(reference=waiting.reference, actor=gateway, name="Fee-Paid")
    with pytest.raises(InvalidInput):
        case_signal(reference=waiting.reference, actor=gateway, name="fee_paid", message_id="a b")
    with pytest.raises(InvalidInput):
        case_signal(reference=waiting.reference, actor=gateway, name="fee_paid", data={"x": "a\x00b"})
    assert AuditEvent.objects.exclude(action="ACCESS_DENIED").count() == before
    waiting.refresh_from_db()
    assert waiting.status == "in_review"


def test_the_deadline_moves_the_case_on_without_the_message(waiting, gateway, now):
    from datetime import timedelta

    from govflow.cases.automation import timers_fire_due

    timers_fire_due(now=now + timedelta(days=30))
    waiting.refresh_from_db()
    assert waiting.status == "withdrawn"
    with pytest.raises(Conflict):
        case_signal(reference=waiting.reference, actor=gateway, name="fee_paid")


def test_the_api(waiting, gateway, applicant):
    client = api_client(gateway, language="en")
    url = f"/api/v1/cases/{waiting.reference}/signals/fee_paid/"
    answer = client.post(url, {"message_id": "p-9", "data": {"amount": 500}}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "case": waiting.reference,
        "signal": "fee_paid",
        "duplicate": False,
        "nodes": ["route", "done"],
        "status": "approved",
    }
    again = client.post(url, {"message_id": "p-9", "data": {"amount": 500}}, format="json")
    assert again.json()["duplicate"] is True
    other = client.post(f"/api/v1/cases/{waiting.reference}/signals/refund/", {}, format="json")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    denied = api_client(applicant).post(url, {}, format="json")
    assert denied.status_code == 404
    assert Case.objects.get(pk=waiting.pk).status == "approved"
