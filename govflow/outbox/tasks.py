"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from .services import outbox_handle, outbox_resend_stale


@shared_task(name="govflow.outbox.deliver", bind=True, acks_late=True, max_retries=8)
def deliver(self, message_id: int) -> bool:
    try:
        return outbox_handle(message_id)
    except Exception as exc:
        # Exponential backoff: 2, 4, 8 ... seconds; after that the sweeper
        # keeps the row alive and reconcile reports it.
        raise self.retry(exc=exc, countdown=min(2 ** (self.request.retries + 1), 300)) from exc


@shared_task(name="govflow.outbox.deliver_batch", bind=True, acks_late=True, max_retries=8)
def deliver_batch(self, message_ids: list[int]) -> int:
    """Consume several rows; one that fails is re-sent on its own with
    backoff, so it cannot hold back the others."""
    done = 0
    for message_id in message_ids:
        try:
            done += bool(outbox_handle(message_id))
        except Exception:
            deliver.apply_async(args=[message_id], countdown=2)
    return done


@shared_task(name="govflow.outbox.sweep", acks_late=True)
def sweep() -> int:
    return outbox_resend_stale()
