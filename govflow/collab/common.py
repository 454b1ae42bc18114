"""Helpers the collab services share: the clock, texts, locking a task's
case, audit and outbox staging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from govflow.audit.services import PendingAudit, audit_write
from govflow.cases import rows
from govflow.cases.models import Case, Task, TaskKind
from govflow.errors import Conflict, InvalidInput, NotFound
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit
from govflow.webhooks.services import publish_event

from .guards import acts_for

NOTIFY_TOPIC = "collab_notify"
MAX_TEXT = 2000
STAFF_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE)


def now_or(now: datetime | None) -> datetime:
    return now or timezone.now()


def text(value: Any, field: str, *, required: bool, limit: int = MAX_TEXT, message: str = "") -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if required and not value:
        raise InvalidInput(message or f"the {field} is required", fields={field: ["required"]})
    if len(value) > limit:
        raise InvalidInput(f"the {field} is too long", fields={field: [f"at most {limit} characters"]})
    return value


def lock_task(task_id: int, actor) -> tuple[Case, Task, bool]:
    """Lock the task's case and read the task; (case, task, is_head). Who is
    not a member of the task's department is told nothing exists."""
    case, task, is_head = rows.lock_case_of_task(task_id, actor.pk)
    if case is None or task is None or is_head is None or task.kind not in STAFF_KINDS:
        raise NotFound("task not found")
    return case, task, bool(is_head)


def require_holder(task: Task, actor, *, now: datetime) -> int | None:
    """The actor holds the live task (or acts for its holder: the holder's
    id is returned, for the audit's "acting for")."""
    if not task.is_live:
        raise Conflict("this task has been decided or cancelled", code="task_not_live")
    if task.assignee_id == actor.pk:
        return None
    if task.assignee_id is not None and acts_for(actor, task.assignee_id, now=now):
        return task.assignee_id
    if task.assignee_id is None:
        raise Conflict("claim the task first: only the reviewer holding it can do this", code="not_claimed")
    raise Conflict("a colleague holds this task", code="not_holder")


def audit(action: str, actor, now: datetime, *, case_id: int, object_type: str, object_id, **data) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk if actor is not None else None,
                object_type=object_type,
                object_id=str(object_id),
                case_id=case_id,
                data={k: v for k, v in data.items() if v is not None},
            )
        ]
    )


def notify(what: str, key: str, now: datetime, **payload: Any) -> None:
    """Ask the outbox to tell people (in the app and by e-mail) after commit."""
    message = OutboxMessage.objects.create(
        key=f"collab:{key}", topic=NOTIFY_TOPIC, payload={"what": what, **payload}, created_at=now
    )
    dispatch_on_commit([message.pk])


def webhook(kind: str, *, case: Case, subject: str, data: dict) -> None:
    publish_event(kind, case_id=case.pk, subject=subject, data=data)
