"""What the operations share: locking a reviewer's task, the reason they
must give, and the engine's refusals as govflow errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from govflow.engine import IllegalEvent, NoBranchMatched
from govflow.errors import Conflict, Forbidden, InvalidInput

from .. import task_status
from ..models import Case, Task, TaskStatus
from ..task_locks import MAX_OPINION, lock_task, require_claim, task_state_message

MAX_REASON = MAX_OPINION


def lock_live_task(task_id: int, actor) -> tuple[Case, Task, bool]:
    """Lock the case of a live task the actor may act on: its holder, or
    anyone of its department while nobody holds it. Returns (case, task,
    whether the actor heads the task's department). Both callers decide
    (退回, 加签): a task nobody holds is claimed first where the template
    asks for 签收."""
    case, task, membership = lock_task(task_id, actor)
    if case.applicant_id == actor.pk:
        raise Forbidden("a reviewer cannot act on a case they applied for")
    if not task.is_live:
        raise Conflict(task_state_message(task))
    if task.status == TaskStatus.CLAIMED and task.assignee_id != actor.pk:
        raise Conflict("a colleague has claimed this task; ask them or the department head to hand it over")
    require_claim(case, task)
    return case, task, bool(membership.is_head)


def reason(text: str, *, required: bool = True, field: str = "opinion") -> str:
    text = (text or "").strip()
    if len(text) > MAX_REASON:
        raise InvalidInput("the text is too long", fields={field: [f"at most {MAX_REASON} characters"]})
    if required and not text:
        raise InvalidInput("give a reason", fields={field: ["required"]})
    return text


@contextmanager
def engine_refusals(*, field: str | None = None) -> Iterator[None]:
    """The engine's refusals as the API's errors: a target it will not
    take is the caller's input (400), anything else the case's state (409)."""
    try:
        yield
    except IllegalEvent as exc:
        if field is not None and exc.code.endswith("not_allowed"):
            raise InvalidInput(exc.message, fields={field: [exc.message]}, code=exc.code) from exc
        raise Conflict(exc.message, code=exc.code) from exc
    except NoBranchMatched as exc:
        raise InvalidInput(f"the case cannot be routed: {exc.message}", code="no_branch_matched") from exc


def claim_for(task: Task, actor, now) -> None:
    """The actor becomes the holder of a task they acted on (in memory or saved by the caller)."""
    task_status.hold(task, actor, now)
