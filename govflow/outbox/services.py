"""Publishing and consuming outbox rows.

Producers (`govflow.cases.bridge.Changes.flush`) insert rows in their
transaction; the outbox relay (govflow.outbox.relay) publishes them to the
broker in batches once they are committed, and the sweeper re-sends what
the broker lost. Consumers run through `outbox_handle`, which is
idempotent: a row already done is skipped, so a redelivered Celery message,
or the sweeper re-sending a row the broker lost, does nothing twice.

Delivery is bounded. Each attempt is counted in the row before the consumer
runs, so an attempt that kills its worker (and is redelivered by the broker
because of `reject_on_worker_lost`) counts too. A failed attempt is retried
after an exponential backoff; after `GOVFLOW_OUTBOX_MAX_ATTEMPTS` the row is
given up and an incident is opened for an admin (govflow.incidents). A
poison message therefore runs at most that many times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from govflow.celery import app as celery_app

from . import hooks
from .models import OutboxMessage

log = logging.getLogger(__name__)

# The task that consumes a batch (govflow.outbox.tasks.deliver_batch), sent by
# name: the task wraps the services, so the services do not import it back.
DELIVER_BATCH = "govflow.outbox.deliver_batch"

# A consumer gets the row's payload and its key (unique per effect: the
# idempotency key of whatever the consumer writes).
Consumer = Callable[[dict[str, Any], str], None]
_consumers: dict[str, Consumer] = {}
_discovered: list[bool] = []

# While an attempt runs the sweeper leaves the row alone for this long; a
# worker that died is covered sooner by the broker's redelivery.
ATTEMPT_LEASE = timedelta(minutes=2)
MAX_BACKOFF_SECONDS = 300.0


class RetryLater(Exception):
    """A consumer failed and the row may be tried again in `countdown` seconds."""

    def __init__(self, message_id: int, countdown: float, error: str) -> None:
        super().__init__(message_id, countdown, error)
        self.message_id = message_id
        self.countdown = countdown
        self.error = error

    def __str__(self) -> str:
        return f"outbox row {self.message_id} failed ({self.error}); retry in {self.countdown:g} s"


def consumer(topic: str) -> Callable[[Consumer], Consumer]:
    def register(fn: Consumer) -> Consumer:
        _consumers[topic] = fn
        return fn

    return register


def consumers() -> dict[str, Consumer]:
    # Importing each app's `consumers` module registers its consumers; done
    # here so every entry point (worker, drain, reconcile) sees the same set.

    if not _discovered:
        autodiscover_modules("consumers")
        _discovered.append(True)

    return _consumers


def max_attempts() -> int:
    return int(getattr(settings, "GOVFLOW_OUTBOX_MAX_ATTEMPTS", 5))


def backoff_seconds(attempts: int) -> float:
    """Wait after the `attempts`-th failure: base, 2 x base, 4 x base ..."""
    base = float(getattr(settings, "GOVFLOW_OUTBOX_RETRY_BASE_SECONDS", 2.0))
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def outbox_handle(message_id: int) -> bool:
    """Consume one row; returns False when there was nothing to do (done,
    given up, unknown topic). A failed attempt raises RetryLater (the Celery
    task re-sends it after the backoff) unless it was the last allowed one:
    then the row is given up, an incident is opened and False is returned."""
    with _attempt_lock(message_id) as alone:
        if not alone:
            return False  # another worker is running this row now; it reports the outcome
        message = _attempt_begin(message_id)
        if message is None:
            return False
        try:
            consumers()[message.topic](dict(message.payload), message.key)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning(
                "outbox %s (%s) attempt %d failed: %s", message.key, message.topic, message.attempts, error
            )
            retry_in = _attempt_failed(message.pk, error)
            if retry_in is None:
                return False
            raise RetryLater(message.pk, retry_in, error) from exc
        _attempt_succeeded(message)
        return True


# Advisory lock keys of outbox attempts: the row id in a namespace of its own
# (bit 62 set) of PostgreSQL's 64-bit key space.
_ATTEMPT_LOCK_SPACE = 1 << 62


@contextmanager
def _attempt_lock(message_id: int) -> Iterator[bool]:
    """Hold a session-level advisory lock on the row while it is attempted;
    yields False when another session holds it. A duplicate message (the
    sweeper re-sending a row that was only queued, a broker redelivery) then
    neither runs the consumer a second time concurrently nor spends one of
    the row's attempts. The lock goes with the connection, so a worker that
    dies mid-attempt frees the row for the broker's redelivery at once.
    (A pooler in transaction mode would break session locks: point workers
    at PostgreSQL or at a session-mode pool; docs/deploy.md.) Other databases
    (the embedded SQLite default) run one worker and take no lock."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _ATTEMPT_LOCK_SPACE | message_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        alone = bool(cursor.fetchone()[0])
    try:
        yield alone
    finally:
        if alone:
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _attempt_begin(message_id: int) -> OutboxMessage | None:
    """Count the attempt (committed before the consumer runs) and return the
    row, or None when there is nothing to do."""
    now = timezone.now()
    counted = OutboxMessage.objects.filter(
        pk=message_id,
        done_at__isnull=True,
        failed_at__isnull=True,
        attempts__lt=max_attempts(),
        topic__in=list(consumers()),
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + ATTEMPT_LEASE)
    if counted:
        return OutboxMessage.objects.get(pk=message_id)
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.done_at is not None or message.failed_at is not None:
            return None
        if message.topic not in consumers():
            return None
        if message.attempts >= max_attempts():
            # Every allowed attempt started and none reported back: each one
            # lost its worker (a poison message). Give up without running it.
            _give_up(message, now, message.last_error or "the attempt did not finish (its worker was lost)")
    return None


