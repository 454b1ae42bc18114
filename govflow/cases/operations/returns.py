"""退回: a reviewer sends the case back to a step it has already passed.

Only the steps the engine offers may be named (`return_targets`: earlier
user tasks of the same process, no token on them now, not fenced off by the
template's `return_to`, not across a block the reviewer is outside of).
Inside one branch of a parallel block only that branch goes back; before
the block's split every open task of the block is cancelled and the
block's decisions cleared, which the audit event lists. With `come_back`
(回到我) the case comes straight back to the returning step once the
target approves; otherwise it runs the path again.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.engine import runtime as rt
from govflow.engine.effects import SentBack
from govflow.engine.operations import return_targets
from govflow.errors import InvalidInput
from govflow.processes.services import version_definition

from .. import events, task_status
from ..bridge import Changes, advance, load_state
from ..models import Case, Task
from ..task_status import Decision
from .common import engine_refusals, lock_live_task, reason


def task_return_targets(*, case: Case, task: Task) -> list[str]:
    """The node ids the task may send the case back to (none for a task
    that is not live)."""
    if not task.is_live or case.state is None:
        return []
    return return_targets(version_definition(case.version), load_state(case), task.engine_id)


@transaction.atomic
def task_return(
    *,
    task_id: int,
    actor,
    target: str,
    opinion: str,
    come_back: bool = False,
    now: datetime | None = None,
) -> Task:
    """Send the case back from the task to the earlier step `target`, with a
    written reason the applicant's page shows. The task is closed as
    "returned"; the target gets a new task."""
    now = now or timezone.now()
    case, task, _is_head = lock_live_task(task_id, actor)
    opinion = reason(opinion)
    if not isinstance(target, str) or not target:
        raise InvalidInput("choose the step to send the case back to", fields={"target": ["required"]})
    changes = Changes(now=now)
    with engine_refusals(field="target"):
        result = advance(
            case,
            rt.ReturnTask(task.engine_id, target, actor=str(actor.pk), opinion=opinion, come_back=come_back),
            changes,
            actor_id=actor.pk,
        )
    sent = next(e for e in result.effects if isinstance(e, SentBack))
    cancelled = sorted(
        e.task_id for e in result.effects if isinstance(e, rt.TaskCancelled) and e.reason == "returned"
    )
    changes.event(
        Action.TASK_RETURNED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        target=target,
        opinion=opinion,
        come_back=come_back,
        department=task.department_id,
        cleared=list(sent.cleared),
        block=sent.block,
        cancelled=cancelled,
    )
    changes.happened(
        events.TaskReturned(
            case,
            task,
            target,
            opinion,
            cleared=sent.cleared,
            block=sent.block,
            come_back=come_back,
            actor_id=actor.pk,
        )
    )
    decision = Decision(outcome="returned", opinion=opinion, decided_by_id=actor.pk)
    task_status.decide(task, decision, now, decided_by=actor)
    changes.decided[(case.pk, task.engine_id)] = decision
    changes.flush()
    return task
