"""撤回/拿回: the reviewer who decided a task takes the decision back.

Allowed while nothing the decision set going has been acted on: no task it
created has been claimed or decided, no step after it has moved (the
engine keeps what each decision set going and checks it is untouched,
`govflow.engine.operations`). The task comes back to the same reviewer,
claimed, with the time limit it had; the tasks the decision created are
cancelled. Once the next reviewer has claimed or decided, or the
sub-process the decision was made in has ended, it is refused with a
message that says so. The case lock serialises a take-back with the
next reviewer's claim, whichever comes first wins.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.models import AuditEvent
from govflow.engine import runtime as rt
from govflow.engine.effects import DecisionTakenBack, TaskExtended
from govflow.engine.operations import can_take_back, has_frame_ended, taken_back_tasks
from govflow.errors import Conflict, Forbidden

from .. import events
from ..bridge import Changes, advance, load_state
from ..models import Case, Task, TaskStatus
from ..task_locks import lock_task
from .common import claim_for, engine_refusals
from .extension import timers_extend_new

TAKEN_BACK = "taken_back"


def take_back_refusal(*, case: Case, task: Task, user) -> str | None:
    """Why `user` cannot take back the decision of `task` now, or None if they can."""
    if task.status != TaskStatus.COMPLETED or task.silent_consent or task.outcome == TAKEN_BACK:
        return "only a decision you made can be taken back"
    if task.decided_by_id != user.pk:
        return "only the reviewer who decided can take the decision back"
    if AuditEvent.objects.filter(
        case=case, object_id=task.engine_id, action=Action.TASK_REPEAT_SIGNER_APPROVED
    ).exists():
        return "an automatic approval (审批人去重) cannot be taken back"
    if not case.is_open or case.state is None:
        return "the case has ended; its decisions can no longer be taken back"
    state = load_state(case)
    if has_frame_ended(state, task.engine_id):
        return "the sub-process of this step has already ended; its decision can no longer be taken back"
    if not can_take_back(state, task.engine_id):
        return "the next step has already acted on this decision; it can no longer be taken back"
    created = taken_back_tasks(state, task.engine_id)
    if created and Task.objects.filter(case=case, engine_id__in=created, status=TaskStatus.CLAIMED).exists():
        return "the next reviewer has already claimed the case; it can no longer be taken back"
    return None


@transaction.atomic
def task_take_back(*, task_id: int, actor, now: datetime | None = None) -> Task:
    """Take back the decision of task `task_id`; returns the task that
    replaces it (claimed by the actor)."""
    now = now or timezone.now()
    case, task, _membership = lock_task(task_id, actor)
    refusal = take_back_refusal(case=case, task=task, user=actor)
    if refusal is not None:
        if task.decided_by_id != actor.pk and task.status == TaskStatus.COMPLETED:
            raise Forbidden(refusal)
        raise Conflict(refusal, code="take_back_closed")
    changes = Changes(now=now)
    with engine_refusals():
        result = advance(case, rt.TakeBack(task.engine_id, actor=str(actor.pk)), changes, actor_id=actor.pk)
    back = next(e for e in result.effects if isinstance(e, DecisionTakenBack))
    for extended in (e for e in result.effects if isinstance(e, TaskExtended)):
        timers_extend_new(changes=changes, case=case, effect=extended, now=now)
    again = changes.created[(case.pk, back.again)]
    claim_for(again, actor, now)
    cancelled = sorted(
        e.task_id for e in result.effects if isinstance(e, rt.TaskCancelled) and e.reason == "taken_back"
    )
    changes.event(
        Action.TASK_DECISION_TAKEN_BACK,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        outcome=task.outcome,
        again=back.again,
        cancelled=cancelled,
        department=task.department_id,
    )
    changes.happened(events.DecisionTakenBack(case, task, back.again, actor_id=actor.pk))
    changes.flush()
    # The row keeps the opinion; the audit trail keeps what the decision was.
    Task.objects.filter(pk=task.pk).update(outcome=TAKEN_BACK)
    return again
