"""Celery beat job: the daily consistency check, kept as an incident."""

from datetime import datetime

from celery import shared_task

from govflow.cases.reconcile import reconcile
from govflow.incidents.services import incident_reconcile_record


@shared_task(name="govflow.incidents.reconcile", acks_late=True)
def reconcile_daily(now: str | None = None) -> int:
    """Run reconcile and keep what it found as the one reconcile incident
    (opened, updated, or resolved when nothing is found). Returns the number
    of problems. `now` (ISO 8601 with offset) is for operators and tests."""
    moment = datetime.fromisoformat(now) if now else None
    problems = reconcile(now=moment)
    incident_reconcile_record(problems=problems, now=moment)
    return len(problems)
