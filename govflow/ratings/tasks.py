"""Celery beat job: the remediation dates of poor ratings (see services)."""

from datetime import datetime

from celery import shared_task

from .services import remediations_check


@shared_task(name="govflow.ratings.check", acks_late=True)
def check(now: str | None = None) -> list[int]:
    """Daily: recount provisional remediation dates and notify the heads
    of overdue remediations, once each; `now` (ISO 8601) for operators and
    tests moving the clock."""
    return list(remediations_check(now=datetime.fromisoformat(now) if now else None))
