"""Outbox consumers for case work: service tasks, notifications and the
deadlines recounted after a calendar year is loaded. Each
one is idempotent (see govflow.outbox.services)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from govflow.outbox.services import consumer
from govflow.timers.services import RECOMPUTE_TOPIC

from . import limits
from .automation import service_task_execute
from .recompute import timers_recompute
from .task_notices import notification_deliver


@consumer("service_task")
def run_service_task(payload: dict[str, Any], key: str) -> None:
    # Idempotent through the engine: a task no longer open is left alone.
    service_task_execute(case_id=payload["case"], task_engine_id=payload["task"])


@consumer("notify")
def notify(payload: dict[str, Any], key: str) -> None:
    """In-app notifications and e-mail, once per outbox key."""
    notification_deliver(
        key=key,
        kind=payload.get("kind", "task_created"),
        case_id=payload["case"],
        task_engine_id=payload["task"],
    )


@consumer(limits.NOTIFY_TOPIC)
def notify_case_limit(payload: dict[str, Any], key: str) -> None:
    """A case's promise or statutory limit reached amber (the lead
    department's heads) or red (the leaders); once per key."""
    limits.limit_notify(
        key=key, case_id=payload["case"], limit=payload["limit"], level=payload["level"], now=timezone.now()
    )


@consumer(RECOMPUTE_TOPIC)
def recompute_deadlines(payload: dict[str, Any], key: str) -> None:
    """Provisional deadlines recounted after a calendar year was loaded
    through the admin (the load_calendar command does it at once).
    Idempotent: a second run finds nothing left to change."""
    actor_id = payload.get("actor")
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    timers_recompute(code=payload.get("calendar"), actor=actor)
