"""延期 (行政许可法 art 42): a task's time limit moves later once its
department head approved an extension.

The template says by how much and how often (`extension: {days: 10}` on the
user task, 10 working days once by default, `max: N` for more, `extension:
none` to forbid it); the engine counts the extensions per node and refuses
one too many (`ExtendTask`). The task's SLA timers (reminder and breach)
move by the extension, counted from their old due dates as a limit is
counted from its start; a timer paused with the case clock keeps that much
more office time. Each move is written into the timer's `pauses`, so a
recomputation after a calendar year is loaded (`timers_recompute`) replays
it, and a date that reaches into a year not loaded yet is provisional like
any other. The case's statutory limit (govflow.cases.limits) moves by the
same span; its promise (承诺时限) does not. The applicant is told in writing
(a letter, govflow.letters).

The request and the head's answer live in govflow.collab.extensions; this
module is what an approval does to the case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from govflow.audit.actions import Action
from govflow.engine import runtime as rt
from govflow.engine.definition import Extension
from govflow.engine.effects import TaskExtended
from govflow.errors import Conflict
from govflow.processes.services import version_definition
from govflow.timers.deadlines import deadline, extension_entry, extension_seconds
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .. import events
from ..bridge import SLA_TIMER_KINDS, Changes, advance
from ..limits import STATUTORY_TIMER_KINDS
from ..models import Case, Task
from .common import engine_refusals

LEGAL_BASIS = "《中华人民共和国行政许可法》第四十二条"


@dataclass(frozen=True)
class Extended:
    task: Task
    days: int | None
    hours: float | None
    due_before: datetime | None
    due_after: datetime | None
    provisional: bool
    count: int
    letter: object  # govflow.letters.models.Letter


def extension_rule(*, case: Case, task: Task) -> Extension | None:
    """The extension the template allows the task's step (None: none)."""
    node = version_definition(case.version).nodes.get(task.node_id)
    if node is None or node.sla is None:
        return None
    return node.extension


def extensions_used(*, case: Case, node_id: str) -> int:
    return int(((case.state or {}).get("extensions") or {}).get(node_id, 0))


def extension_check(*, case: Case, task: Task, now: datetime) -> Extension:
    """The rule, if the task may be extended now; else Conflict with a code:
    task_not_live, extension_not_allowed, extension_limit_reached,
    deadline_passed (an extension is decided within the limit)."""
    if not task.is_live:
        raise Conflict("this task has been decided or cancelled", code="task_not_live")
    rule = extension_rule(case=case, task=task)
    engine_task = ((case.state or {}).get("tasks") or {}).get(task.engine_id) or {}
    if rule is None or engine_task.get("added"):
        raise Conflict("the template does not allow extending this step", code="extension_not_allowed")
    if extensions_used(case=case, node_id=task.node_id) >= rule.max:
        raise Conflict(
            "this step's time limit was already extended as often as the template allows",
            code="extension_limit_reached",
        )
    if case.clock_paused_at is None and task.due_at is not None and task.due_at <= now:
        raise Conflict(
            "the time limit has passed: an extension must be decided within it", code="deadline_passed"
        )
    return rule


def _extend_timer(timer: Timer, task: Task | None, calendar, effect: TaskExtended, now: datetime) -> bool:
    """Move one SLA timer (and the task's copy of its date) by the extension."""
    span = {"days": effect.days, "hours": effect.hours}
    if timer.status == Timer.PENDING and timer.due_at is not None:
        later = deadline(calendar, timer.due_at, **span)
        timer.due_at, timer.provisional = later.due_at, timer.provisional or later.provisional
        timer.pauses = [*timer.pauses, extension_entry(now, **span, paused=False)]
        timer.nominal_end = None  # moved by working time (see deadlines.replay)
        if task is not None and timer.kind == "sla_breach":
            task.due_at, task.due_provisional = timer.due_at, timer.provisional
        elif task is not None:
            task.remind_at = timer.due_at
        return True
    if timer.status == Timer.PAUSED:
        timer.remaining_seconds = (timer.remaining_seconds or 0) + extension_seconds(calendar, **span)
        # Before the open pause: replay adds it to the time left there.
        pauses = list(timer.pauses)
        open_pauses = [i for i, entry in enumerate(pauses) if isinstance(entry, list) and entry[1] is None]
        pauses.insert(
            open_pauses[-1] if open_pauses else len(pauses), extension_entry(now, **span, paused=True)
        )
        timer.pauses = pauses
        timer.nominal_end = None
        return True
    return False


