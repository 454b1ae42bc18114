"""Celery beat job: forget Idempotency-Key records past their lifetime."""

from celery import shared_task

from govflow.api.idempotency import purge_expired


@shared_task(name="govflow.api.purge_idempotency_keys", acks_late=True)
def purge_idempotency_keys() -> int:
    return purge_expired()
