"""What every write to a task starts with, shared by the case services
(govflow.cases.services) and the task operations (govflow.cases.operations):
the case's lock with the actor's membership of the task's department, the
word for a task no longer live, and 签收 before a decision."""

from __future__ import annotations

from govflow.accounts.models import Membership
from govflow.errors import Conflict, NotFound
from govflow.processes.services import version_definition

from . import rows
from .models import Case, Task, TaskKind, TaskStatus

MAX_OPINION = 4000


def lock_task(task_id: int, actor) -> tuple[Case, Task, Membership]:
    """Lock the task's case (every write to a task happens under its case's
    lock), then read the task with the actor's membership of its department.
    Actors outside the department get NotFound: no hint the task exists."""
    case, task, is_head = rows.lock_case_of_task(task_id, actor.pk)
    if (
        case is None
        or task is None
        or is_head is None
        or task.kind not in (TaskKind.REVIEW, TaskKind.SIGNATURE, TaskKind.ACCEPTANCE)
    ):
        raise NotFound("task not found")
    return case, task, Membership(user_id=actor.pk, department_id=task.department_id, is_head=is_head)


def task_state_message(task: Task) -> str:
    if task.status == TaskStatus.COMPLETED:
        return "this task has already been decided"
    if task.status == TaskStatus.CANCELLED:
        return "this task was cancelled (the case moved on or was withdrawn)"
    if task.status == TaskStatus.CLAIMED:
        return "a colleague has already claimed this task"
    return f"this task is {task.status}"


def require_claim(case: Case, task: Task) -> None:
    """签收 before deciding: a task nobody holds is claimed first (409
    `not_claimed`), unless its template says `claim_required: false` (for the
    process or the step). Deciding, 退回 and 加签 decide; 转办 does not (a
    department passes on a task that is not its own without signing for it)."""
    if task.assignee_id is not None or task.status != TaskStatus.OPEN:
        return
    if version_definition(case.version).needs_claim(task.node_id):
        raise Conflict(
            "claim the task first (签收): a task is claimed before it is decided", code="not_claimed"
        )
