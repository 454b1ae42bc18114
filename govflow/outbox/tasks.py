"""Celery tasks: thin wrappers that take ids and call services.

Retries are bounded by the row (`OutboxMessage.attempts`), not by Celery's
retry count, so a redelivered message and a Celery retry share one budget.
"""

import logging

from celery import shared_task

from .services import DELIVER_BATCH, RetryLater, outbox_handle, outbox_resend_stale

log = logging.getLogger(__name__)


@shared_task(name="govflow.outbox.deliver", bind=True, acks_late=True, max_retries=None)
def deliver(self, message_id: int) -> bool:
    try:
        return outbox_handle(message_id)
    except RetryLater as later:
        # A short countdown (seconds, well under the broker's visibility
        # timeout); if this retry is lost the sweeper re-sends the row.
        raise self.retry(countdown=later.countdown, max_retries=None) from later


@shared_task(name=DELIVER_BATCH, acks_late=True)
def deliver_batch(message_ids: list[int]) -> int:
    """Consume several rows in order; one that fails is retried on its own
    with backoff, so it cannot hold back the others."""
    done = 0
    for message_id in message_ids:
        try:
            done += bool(outbox_handle(message_id))
        except RetryLater as later:
            try:
                deliver.apply_async(args=[message_id], countdown=later.countdown)
            except Exception as exc:  # broker gone: the sweeper re-sends the row
                log.warning("retry of outbox row %s not queued: %s", message_id, exc)
    return done


@shared_task(name="govflow.outbox.sweep", acks_late=True)
def sweep() -> int:
    return outbox_resend_stale()