def _move_timers(case: Case, task: Task, effect: TaskExtended, now: datetime) -> None:
    calendar = calendar_get(version_definition(case.version).calendar)
    timers = Timer.objects.select_for_update().filter(
        case=case, task=task, kind__in=SLA_TIMER_KINDS, status__in=[Timer.PENDING, Timer.PAUSED]
    )
    for timer in timers.order_by("id"):
        if _extend_timer(timer, task, calendar, effect, now):
            timer.save(update_fields=["due_at", "remaining_seconds", "provisional", "pauses", "nominal_end"])
    task.save(update_fields=["due_at", "due_provisional", "remind_at"])
    # The case's statutory limit moves with it (art 42); the promise does not.
    statutory = Timer.objects.select_for_update().filter(
        case=case, kind__in=STATUTORY_TIMER_KINDS, status__in=[Timer.PENDING, Timer.PAUSED]
    )
    for timer in statutory.order_by("id"):
        if _extend_timer(timer, None, calendar, effect, now):
            timer.save(update_fields=["due_at", "remaining_seconds", "provisional", "pauses", "nominal_end"])


def timers_extend_new(*, changes: Changes, case: Case, effect: TaskExtended, now: datetime) -> None:
    """A task created in this step that keeps its predecessor's extensions
    (a take-back gives a task back with the time limit it had): move its
    SLA timers, still in `changes`, before they are written."""
    calendar = calendar_get(version_definition(case.version).calendar)
    for timer in changes.new_timers:
        if (
            timer.case is case
            and timer.kind in SLA_TIMER_KINDS
            and timer.task is not None
            and timer.task.engine_id == effect.task_id
        ):
            _extend_timer(timer, timer.task, calendar, effect, now)


def task_extend(
    *,
    case: Case,
    task: Task,
    actor,
    reason: str,
    now: datetime,
    inform: Callable[..., object],
    requested_by_id: int | None = None,
) -> Extended:
    """Extend the task's time limit by its step's extension and tell the
    applicant in writing: `inform(case, task, extended, reason=, actor=,
    now=, key=)` issues the letter (govflow.letters.extension, passed in by
    govflow.collab.extensions) and returns it. The caller holds the case
    lock and has checked that `actor` heads the task's department; the
    engine refuses an extension the template does not allow (Conflict).
    """
    extension_check(case=case, task=task, now=now)
    changes = Changes(now=now)
    before = task.due_at
    with engine_refusals():
        result = advance(case, rt.ExtendTask(task.engine_id, actor=str(actor.pk)), changes, actor_id=actor.pk)
    effect = next(e for e in result.effects if isinstance(e, TaskExtended))
    _move_timers(case, task, effect, now)
    after = task.due_at if case.clock_paused_at is None else None
    changes.event(
        Action.TASK_EXTENDED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        days=effect.days,
        hours=effect.hours,
        count=effect.count,
        due_before=before.isoformat() if before else None,
        due_after=after.isoformat() if after else None,
        provisional=task.due_provisional,
        reason=reason,
        requested_by=requested_by_id,
        legal_basis=LEGAL_BASIS,
    )
    changes.happened(
        events.TaskExtended(
            case, task, effect.days, effect.hours, before, after, reason=reason, actor_id=actor.pk
        )
    )
    # The reviewer holding it (else the department) hears of the new date.
    changes.emit(
        "notify",
        f"{case.pk}:{task.engine_id}:extended:{effect.count}",
        kind="deadline_changed",
        case=case.pk,
        task=task.engine_id,
    )
    moved = Extended(task, effect.days, effect.hours, before, after, task.due_provisional, effect.count, None)
    # Rendered before the flush: the flush's audit write holds the chain's
    # head until the commit, and a render must not keep every writer waiting.
    letter = inform(
        case,
        task,
        moved,
        reason=reason,
        actor=actor,
        now=now,
        key=f"extension:{case.pk}:{task.engine_id}:{effect.count}",
    )
    changes.flush()
    return Extended(
        task, effect.days, effect.hours, before, after, task.due_provisional, effect.count, letter
    )
