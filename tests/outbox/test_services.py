"""Outbox delivery in one process: bounded attempts with backoff, giving up
into an incident, the sweeper's choice of rows, draining past a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.incidents.models import Incident, IncidentStatus
from govflow.outbox import services as outbox
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import (
    RetryLater,
    backoff_seconds,
    outbox_drain,
    outbox_handle,
    outbox_resend_stale,
)

pytestmark = pytest.mark.django_db
TOPIC = "test_topic"


class Probe:
    """A consumer that fails `failures` times, then succeeds; counts calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[dict, str]] = []

    def __call__(self, payload, key):
        self.calls.append((payload, key))
        if len(self.calls) <= self.failures:
            raise ConnectionError("the registry did not answer")


@pytest.fixture
def probe(monkeypatch):
    probe = Probe()
    outbox.consumers()  # the real ones first, so the test one is added to a complete registry
    monkeypatch.setitem(outbox._consumers, TOPIC, probe)
    return probe


def row(key="k1", topic=TOPIC, **fields) -> OutboxMessage:
    fields.setdefault("created_at", timezone.now() - timedelta(minutes=5))
    return OutboxMessage.objects.create(key=key, topic=topic, payload={"n": 1}, **fields)


def test_a_delivered_row_is_not_consumed_again(probe):
    message = row()
    assert outbox_handle(message.pk) is True
    assert outbox_handle(message.pk) is False
    assert probe.calls == [({"n": 1}, "k1")]
    message.refresh_from_db()
    assert message.done_at is not None
    assert message.attempts == 1


def test_failures_back_off_exponentially_then_give_up_into_one_incident(probe, settings):
    settings.GOVFLOW_OUTBOX_MAX_ATTEMPTS = 4
    settings.GOVFLOW_OUTBOX_RETRY_BASE_SECONDS = 2
    probe.failures = 100
    message = row()
    waits = []
    for _ in range(3):
        with pytest.raises(RetryLater) as later:
            outbox_handle(message.pk)
        waits.append(later.value.countdown)
        message.refresh_from_db()
        assert message.next_attempt_at > timezone.now() + timedelta(seconds=later.value.countdown - 1)
    assert waits == [2, 4, 8]

    # The last allowed attempt fails: given up, no exception, an incident
    assert outbox_handle(message.pk) is False
    message.refresh_from_db()
    assert message.attempts == 4
    assert message.failed_at is not None
    assert message.done_at is None
    assert "registry did not answer" in message.last_error
    incident = Incident.objects.get(message=message)
    assert incident.status == IncidentStatus.OPEN
    assert incident.attempts == 4
    assert incident.kind == "delivery"

    # A poison row is never run again, by a redelivery or by the sweeper
    assert outbox_handle(message.pk) is False
    assert outbox_resend_stale(older_than=timedelta(0), now=timezone.now() + timedelta(days=1)) == 0
    assert len(probe.calls) == 4


def test_attempts_that_never_reported_back_are_given_up_without_running(probe, settings):
    # Each attempt is counted before the consumer runs: five that killed their worker
    message = row(attempts=settings.GOVFLOW_OUTBOX_MAX_ATTEMPTS)
    assert outbox_handle(message.pk) is False
    assert probe.calls == []
    incident = Incident.objects.get(message=message)
    assert "worker was lost" in incident.error


def test_backoff_is_capped():
    assert backoff_seconds(1) == pytest.approx(2.0)
    assert backoff_seconds(30) == outbox.MAX_BACKOFF_SECONDS


def test_the_sweeper_resends_only_rows_a_worker_should_have_finished(probe):
    now = timezone.now()
    lost = row("lost")  # never dispatched, five minutes old
    row("fresh", created_at=now)
    row("done", done_at=now)
    row("failed", failed_at=now)
    row("backing-off", next_attempt_at=now + timedelta(seconds=8))
    row("in-progress", next_attempt_at=now + outbox.ATTEMPT_LEASE)
    retry_lost = row("retry-lost", next_attempt_at=now - timedelta(minutes=2))
    row("no-consumer", topic="nobody_listens")

    sent = []
    original = outbox.dispatch

    def spy(ids):
        sent.extend(ids)
        return original(ids)

    outbox.dispatch = spy
    try:
        assert outbox_resend_stale(now=now) == 2
    finally:
        outbox.dispatch = original
    assert sorted(sent) == sorted([lost.pk, retry_lost.pk])


def test_drain_goes_past_a_failing_row(probe):
    probe.failures = 1
    first, second = row("a"), row("b")
    assert outbox_drain(topics=[TOPIC]) == 1
    assert [key for _, key in probe.calls] == ["a", "b"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.done_at is None
    assert first.attempts == 1
    assert second.done_at is not None


@pytest.mark.postgres
def test_a_duplicate_arriving_while_the_row_is_attempted_is_skipped_without_spending_an_attempt(probe):
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    message = row()
    db = connection.settings_dict
    # Another worker's session is attempting the row: it holds the row's lock.
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [outbox._ATTEMPT_LOCK_SPACE | message.pk])
        assert outbox_handle(message.pk) is False
        message.refresh_from_db()
        assert (probe.calls, message.attempts, message.done_at) == ([], 0, None)
    # Its session ended (a worker that died mid-attempt): the lock goes as soon
    # as PostgreSQL has ended that backend, and the row is free.
    _wait_for_advisory_locks_to_go()
    assert outbox_handle(message.pk) is True
    message.refresh_from_db()
    assert (len(probe.calls), message.attempts) == (1, 1)
    assert message.done_at is not None


def _wait_for_advisory_locks_to_go() -> None:
    import time

    from django.db import connection

    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                return
            time.sleep(0.01)
