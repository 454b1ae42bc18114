"""Celery beat job: fire due timers (see govflow.cases.automation)."""

from datetime import datetime

from celery import shared_task

from govflow.cases.automation import timers_fire_due
from govflow.notifications.services import calendar_warning_notify


@shared_task(name="govflow.timers.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    """`now` (ISO 8601, with its offset) is for operators and tests moving
    the clock; beat sends none and the sweep uses the current time."""
    return timers_fire_due(now=datetime.fromisoformat(now) if now else None)


@shared_task(name="govflow.timers.calendar_check", acks_late=True)
def calendar_check(now: str | None = None) -> int:
    """Daily: warn process administrators (once a week) while the loaded
    working-day calendar runs out within the lead time. Returns how many
    notifications were written; `now` as in sweep."""
    return calendar_warning_notify(now=datetime.fromisoformat(now) if now else None)
