"""The Celery app. Workers: `celery -A govflow worker`; one beat:
`celery -A govflow beat`. Broker from REDIS_URL / CELERY_BROKER_URL, or the
filesystem transport in the embedded default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.local")

app = Celery("govflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["govflow.outbox", "govflow.timers"])
app.conf.beat_schedule = {
    "fire-due-timers": {"task": "govflow.timers.sweep", "schedule": 5.0},
    "resend-stale-outbox": {"task": "govflow.outbox.sweep", "schedule": 30.0},
}
