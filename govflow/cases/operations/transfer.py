"""转办 (错派改派): a task that reached the wrong department is passed to
another, with a reason.

The template says where its tasks may go (`transfer: {to: [..] | any,
via: queue | head}`, or `transfer: none`); by default any department, into
its queue. `via: head` hands it to the receiving department's head, who
dispatches it. Its time limit runs on: the SLA timers stay as they were
(they belong to the task, not the department); the receiving department
is notified.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.audit.actions import Action
from govflow.engine import runtime as rt
from govflow.engine.effects import TaskTransferred
from govflow.errors import Conflict, Forbidden, InvalidInput
from govflow.processes.services import version_definition

from .. import events, task_status
from ..bridge import Changes, advance
from ..models import Case, Task, TaskStatus
from ..task_locks import lock_task, task_state_message
from .common import engine_refusals, reason


def transfer_departments(*, case: Case, task: Task) -> list[Department]:
    """The departments the task may be transferred to (none when the template forbids it)."""
    node = version_definition(case.version).nodes.get(task.node_id)
    rule = node.transfer if node is not None else None
    if rule is None or not task.is_live:
        return []
    found = Department.objects.exclude(pk=task.department_id).order_by("code")
    if rule.to is not None:
        found = found.filter(code__in=rule.to)
    return list(found)


@transaction.atomic
def task_transfer(*, task_id: int, actor, department: str, opinion: str, now: datetime | None = None) -> Task:
    """Pass the task to `department` (a code). Its holder, anyone of its
    department while nobody holds it, or the department's head may."""
    now = now or timezone.now()
    case, task, membership = lock_task(task_id, actor)
    if case.applicant_id == actor.pk:
        raise Forbidden("a reviewer cannot act on a case they applied for")
    if not task.is_live:
        raise Conflict(task_state_message(task))
    if task.status == TaskStatus.CLAIMED and task.assignee_id != actor.pk and not membership.is_head:
        raise Forbidden("only the reviewer holding the task, or the department head, can transfer it")
    opinion = reason(opinion)
    target = Department.objects.filter(code=department).first() if isinstance(department, str) else None
    if target is None:
        raise InvalidInput("choose a department", fields={"department": ["unknown department"]})
    changes = Changes(now=now)
    with engine_refusals(field="department"):
        result = advance(
            case,
            rt.TransferTask(task.engine_id, target.code, actor=str(actor.pk)),
            changes,
            actor_id=actor.pk,
        )
    moved = next(e for e in result.effects if isinstance(e, TaskTransferred))
    before = task.department_id
    head = None
    if moved.via == "head":
        head = (
            Membership.objects.filter(department=target, is_head=True, user__is_active=True)
            .exclude(user_id=case.applicant_id)
            .select_related("user")
            .order_by("user_id")
            .first()
        )
    if head is not None:
        task_status.hold(task, head.user, now)
    elif task.status == TaskStatus.CLAIMED:
        task_status.release(task)
    task.department = target
    task_status.save_holder(task, "department")
    count = len(case.state["tasks"][task.engine_id].get("transfers", ())) if case.state else 0
    changes.emit(
        "notify",
        f"{case.pk}:{task.engine_id}:transferred:{count}",
        kind="task_created",
        case=case.pk,
        task=task.engine_id,
    )
    changes.event(
        Action.TASK_TRANSFERRED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        from_department=before,
        to_department=target.pk,
        via=moved.via,
        to_user=head.user_id if head is not None else None,
        opinion=opinion,
    )
    changes.happened(events.TaskTransferred(case, task, before, target.pk, reason=opinion, actor_id=actor.pk))
    changes.flush()
    return task
