"""抄送: the only writer of copies.

A step's template may copy its decision (`cc:` departments and/or roles,
read when the task is decided: `copy_on_decision`, a case-event subscriber
that hands the work to the outbox), and any reviewer of the task's
department may copy it ad hoc to colleagues or departments (`copy_send`).
A copy is a read-only inbox item; the case is shown as the reader's
clearance allows; the sender sees who has read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import department_heads, role_holders
from govflow.audit.actions import Action
from govflow.cases import rows
from govflow.cases.models import Task
from govflow.errors import InvalidInput, NotFound
from govflow.processes.services import version_definition

from .common import audit, notify, now_or, text
from .models import Consultation, Copy, Delegation, RequestStatus

MAX_RECIPIENTS = 200
COPY_TOPIC = "collab_copy"


def _recipients(*, user_ids: Iterable[int] = (), departments: Iterable[str] = (), roles: Iterable[str] = ()):
    User = get_user_model()
    ids = set(user_ids)
    codes = list(departments)
    if codes:
        ids |= set(
            Membership.objects.filter(department__code__in=codes, department__is_active=True).values_list(
                "user_id", flat=True
            )
        )
    role_names = list(roles)
    if role_names:
        ids |= set(role_holders(*role_names).values_list("pk", flat=True))
    return User.objects.filter(pk__in=ids, is_active=True).order_by("pk")


def _write(task: Task, users, *, sent_by, note: str, now: datetime) -> list[int]:
    users = [u for u in users if u.pk != task.case.applicant_id and u.pk != getattr(sent_by, "pk", None)]
    already = set(Copy.objects.filter(task=task).values_list("user_id", flat=True))
    fresh = [u for u in users if u.pk not in already]
    Copy.objects.bulk_create(
        [
            Copy(case_id=task.case_id, task=task, user=u, sent_by=sent_by, note=note, created_at=now)
            for u in fresh
        ],
        ignore_conflicts=True,
    )
    return [u.pk for u in fresh]


@transaction.atomic
def copy_send(
    *,
    task_id: int,
    actor,
    user_ids: Iterable[int] = (),
    departments: Iterable[str] = (),
    note: str = "",
    now: datetime | None = None,
) -> list[int]:
    """A reviewer of the task's department copies the task to colleagues
    and/or departments; returns the users newly copied."""
    now = now_or(now)
    case, task, is_head = rows.lock_case_of_task(task_id, actor.pk)
    if case is None or task is None or is_head is None:
        raise NotFound("task not found")
    task.case = case
    note = text(note, "note", required=False, limit=500)
    user_ids = [int(u) for u in user_ids if str(u).isdigit()]
    codes = list(dict.fromkeys(departments))
    if codes and Department.objects.filter(code__in=codes, is_active=True).count() != len(codes):
        raise InvalidInput("unknown department", fields={"departments": ["unknown"]})
    users = list(_recipients(user_ids=user_ids, departments=codes))
    if not users:
        raise InvalidInput("choose whom to copy", fields={"users": ["required"]})
    if len(users) > MAX_RECIPIENTS:
        raise InvalidInput(f"copy at most {MAX_RECIPIENTS} people at once", fields={"users": ["too many"]})
    copied = _write(task, users, sent_by=actor, note=note, now=now)
    if copied:
        audit(
            Action.TASK_COPIED,
            actor,
            now,
            case_id=case.pk,
            object_type="task",
            object_id=task.engine_id,
            node=task.node_id,
            users=copied,
            departments=codes or None,
        )
        notify("copied", f"copy:{task.pk}:{actor.pk}:{now.isoformat()}", now, task=task.pk, users=copied)
    return copied


def copy_mark_read(*, copy_id: int, actor, now: datetime | None = None) -> Copy:
    copy = Copy.objects.filter(pk=copy_id, user=actor).select_related("case").first()
    if copy is None:
        raise NotFound("copy not found")
    if copy.read_at is None:
        copy.read_at = now_or(now)
        Copy.objects.filter(pk=copy.pk, read_at__isnull=True).update(read_at=copy.read_at)
    return copy


# -- the template's cc: and the end of open requests on a decision ------------------


def copy_on_decision(changes, events) -> None:
    """Case-event subscriber (TaskDecided): after commit, the outbox copies
    the decided task as its node's `cc:` says, and closes the task's open
    delegations and consultations."""
    for event in events:
        changes.emit(
            COPY_TOPIC,
            f"collab:decided:{event.case.pk}:{event.task_id}",
            case=event.case.pk,
            task=event.task_id,
            actor=event.actor_id,
        )


def copies_for_decision(*, case_id: int, engine_id: str, actor_id: int | None, now: datetime) -> list[int]:
    """What the COPY_TOPIC consumer does (idempotent: copies are unique per
    task and user, closing is conditional)."""
    task = (
        Task.objects.select_related("case__version", "department")
        .filter(case_id=case_id, engine_id=engine_id)
        .first()
    )
    if task is None:
        return []
    with transaction.atomic():
        Delegation.objects.filter(task=task, status=RequestStatus.OPEN).update(status=RequestStatus.CANCELLED)
        Consultation.objects.filter(task=task, status=RequestStatus.OPEN).update(
            status=RequestStatus.CANCELLED
        )
        node = version_definition(task.case.version).nodes.get(task.node_id)
        cc = (node.settings.get("cc") if node is not None else None) or {}
        if not cc:
            return []
        roles = [r for r in cc.get("roles", ()) if r != "department_head"]
        users = list(_recipients(departments=cc.get("departments", ()), roles=roles))
        if "department_head" in cc.get("roles", ()) and task.department_id:
            users += list(department_heads(task.department.code))
        users = [u for u in {u.pk: u for u in users}.values() if u.pk != actor_id]
        copied = _write(task, users, sent_by=None, note="", now=now)
        if copied:
            audit(
                Action.TASK_COPIED,
                None,
                now,
                case_id=case_id,
                object_type="task",
                object_id=engine_id,
                node=task.node_id,
                users=copied,
                template=True,
            )
            notify("copied", f"copy:{task.pk}:template", now, task=task.pk, users=copied)
    return copied
