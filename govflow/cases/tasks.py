"""Celery beat job: the daily sweep of orphan files (govflow.storage_sweep)."""

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings

from govflow.storage_sweep import orphan_files_sweep


@shared_task(name="govflow.storage.sweep_orphans", acks_late=True)
def sweep_orphan_files(now: str | None = None) -> int:
    """Delete stored files no row names, older than GOVFLOW_ORPHAN_FILE_GRACE_HOURS.
    Returns how many were deleted. `now` (ISO 8601 with offset) is for tests."""
    hours = settings.GOVFLOW_ORPHAN_FILE_GRACE_HOURS
    moment = datetime.fromisoformat(now) if now else None
    return orphan_files_sweep(older_than=timedelta(hours=hours), now=moment).deleted
