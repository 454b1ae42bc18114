"""Celery beat job: queue the next attempt of webhook deliveries that are due."""

from datetime import datetime

from celery import shared_task

from .delivery import webhooks_redrive


@shared_task(name="govflow.webhooks.redrive", acks_late=True)
def redrive(now: str | None = None) -> int:
    """`now` (ISO 8601, with its offset) is for operators and tests moving the clock."""
    return webhooks_redrive(now=datetime.fromisoformat(now) if now else None)
