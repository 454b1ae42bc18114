"""Celery beat job: project the dashboard's facts from the committed audit
trail (govflow.insight.facts)."""

from celery import shared_task

from .facts import facts_project


@shared_task(name="govflow.insight.project", acks_late=True)
def project() -> int:
    """The audit events read. Chains another projector holds are skipped:
    beat runs this every few seconds, and a slow run is not queued twice
    behind itself."""
    return facts_project(wait=False)