def _attempt_failed(message_id: int, error: str) -> float | None:
    """Record a failure; the seconds to wait before the next attempt, or None
    when the row was given up."""
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.done_at is not None or message.failed_at is not None:
            return None  # a concurrent delivery finished it meanwhile
        message.last_error = error
        if message.attempts >= max_attempts():
            _give_up(message, now, error)
            return None
        retry_in = backoff_seconds(message.attempts)
        message.next_attempt_at = now + timedelta(seconds=retry_in)
        message.save(update_fields=["last_error", "next_attempt_at"])
    return retry_in


def _attempt_succeeded(message: OutboxMessage) -> None:
    now = timezone.now()
    done = OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=True)
    if not message.last_error:
        # It never failed, so it was never given up: no incident to resolve.
        done.update(done_at=now, next_attempt_at=None, failed_at=None)
        return
    with transaction.atomic():
        if done.update(done_at=now, last_error="", next_attempt_at=None, failed_at=None):
            hooks.delivered(message_id=message.pk, now=now)


def _give_up(message: OutboxMessage, now: datetime, error: str) -> None:
    """Caller holds the row lock."""
    message.failed_at = now
    message.next_attempt_at = None
    message.last_error = error
    message.save(update_fields=["failed_at", "next_attempt_at", "last_error"])
    hooks.given_up(message=message, error=error, now=now)


def outbox_drain(*, topics: Iterable[str] | None = None, limit: int = 10_000) -> int:
    """Consume pending rows in this process, oldest first, each once per call
    (load_demo, tests and one-off maintenance use it; workers normally do
    this). A row that fails stays for the workers' retries."""
    done = 0
    handled = set(consumers())
    wanted = set(topics) & handled if topics is not None else handled
    cursor = 0
    while done < limit:
        ids = list(
            OutboxMessage.objects.filter(
                done_at__isnull=True, failed_at__isnull=True, topic__in=wanted, id__gt=cursor
            )
            .order_by("id")
            .values_list("id", flat=True)[:100]
        )
        if not ids:
            break
        for message_id in ids:
            cursor = message_id
            try:
                done += outbox_handle(message_id)
            except RetryLater as later:
                log.info("%s", later)
    return done


def publish_mode() -> str:
    """Who hands new rows to the broker: "relay" (the default: the outbox
    relay, govflow.outbox.relay, so no request waits on the broker) or
    "request" (the committing process itself, after commit)."""
    return getattr(settings, "GOVFLOW_OUTBOX_PUBLISH", "relay")


