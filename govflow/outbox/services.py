"""Dispatching and consuming outbox rows.

Producers (`govflow.cases.bridge.Changes.flush`) insert rows and ask for a
dispatch on commit. Consumers run through `outbox_handle`, which is
idempotent: a row already done is skipped, so a redelivered Celery message,
or the sweeper re-sending a row the broker lost, does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

log = logging.getLogger(__name__)

Consumer = Callable[[dict[str, Any]], None]
_consumers: dict[str, Consumer] = {}


def consumer(topic: str) -> Callable[[Consumer], Consumer]:
    def register(fn: Consumer) -> Consumer:
        _consumers[topic] = fn
        return fn

    return register


def consumers() -> dict[str, Consumer]:
    # Importing registers them; kept here so every entry point sees the same set.
    from govflow.cases import consumers as _case_consumers  # noqa: F401

    return _consumers


def outbox_handle(message_id: int) -> bool:
    """Consume one row; returns False when there was nothing to do. A consumer
    error propagates (the Celery task retries it) and the row stays undone."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None or message.done_at is not None:
        return False
    handler = consumers().get(message.topic)
    if handler is None:
        return False
    OutboxMessage.objects.filter(pk=message_id).update(attempts=message.attempts + 1)
    try:
        handler(dict(message.payload))
    except Exception as exc:
        OutboxMessage.objects.filter(pk=message_id).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(done_at=timezone.now(), last_error="")
    return True


def outbox_drain(*, topics: Iterable[str] | None = None, limit: int = 10_000) -> int:
    """Consume pending rows in this process, oldest first (used by load_demo,
    tests and one-off maintenance; workers normally do this)."""
    done = 0
    handled = set(consumers())
    wanted = set(topics) & handled if topics is not None else handled
    for _ in range(limit):
        ids = list(
            OutboxMessage.objects.filter(done_at__isnull=True, topic__in=wanted)
            .order_by("id")
            .values_list("id", flat=True)[:100]
        )
        if not ids:
            break
        progressed = False
        for message_id in ids:
            if outbox_handle(message_id):
                done += 1
                progressed = True
        if not progressed:
            break
    return done


def dispatch_on_commit(ids: list[int]) -> None:
    """Send these rows to the broker once the transaction commits. If the
    broker is down the rows stay undispatched and the sweeper sends them."""
    if ids:
        transaction.on_commit(lambda: dispatch(ids))


def dispatch(ids: list[int]) -> int:
    """Publish the rows as one broker message (a worker consumes them in
    order); returns how many were sent."""
    from .tasks import deliver_batch

    if not ids:
        return 0
    try:
        deliver_batch.apply_async(args=[list(ids)], retry=False)
    except Exception as exc:  # the broker is unreachable: leave them for the sweeper
        log.warning("outbox rows %s not dispatched (%s); the sweeper will resend them", ids[:10], exc)
        return 0
    return len(ids)


def outbox_resend_stale(*, older_than: timedelta = timedelta(seconds=30), now: datetime | None = None) -> int:
    """Re-dispatch rows not done after `older_than` (the broker lost them, or
    a worker died holding them); consumers are idempotent, so a duplicate is harmless."""
    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(done_at__isnull=True, created_at__lte=now - older_than,
                                     topic__in=list(consumers()))
        .filter(attempts__lt=25)
        .order_by("id")
        .values_list("id", flat=True)[:1000]
    )
    return dispatch(ids)
