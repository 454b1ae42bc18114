"""Work nobody clicks: due timers and service tasks.

`timers_fire_due` is what the beat job runs every few seconds. It claims a
batch of due timer rows with FOR UPDATE SKIP LOCKED and locks their cases
with SKIP LOCKED too, so two sweepers never wait on each other and never
fire the same timer: a timer is fired under its row lock and marked fired in
the same transaction. Cases a user is busy with are skipped and picked up by
the next sweep. A timer the engine refuses to fire is set aside with the
reason (`Timer.problem`) for reconcile to report, never retried in a loop.
A timer whose firing decides something (silent consent, deemed withdrawal)
is never fired on a provisional date (one counted over a calendar year not
loaded yet): it waits until loading the year makes its date exact.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.engine import EngineError
from govflow.engine import runtime as rt
from govflow.processes.handlers import HANDLERS, HandlerContext, HandlerFailed
from govflow.processes.services import version_definition
from govflow.timers.models import Timer

from . import limits
from .bridge import Changes, advance
from .models import Case, Task, TaskKind, TaskStatus

log = logging.getLogger(__name__)
SWEEP_BATCH = 200


class _TimerRefused(Exception):
    def __init__(self, timer: Timer, error: EngineError) -> None:
        super().__init__(timer.pk, str(error))
        self.timer = timer
        self.error = error


def timers_fire_due(*, now: datetime | None = None, batch: int = SWEEP_BATCH, max_batches: int = 1000) -> int:
    """Fire every timer due at `now`, oldest first; returns how many fired."""
    now = now or timezone.now()
    fired = 0
    for _ in range(max_batches):
        try:
            count, settled, claimed = _fire_batch(now, batch)
        except _TimerRefused as refused:
            # The engine refused it (e.g. no branch matches after an automatic
            # decision): that will not change, so it is set aside with the
            # reason, reconcile reports it, and the batch is tried again.
            log.error(
                "timer %s of case %s cannot fire: %s",
                refused.timer.engine_id,
                refused.timer.case_id,
                refused.error,
            )
            Timer.objects.filter(pk=refused.timer.pk).update(problem=f"cannot fire: {refused.error}"[:300])
            continue
        fired += count
        if claimed < batch or settled == 0:
            break  # nothing more is due, or what is left is locked by someone else
    return fired


def _fire_batch(now: datetime, batch: int) -> tuple[int, int, int]:
    """(fired, fired or found moot, claimed). One transaction and no
    savepoints: a timer the engine refuses rolls the whole batch back."""
    with transaction.atomic():
        timers = list(
            Timer.objects.select_for_update(skip_locked=True)
            .filter(status=Timer.PENDING, due_at__lte=now, problem="")
            # No legal effect on a guess: these wait for their year's calendar.
            .exclude(provisional=True, legal_effect=True)
            .order_by("due_at", "id")[:batch]
        )
        if not timers:
            return 0, 0, 0
        case_ids = sorted({t.case_id for t in timers})
        cases = {
            c.pk: c
            for c in Case.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("version")
            .filter(pk__in=case_ids)
            .order_by("pk")
        }
        changes = Changes(now=now)
        fired = moot = 0
        for timer in timers:
            case = cases.get(timer.case_id)
            if case is None:
                continue  # a user holds the case; the next sweep takes it
            if timer.kind in limits.CASE_TIMER_KINDS:
                # The case's own limits: the engine does not know them.
                if case.completed_at is not None:
                    changes.cancelled_timers.append((case.pk, timer.engine_id))  # already moot
                    moot += 1
                    continue
                limits.limit_fire(case, timer, changes)
                changes.fired_timers.append(timer.pk)
                fired += 1
                continue
            if case.state is None or timer.engine_id not in case.state.get("timers", {}):
                changes.cancelled_timers.append((case.pk, timer.engine_id))  # already moot
                moot += 1
                continue
            try:
                advance(case, rt.FireTimer(timer.engine_id), changes)
            except EngineError as exc:
                raise _TimerRefused(timer, exc) from exc
            changes.fired_timers.append(timer.pk)
            changes.event(
                Action.TIMER_FIRED,
                case,
                object_type="timer",
                object_id=timer.engine_id,
                kind=timer.kind,
                node=timer.node_id,
                due_at=timer.due_at.isoformat(),
            )
            fired += 1
        changes.flush()
        return fired, fired + moot, len(timers)


def service_task_execute(*, case_id: int, task_engine_id: str, now: datetime | None = None) -> bool:
    """Run a service task's handler and move the case on. Idempotent: a task
    that is no longer open is left alone (returns False). HandlerFailed
    propagates so the Celery task can retry with backoff."""
    now = now or timezone.now()
    task = Task.objects.filter(case_id=case_id, engine_id=task_engine_id, kind=TaskKind.SERVICE).first()
    if task is None or task.status != TaskStatus.OPEN:
        return False
    case = Case.objects.select_related("version").get(pk=case_id)

    node = version_definition(case.version).nodes[task.node_id]
    handler = HANDLERS.get(node.handler or "")
    if handler is None:
        raise HandlerFailed(f"no handler named '{node.handler}' is registered")
    # The handler runs outside the case lock: it may be slow or call out.
    result = handler(HandlerContext(case_id=case_id, data=case.data, today=timezone.localdate(now)))
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("version").get(pk=case_id)
        if case.state is None or task_engine_id not in case.state.get("tasks", {}):
            return False
        changes = Changes(now=now)
        advance(case, rt.ServiceDone(task_engine_id, result), changes)
        changes.event(
            Action.SERVICE_TASK_COMPLETED,
            case,
            object_type="task",
            object_id=task_engine_id,
            node=task.node_id,
            handler=node.handler,
            result=result,
        )
        changes.flush()
    return True
