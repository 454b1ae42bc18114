"""Outbox consumers for case work: service tasks and notifications. Each
one is idempotent (see govflow.outbox.services)."""

from __future__ import annotations

from typing import Any

from govflow.notifications.services import notification_deliver
from govflow.outbox.services import consumer

from . import limits
from .automation import service_task_execute


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
    from django.utils import timezone

    limits.limit_notify(
        key=key, case_id=payload["case"], limit=payload["limit"], level=payload["level"], now=timezone.now()
    )
