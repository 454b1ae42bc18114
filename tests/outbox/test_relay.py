"""The outbox relay in one process: which rows it publishes and marks, what
a broker outage leaves, the request path that publishes nothing, and on
PostgreSQL the NOTIFY an insert sends on commit (and not on rollback).
tests/faults/test_relay.py kills real relays and workers."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from govflow.outbox import relay, services
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit, outbox_relay_batch, outbox_resend_stale

TOPIC = "test_topic"


@pytest.fixture
def published(monkeypatch) -> list[list[int]]:
    """The broker messages the relay publishes (lists of row ids)."""
    sent: list[list[int]] = []
    services.consumers()
    monkeypatch.setitem(services._consumers, TOPIC, lambda payload, key: None)
    monkeypatch.setattr(services, "publish", lambda ids: sent.append(list(ids)))
    return sent


def row(key: str, **fields) -> OutboxMessage:
    fields.setdefault("created_at", timezone.now())
    fields.setdefault("topic", TOPIC)
    return OutboxMessage.objects.create(key=key, payload={}, **fields)


@pytest.mark.django_db
def test_the_relay_publishes_each_waiting_row_once_in_batches_and_marks_it(published):
    now = timezone.now()
    waiting = [row(f"w{n}") for n in range(5)]
    row("done", done_at=now)
    row("failed", failed_at=now)
    row("attempted", next_attempt_at=now + services.ATTEMPT_LEASE)
    row("no-consumer", topic="nobody_listens")

    assert outbox_relay_batch(limit=2, now=now) == 2
    assert relay.relay_drain(batch=2) == 3
    assert relay.relay_drain(batch=2) == 0
    assert published == [[waiting[0].pk, waiting[1].pk], [waiting[2].pk, waiting[3].pk], [waiting[4].pk]]
    # Marked published: the sweeper may re-send one only once it is stale
    marked = OutboxMessage.objects.filter(pk__in=[m.pk for m in waiting])
    assert all(m.next_attempt_at is not None for m in marked)
    assert outbox_resend_stale(older_than=timedelta(seconds=30), now=timezone.now()) == 0


@pytest.mark.django_db
def test_a_broker_that_is_down_leaves_the_rows_waiting_for_the_next_try(published, monkeypatch):
    message = row("a")

    def down(ids):
        raise ConnectionError("the broker refused the connection")

    monkeypatch.setattr(services, "publish", down)
    with pytest.raises(ConnectionError):
        outbox_relay_batch()
    message.refresh_from_db()
    assert message.next_attempt_at is None
    monkeypatch.setattr(services, "publish", lambda ids: published.append(list(ids)))
    assert outbox_relay_batch() == 1
    assert published == [[message.pk]]


@pytest.mark.django_db
def test_a_relay_that_dies_between_publishing_and_its_commit_leaves_the_rows_to_publish_again(
    published, monkeypatch
):
    message = row("a")

    def publish_then_die(ids):
        published.append(list(ids))
        raise KeyboardInterrupt  # the process is going: its transaction rolls back

    monkeypatch.setattr(services, "publish", publish_then_die)
    with pytest.raises(KeyboardInterrupt):
        outbox_relay_batch()
    monkeypatch.setattr(services, "publish", lambda ids: published.append(list(ids)))
    assert outbox_relay_batch() == 1
    # Published twice: the consumer's idempotency (done_at, the attempt lock) absorbs it
    assert published == [[message.pk], [message.pk]]


@pytest.mark.django_db
def test_with_the_relay_the_request_publishes_nothing_and_in_request_mode_it_does_after_commit(
    published, settings, django_capture_on_commit_callbacks
):
    sent = []
    original = services.dispatch
    services.dispatch = lambda ids: sent.append(ids) or len(ids)
    try:
        settings.GOVFLOW_OUTBOX_PUBLISH = "relay"
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            dispatch_on_commit([row("a").pk])
        assert (callbacks, sent) == ([], [])
        settings.GOVFLOW_OUTBOX_PUBLISH = "request"
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_on_commit([row("b").pk])
        assert len(sent) == 1
    finally:
        services.dispatch = original


@pytest.mark.django_db
def test_relay_run_publishes_what_waits_then_stops_when_asked(published):
    message = row("a")
    rounds: list[int] = []

    def should_stop() -> bool:
        rounds.append(1)
        return len(rounds) > 2

    relay.relay_run(poll_seconds=0.01, should_stop=should_stop)
    assert published == [[message.pk]]


@contextmanager
def notifying():
    """The NOTIFY switched on for this connection (off by default, migration
    outbox 0007)."""
    with connection.cursor() as cursor:
        cursor.execute("SET govflow.outbox_notify = 'on'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET govflow.outbox_notify")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_insert_notifies_the_relay_on_commit_and_never_for_a_rollback():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    listener = relay.Listener()
    listener.open()
    try:
        with notifying():
            assert listener.wait(0.05) is False

            with transaction.atomic():
                row("rolled-back")
                transaction.set_rollback(True)
            assert not OutboxMessage.objects.filter(key="rolled-back").exists()
            assert listener.wait(0.3) is False

            with transaction.atomic():
                row("a")
                row("b")  # one signal for the transaction
                assert listener.wait(0.3) is False  # not heard before the commit
            assert listener.wait(5) is True
            assert listener.wait(0.3) is False

            # An admin's retry makes a given-up row pending again: the relay hears that too
            given_up = row("given-up", failed_at=timezone.now(), attempts=5)
            assert listener.wait(5) is True
            OutboxMessage.objects.filter(pk=given_up.pk).update(failed_at=None, attempts=0)
            assert listener.wait(5) is True
    finally:
        listener.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_signal_is_off_by_default_so_writers_commit_in_parallel_and_can_be_switched_on(published):
    """Notifying commits cannot share a WAL flush (bench/relay_modes.py): by
    default the insert is silent and the relay polls; `govflow.outbox_notify
    = 'on'` (per database or session) brings the signal back."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    listener = relay.Listener()
    listener.open()
    try:
        row("quiet")
        assert listener.wait(0.3) is False
        with notifying():
            row("heard")
            assert listener.wait(5) is True
        # The relay polls: what was inserted without a signal is published all the same
        assert outbox_relay_batch() == 2
    finally:
        listener.close()


def test_a_batch_is_published_by_name_to_the_task_a_worker_runs(monkeypatch):
    """The services send the batch task by name (they do not import the task
    module, which imports them): the name is the registered task's, and the
    message goes to the project's Celery app."""
    from govflow.celery import app
    from govflow.outbox.tasks import deliver_batch

    sent: list[tuple] = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    services.publish((3, 5))
    assert sent == [(deliver_batch.name, {"args": [[3, 5]], "retry": False})]
    assert deliver_batch.name in app.tasks