def dispatch_on_commit(ids: list[int]) -> None:
    """Have these new rows published once the transaction commits. With the
    relay (the default) there is nothing to do here: on PostgreSQL the
    insert itself NOTIFYs the relay's channel (a trigger, so the signal is
    part of the transaction and heard only if it commits), and elsewhere the
    relay polls. In "request" mode the rows are sent after commit; if the
    broker is down they stay undispatched and the sweeper sends them."""
    if ids and publish_mode() == "request":
        transaction.on_commit(lambda: dispatch(ids))


def publish(ids: list[int]) -> None:
    """Hand the rows to the broker as one message (a worker consumes them in
    order). Raises whatever the broker raised."""
    celery_app.send_task(DELIVER_BATCH, args=[list(ids)], retry=False)


def dispatch(ids: list[int]) -> int:
    """Publish the rows; returns how many were sent. Never raises for a
    broker that is down: the rows stay in the table for `outbox_resend_stale`."""
    if not ids:
        return 0
    try:
        publish(ids)
    except Exception as exc:  # the broker is unreachable: leave them for the sweeper
        _broker_down(ids, exc)
        return 0
    if _outage:
        log.warning("broker reachable again after %d undispatched batches", _outage.pop())
    # Nothing is written back: a row is known to be done by done_at, and one
    # the broker lost is found by its age (outbox_stale), so recording the
    # hand-over would cost a round trip per transaction for no decision.
    return len(ids)


def outbox_unpublished():
    """Rows no one has handed to the broker yet: not done, not given up,
    never attempted and not published by the relay (which marks what it
    publishes with next_attempt_at, the moment the sweeper may re-send it)."""
    return OutboxMessage.objects.filter(
        done_at__isnull=True, failed_at__isnull=True, next_attempt_at__isnull=True
    ).filter(topic__in=list(consumers()))


def outbox_relay_batch(*, limit: int = 100, now: datetime | None = None) -> int:
    """Publish the oldest unpublished rows, at most `limit`, as one broker
    message; returns how many (0: nothing waits). Raises when the broker is
    unreachable, and then nothing is marked: the rows wait for the next try.

    The rows are locked (SKIP LOCKED, so two relays share the work), marked
    published and handed to the broker before the transaction commits: a
    relay killed after publishing and before COMMIT leaves them unmarked,
    and they are published again (consumers are idempotent: done_at and the
    attempt's advisory lock). A relay never marks a row it did not publish.
    The sweeper re-sends a published row a worker has not finished, as it
    did when the request published it."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            outbox_unpublished()
            .select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        OutboxMessage.objects.filter(pk__in=ids).update(next_attempt_at=now)
        publish(ids)
    return len(ids)


# Batches not dispatched since the broker was last reachable (one entry, or
# none while it is up): an outage logs one warning when it starts and one
# when it ends, not one per transaction.
_outage: list[int] = []


def _broker_down(ids: list[int], exc: Exception) -> None:
    if _outage:
        _outage[0] += 1
        log.debug("outbox rows %s not dispatched (%s)", ids[:10], exc)
        return
    _outage.append(1)
    log.warning(
        "broker unreachable (%s): outbox rows %s and later ones wait in the table for the sweeper",
        exc,
        ids[:10],
    )


def outbox_stale(*, older_than: timedelta, now: datetime):
    """Rows a worker should have finished by now: not done, not given up, and
    neither backing off nor being attempted (their lease ran out)."""
    cutoff = now - older_than
    return OutboxMessage.objects.filter(done_at__isnull=True, failed_at__isnull=True).filter(
        Q(next_attempt_at__isnull=True, created_at__lte=cutoff) | Q(next_attempt_at__lte=cutoff)
    )


def outbox_resend_stale(
    *, older_than: timedelta = timedelta(seconds=30), now: datetime | None = None, limit: int = 1000
) -> int:
    """Re-dispatch rows not done after `older_than` (the broker lost them, or
    a worker died holding them); consumers are idempotent, so a duplicate is
    harmless. Returns how many were sent (0 while the broker is down)."""
    now = now or timezone.now()
    ids = list(
        outbox_stale(older_than=older_than, now=now)
        .filter(topic__in=list(consumers()))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    sent = 0
    for start in range(0, len(ids), 100):
        sent += dispatch(ids[start : start + 100])
    return sent
