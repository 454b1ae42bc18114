"""The Celery app. Workers: `celery -A govflow worker`; one beat:
`celery -A govflow beat`. Broker from REDIS_URL / CELERY_BROKER_URL, or the
filesystem transport in the embedded default."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.local")

app = Celery("govflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    [
        "govflow.outbox",
        "govflow.timers",
        "govflow.audit",
        "govflow.webhooks",
        "govflow.api",
        "govflow.incidents",
        "govflow.ratings",
        "govflow.cases",
        "govflow.collab",
        "govflow.commitments",
        "govflow.insight",
    ]
)
app.conf.beat_schedule = {
    "fire-due-timers": {"task": "govflow.timers.sweep", "schedule": 5.0},
    "deferred-materials": {"task": "govflow.commitments.sweep", "schedule": 60.0},
    # 会商 limits end at office close; a few minutes late is soon enough.
    "lapse-consultations": {"task": "govflow.collab.lapse", "schedule": 300.0},
    # The dashboard's facts, projected from the committed audit trail
    # (a dashboard request also catches up before it reads).
    "project-dashboard-facts": {"task": "govflow.insight.project", "schedule": 10.0},
    "resend-stale-outbox": {"task": "govflow.outbox.sweep", "schedule": 30.0},
    "redrive-webhook-deliveries": {"task": "govflow.webhooks.redrive", "schedule": 15.0},
    "sign-audit-checkpoint": {"task": "govflow.audit.checkpoint", "schedule": 600.0},
    "purge-idempotency-keys": {"task": "govflow.api.purge_idempotency_keys", "schedule": 3600.0},
    # Daily, before the offices open (CELERY_TIMEZONE is UTC: 00:15 and 00:30
    # UTC are 08:15 and 08:30 in Beijing).
    "check-working-day-calendar": {
        "task": "govflow.timers.calendar_check",
        "schedule": crontab(minute=15, hour=0),
    },
    "reconcile-daily": {"task": "govflow.incidents.reconcile", "schedule": crontab(minute=30, hour=0)},
    "poor-rating-remediations": {"task": "govflow.ratings.check", "schedule": crontab(minute=45, hour=0)},
    # Stored files no row names (a rolled-back upload or render), older than a day.
    "sweep-orphan-files": {"task": "govflow.storage.sweep_orphans", "schedule": crontab(minute=0, hour=19)},
}


@worker_init.connect
def _refuse_transaction_pooling(**kwargs) -> None:
    """A worker holds a session-level advisory lock on each outbox row it
    attempts (govflow.outbox.services); behind a transaction-mode pool that
    lock would be taken on one server connection and released on another.
    Workers connect to PostgreSQL directly or through a session-mode pool."""
    if getattr(settings, "DATABASE_TRANSACTION_POOLING", False):
        # SystemExit: Celery logs and swallows exceptions raised by a signal's receivers.
        raise SystemExit(
            "DATABASE_TRANSACTION_POOLING is set: Celery workers need a direct (or session-mode "
            "pooled) PostgreSQL connection for the outbox's advisory locks (docs/deploy.md, 'PgBouncer')"
        )
