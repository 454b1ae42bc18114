"""Celery beat job: deferred materials' reminders and deadlines (services)."""

from datetime import datetime

from celery import shared_task

from .services import materials_fire_due


@shared_task(name="govflow.commitments.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    """Every minute: remind, and terminate cases whose deferred materials
    were not supplied in time; `now` (ISO 8601) for operators and tests."""
    return materials_fire_due(now=datetime.fromisoformat(now) if now else None)
