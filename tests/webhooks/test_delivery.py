"""Webhooks end to end: cases moved by the services, a real receiver on
127.0.0.1, the outbox consumer and the redrive job driven in this process."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import case_create, case_submit, case_withdraw
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_handle
from govflow.webhooks.delivery import backoff_seconds, delivery_attempt, webhooks_redrive
from govflow.webhooks.models import Delivery, DeliveryStatus
from govflow.webhooks.services import endpoint_rotate_secret, endpoint_set_active, publish_event
from tests.deciding import claim_and_complete

from .conftest import GOOD_DATA, Receiver, drain, register, signature_ok

pytestmark = pytest.mark.django_db


def submit(applicant, now):
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def decide(case, node_id, user, now, outcome="approve", opinion="同意"):
    task = Task.objects.get(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    return claim_and_complete(task_id=task.pk, actor=user, outcome=outcome, opinion=opinion, now=now)


def later(**delta) -> timedelta:
    return timezone.now() + timedelta(**delta)


def test_a_receiver_gets_each_event_once_signed_as_a_cloudevent(
    review_template, base_data, applicant, process_admin, receiver, now
):
    # Given a system endpoint subscribed to the four case events
    endpoint, secret = register(process_admin, receiver.url)

    # When a case is submitted, reviewed in three steps and approved
    case = submit(applicant, now)
    drain()
    decide(case, "intake", base_data["market_regulation_reviewer"], now)
    decide(case, "fire", base_data["fire_reviewer"], now)
    decide(case, "tax", base_data["tax_reviewer"], now)
    drain()
    drain()  # a second pass (a redelivered batch) sends nothing more

    # Then each event arrived exactly once
    assert Counter(receiver.kinds()) == {
        "case.submitted": 1,
        "task.created": 3,  # intake, fire, tax
        "decision.made": 3,
        "case.approved": 1,
    }
    events = receiver.events()
    assert len({event["id"] for event in events}) == len(events)
    # signed with the endpoint's secret, with the event id and a user agent in the headers
    for headers, body in receiver.requests:
        assert signature_ok(secret, headers["govflow-signature"], body)
        assert headers["govflow-event-id"] == json.loads(body)["id"]
        assert headers["user-agent"].startswith("govflow-webhooks/")
        assert headers["content-type"].startswith("application/cloudevents+json")
    # as structured CloudEvents 1.0 about the case
    submitted = next(e for e in events if e["type"] == "cn.govflow.case.submitted")
    assert submitted["specversion"] == "1.0"
    assert submitted["subject"] == case.reference
    assert submitted["datacontenttype"] == "application/json"
    assert submitted["time"].endswith("Z")
    assert submitted["source"]
    uuid.UUID(submitted["id"])
    assert submitted["data"]["case"]["reference"] == case.reference
    assert submitted["data"]["service"]["code"] == "test_review"
    assert submitted["data"]["form"]["company_name"] == GOOD_DATA["company_name"]
    created = [e["data"]["task"] for e in events if e["type"] == "cn.govflow.task.created"]
    assert sorted((t["node"], t["department"]) for t in created) == [
        ("fire", "fire"),
        ("intake", "market_regulation"),
        ("tax", "tax"),
    ]
    decisions = [e["data"]["decision"] for e in events if e["type"] == "cn.govflow.decision.made"]
    assert {(d["node"], d["department"], d["outcome"]) for d in decisions} == {
        ("intake", "market_regulation", "approve"),
        ("fire", "fire", "approve"),
        ("tax", "tax", "approve"),
    }
    approved = next(e for e in events if e["type"] == "cn.govflow.case.approved")
    assert approved["data"]["case"]["status"] == "approved"
    assert set(Delivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"delivered"}


def test_a_receiver_that_is_down_gets_the_event_after_it_comes_back(
    review_template, applicant, process_admin, now
):
    # Given an endpoint whose receiver is down (its port is closed)
    receiver = Receiver().start()
    receiver.stop()
    endpoint, secret = register(process_admin, receiver.url, kinds=["case.submitted"])

    # When a case is submitted, the first attempt fails and a retry is scheduled
    case = submit(applicant, now)
    drain()
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert "connection failed" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()
    # the outbox row itself is done: the receiver being down is the delivery's business
    assert not OutboxMessage.objects.filter(topic="webhook", done_at__isnull=True).exists()
    # and before the backoff runs out the redrive job leaves it alone
    assert webhooks_redrive() == 0

    # When the receiver is still down at the next attempt
    assert webhooks_redrive(now=later(hours=2)) == 1
    drain()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)

    # Then, once it is back on its port, the next redrive delivers the event
    try:
        receiver.start()
        assert webhooks_redrive(now=later(hours=4)) == 1
        drain()
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert delivery.last_error == ""
    [(headers, body)] = receiver.requests
    assert signature_ok(secret, headers["govflow-signature"], body)
    assert json.loads(body)["subject"] == case.reference
    assert headers["govflow-delivery-attempt"] == "3"
    # and nothing is due any more
    assert webhooks_redrive(now=later(hours=30)) == 0


def test_a_non_2xx_answer_is_retried_with_the_same_event_id_and_body(
    review_template, applicant, process_admin, receiver, now
):
    # Given a receiver that answers 500, then 302 (redirects are not followed), then 200
    receiver.answers = [500, 302, 200]
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)

    drain()
    for hours in (2, 4):
        webhooks_redrive(now=later(hours=hours))
        drain()

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    bodies = [body for _headers, body in receiver.requests]
    assert len(bodies) == 3
    assert len(set(bodies)) == 1  # the receiver can dedupe by the event id
    assert {h["govflow-event-id"] for h, _b in receiver.requests} == {str(delivery.event_id)}


def test_redelivering_an_attempt_sends_nothing_twice(
    review_template, applicant, process_admin, receiver, now
):
    # Given an event delivered once
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)
    drain()
    assert len(receiver.requests) == 1
    delivery = Delivery.objects.get(endpoint=endpoint)
    message = OutboxMessage.objects.get(topic="webhook")

    # When the same outbox row is consumed again (a redelivered broker message),
    # or the attempt is run again directly, or the redrive job runs
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None)
    outbox_handle(message.pk)
    again = delivery_attempt(delivery_id=delivery.pk, attempt=1)
    queued = webhooks_redrive(now=later(days=2))

    # Then nothing more reached the receiver
    assert again is None
    assert queued == 0
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_two_queued_rows_for_one_attempt_make_one_post(review_template, applicant, process_admin, now):
    # Given a delivery whose receiver was down, and two redrives of the same
    # due attempt (the second after the first one's lease ran out)
    receiver = Receiver().start()
    receiver.stop()
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)
    drain()
    assert webhooks_redrive(now=later(hours=2)) == 1
    assert webhooks_redrive(now=later(hours=3)) == 1
    assert OutboxMessage.objects.filter(topic="webhook", done_at__isnull=True).count() == 2

    # When both rows are consumed with the receiver up
    try:
        receiver.start()
        drain()
    finally:
        receiver.stop()

    # Then the receiver got the event once
    assert len(receiver.requests) == 1
    assert Delivery.objects.get(endpoint=endpoint).attempts == 2


def test_secret_fields_are_absent_unless_the_endpoint_is_cleared(
    review_template, applicant, process_admin, receiver, now
):
    # Given two system endpoints on one receiver, one cleared for secret fields
    plain, plain_secret = register(
        process_admin, receiver.url + "?plain", kinds=["case.submitted"], name="plain"
    )
    cleared, _cleared_secret = register(
        process_admin,
        receiver.url + "?cleared",
        kinds=["case.submitted"],
        name="cleared",
        cleared_for_secrets=True,
    )

    case = submit(applicant, now)
    drain()

    bodies = {
        Delivery.objects.get(endpoint=e).endpoint_id: json.loads(Delivery.objects.get(endpoint=e).body)
        for e in (plain, cleared)
    }
    # The uncleared endpoint has no ID number anywhere in what it received, and is told it was withheld
    plain_data = bodies[plain.pk]["data"]
    assert "rep_id_number" not in plain_data["form"]
    assert plain_data["withheld"] == ["rep_id_number"]
    plain_raw = next(
        body
        for headers, body in receiver.requests
        if signature_ok(plain_secret, headers["govflow-signature"], body)
    )
    assert GOOD_DATA["rep_id_number"].encode() not in plain_raw
    # The cleared one has it, and the disclosure is in the audit trail
    assert bodies[cleared.pk]["data"]["form"]["rep_id_number"] == GOOD_DATA["rep_id_number"]
    assert bodies[cleared.pk]["data"]["withheld"] == []
    disclosed = AuditEvent.objects.get(action="WEBHOOK_SECRET_FIELDS_SENT")
    assert (disclosed.case_id, disclosed.object_id) == (case.pk, str(cleared.pk))
    assert disclosed.data["fields"] == ["rep_id_number"]
    assert not AuditEvent.objects.filter(
        action="WEBHOOK_SECRET_FIELDS_SENT", object_id=str(plain.pk)
    ).exists()


def test_a_department_endpoint_hears_only_of_cases_its_department_works_on(
    review_template, base_data, applicant, process_admin, receiver, now
):
    # Given an endpoint of the fire department, cleared for secrets (but the
    # template clears no secret field for fire)
    _endpoint, _secret = register(
        process_admin,
        receiver.url,
        kinds=["case.submitted", "task.created", "decision.made"],
        department_code="fire",
        cleared_for_secrets=True,
    )

    # When a case is submitted (only market regulation has a task) ...
    case = submit(applicant, now)
    drain()
    assert receiver.requests == []

    # ... and intake approves, which opens the fire and tax reviews
    decide(case, "intake", base_data["market_regulation_reviewer"], now)
    drain()

    # Then fire hears of the case from then on, without the secret field
    assert Counter(receiver.kinds()) == {"decision.made": 1, "task.created": 2}
    for event in receiver.events():
        assert "rep_id_number" not in event["data"]["form"]
    # and a case fire never works on stays unknown to it
    submit(applicant, now)
    drain()
    assert len(receiver.requests) == 3


def test_rejection_and_withdrawal_are_sent_but_a_withdrawn_draft_is_not(
    review_template, base_data, applicant, process_admin, receiver, now
):
    register(process_admin, receiver.url, kinds=["case.rejected", "case.withdrawn"])
    rejected = submit(applicant, now)
    decide(
        rejected,
        "intake",
        base_data["market_regulation_reviewer"],
        now,
        outcome="reject",
        opinion="不符合条件",
    )
    withdrawn = submit(applicant, now)
    case_withdraw(case_id=withdrawn.pk, actor=applicant, reason="不再需要", now=now)
    draft = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_withdraw(case_id=draft.pk, actor=applicant, now=now)
    drain()

    assert sorted((e["type"], e["subject"]) for e in receiver.events()) == sorted(
        [("cn.govflow.case.rejected", rejected.reference), ("cn.govflow.case.withdrawn", withdrawn.reference)]
    )


def test_a_delivery_fails_for_good_when_its_time_is_up(
    review_template, applicant, process_admin, settings, now
):
    # Given deliveries that give up at once
    settings.GOVFLOW_WEBHOOK_GIVE_UP_SECONDS = 0
    receiver = Receiver().start()
    receiver.stop()
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)

    drain()

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert webhooks_redrive(now=later(days=3)) == 0


def test_a_deactivated_endpoint_gets_nothing_new_and_its_pending_deliveries_fail(
    review_template, applicant, process_admin, receiver, now
):
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)  # staged while active
    endpoint_set_active(actor=process_admin, endpoint_id=endpoint.pk, active=False)
    submit(applicant, now)  # not staged at all

    drain()

    assert receiver.requests == []
    [delivery] = Delivery.objects.filter(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "the endpoint is deactivated"


def test_after_a_rotation_both_secrets_sign_for_a_while(
    review_template, applicant, process_admin, receiver, now
):
    endpoint, old = register(process_admin, receiver.url, kinds=["case.submitted"])
    _endpoint, new = endpoint_rotate_secret(actor=process_admin, endpoint_id=endpoint.pk)
    submit(applicant, now)
    drain()

    [(headers, body)] = receiver.requests
    assert new != old
    assert signature_ok(new, headers["govflow-signature"], body)
    assert signature_ok(old, headers["govflow-signature"], body)
    assert not signature_ok("whsec_wrong", headers["govflow-signature"], body)
    assert not signature_ok(new, headers["govflow-signature"], body + b" ")


def test_publish_event_reaches_subscribers_inside_the_callers_transaction(
    review_template, base_data, applicant, process_admin, receiver, now
):
    # Given a market regulation endpoint and a system one for certificates
    register(process_admin, receiver.url, kinds=["certificate.issued"], department_code="market_regulation")
    register(process_admin, receiver.url, kinds=["certificate.issued"], name="registry")
    register(process_admin, receiver.url, kinds=["certificate.revoked"], name="other kinds")
    case = submit(applicant, now)

    publish_event(
        "certificate.issued",
        case_id=case.pk,
        subject="GF-CERT-0001",
        data={
            "certificate": {"number": "GF-CERT-0001", "type": "test_licence"},
            "department": "market_regulation",
        },
    )
    drain()

    events = receiver.events()
    assert [e["type"] for e in events] == ["cn.govflow.certificate.issued"] * 2
    assert events[0]["id"] == events[1]["id"]
    assert events[0]["data"]["certificate"]["number"] == "GF-CERT-0001"
    assert events[0]["data"]["case"]["reference"] == case.reference
    with pytest.raises(ValueError):
        publish_event("certificate.lost", case_id=None, subject="x", data={})


def test_the_backoff_grows_is_capped_and_jittered(settings):
    settings.GOVFLOW_WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.GOVFLOW_WEBHOOK_RETRY_CAP_SECONDS = 3600
    import random

    rng = random.Random(7)
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)]:
        waits = [backoff_seconds(attempts, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 100  # jittered, not one fixed wait


def test_with_no_endpoint_case_changes_cost_one_small_query_in_all_and_stage_nothing(
    review_template, base_data, applicant, now
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        case = submit(applicant, now)
        decide(case, "intake", base_data["market_regulation_reviewer"], now)

    touching = [q["sql"] for q in queries if "webhooks_" in q["sql"]]
    # The first change set reads the endpoint table; the second finds the
    # (empty) set of subscribed kinds in the cache.
    assert len(touching) == 1
    assert touching[0].lstrip().upper().startswith("SELECT")
    assert not Delivery.objects.exists()
    assert not OutboxMessage.objects.filter(topic="webhook").exists()


def test_a_new_endpoint_hears_the_very_next_event_although_the_kinds_were_cached(
    review_template, base_data, applicant, process_admin, receiver, now
):
    submit(applicant, now)  # caches "nobody subscribes"
    register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)
    assert Delivery.objects.filter(kind="case.submitted").count() == 1


def test_the_beat_job_is_scheduled_and_its_task_redrives(
    review_template, applicant, process_admin, receiver, now
):
    from govflow.celery import app
    from govflow.webhooks.tasks import redrive

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "govflow.webhooks.redrive" in schedule
    # Given a delivery whose first outbox row was lost before any attempt
    endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    submit(applicant, now)
    OutboxMessage.objects.filter(topic="webhook").delete()

    # When the beat job runs after the lease, and a worker drains its row
    assert redrive.apply(kwargs={"now": later(minutes=5).isoformat()}).get() == 1
    drain()

    assert Delivery.objects.get(endpoint=endpoint).status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1
