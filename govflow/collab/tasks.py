"""Celery beat job: consultations whose limit has passed (see services)."""

from datetime import datetime

from celery import shared_task

from .services import consultations_lapse


@shared_task(name="govflow.collab.lapse", acks_late=True)
def lapse(now: str | None = None) -> list[int]:
    """Every few minutes: mark the consultations whose limit has passed
    without an opinion, once each, and tell the reviewers; `now` (ISO 8601)
    for operators and tests moving the clock."""
    return consultations_lapse(now=datetime.fromisoformat(now) if now else None)
