"""Celery beat job: fire due timers (see govflow.cases.automation)."""

from celery import shared_task


@shared_task(name="govflow.timers.sweep", acks_late=True)
def sweep() -> int:
    from govflow.cases.automation import timers_fire_due

    return timers_fire_due()
