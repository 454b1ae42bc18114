"""Recounting deadlines once a calendar year is loaded: every timer on a
provisional date (counted by the weekday rule into a year the calendar did
not have) is replayed on the calendar as loaded now, and the tasks and
people concerned follow. It locks each case and writes its tasks as the
case services do, so it lives with them; the calendar itself, its cache
and its audit are govflow.timers'. Run by `load_calendar` at once, and by
the `calendar_recompute` outbox row a year saved in the admin queues
(govflow.cases.consumers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine.definition import Duration
from govflow.engine.runtime import timer_has_legal_effect
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit
from govflow.processes.services import version_definition
from govflow.timers.calendar import WorkingCalendar
from govflow.timers.deadlines import deadline, remaining, replay, resumed
from govflow.timers.models import Calendar, Timer
from govflow.timers.services import calendar_audit, calendar_get, calendar_invalidate

from .bridge import SLA_TIMER_KINDS
from .limits import CASE_TIMER_KINDS, timer_span
from .models import Case, Task


@dataclass
class Recomputed:
    cases: int = 0
    timers: int = 0  # whose due date (or time left) changed
    exact: int = 0  # provisional before, exact now
    still_provisional: int = 0
    notified: int = 0


def _timer_span(definition, timer: Timer) -> tuple[Duration, float] | None:
    """The limit and fraction a timer was started with, from its node (or,
    for a case's own limits, from the template's time_limit and
    statutory_limit)."""
    if timer.kind in CASE_TIMER_KINDS:
        return timer_span(definition, timer.kind)
    node = definition.nodes.get(timer.node_id)
    if node is None:
        return None
    if timer.kind in SLA_TIMER_KINDS:
        if node.sla is None:
            return None
        fraction = node.sla.remind_at if timer.kind == "sla_reminder" else 1.0
        return node.sla.limit, fraction if fraction is not None else 1.0
    if node.duration is None:
        return None
    return node.duration, 1.0


def timers_recompute(*, code: str | None = None, actor=None, now: datetime | None = None) -> Recomputed:
    """Recount every provisional deadline (and any timer of an older version
    left with no due date) on the calendar as loaded now. Call after loading
    a year; idempotent, and cheap when nothing is provisional.

    Each case is locked while its timers change, as the case services do,
    and gets one audit event (DEADLINES_RECOMPUTED) listing each timer's old
    and new date; the people concerned are notified when a date moved (the
    reviewer or department of a review task, the applicant of a correction
    deadline); one CALENDAR_DEADLINES_RECOMPUTED event sums the run up.
    A legal-effect timer held on a provisional date that is now exact and
    past fires at the next sweep."""
    now = now or timezone.now()
    calendar_invalidate()
    waiting = Timer.objects.filter(status__in=[Timer.PENDING, Timer.PAUSED]).filter(
        Q(provisional=True) | Q(status=Timer.PENDING, due_at__isnull=True)
    )
    case_ids = sorted(set(waiting.values_list("case_id", flat=True)))
    summary = Recomputed()
    codes: set[str] = set()
    for case_id in case_ids:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).select_related("version").get(pk=case_id)
            definition = version_definition(case.version)
            if code is not None and definition.calendar != code:
                continue
            codes.add(definition.calendar)
            calendar = calendar_get(definition.calendar)
            changes: list[dict] = []
            moved_tasks: dict[int, Timer] = {}
            for timer in waiting.select_for_update().filter(case=case).order_by("id"):
                before = (timer.due_at, timer.remaining_seconds, timer.provisional, timer.status)
                span = _timer_span(definition, timer)
                node = definition.nodes.get(timer.node_id)
                if span is None or (node is None and timer.node_id):
                    continue  # the node lost its limit: reconcile reports a timer without a date
                if node is not None:
                    timer.legal_effect = timer_has_legal_effect(node, timer.kind)
                if timer.due_at is None and not timer.provisional and timer.status == Timer.PENDING:
                    _legacy_schedule(timer, case, calendar, span)
                else:
                    limit, fraction = span
                    state = replay(
                        calendar,
                        start=timer.created_at,
                        days=limit.days,
                        hours=limit.hours,
                        fraction=fraction,
                        pauses=timer.pauses,
                        calendar_days=limit.calendar_days,
                    )
                    timer.due_at, timer.remaining_seconds = state.due_at, state.remaining_seconds
                    timer.nominal_end = state.nominal
                    timer.provisional = state.provisional
                timer.problem = "" if timer.problem.startswith("the working-day calendar") else timer.problem
                after = (timer.due_at, timer.remaining_seconds, timer.provisional, timer.status)
                if after == before:
                    continue
                timer.resumed_at = None
                timer.save(
                    update_fields=[
                        "status",
                        "due_at",
                        "remaining_seconds",
                        "resumed_at",
                        "provisional",
                        "legal_effect",
                        "pauses",
                        "problem",
                        "nominal_end",
                    ]
                )
                summary.timers += 1
                summary.exact += before[2] and not timer.provisional
                changes.append(
                    {
                        "timer": timer.engine_id,
                        "kind": timer.kind,
                        "node": timer.node_id,
                        "from": before[0].isoformat() if before[0] else None,
                        "to": timer.due_at.isoformat() if timer.due_at else None,
                        "provisional": timer.provisional,
                    }
                )
                if timer.task_id is not None and timer.kind == "sla_breach":
                    Task.objects.filter(pk=timer.task_id).update(
                        due_at=timer.due_at, due_provisional=timer.provisional
                    )
                elif timer.task_id is not None and timer.kind == "sla_reminder":
                    Task.objects.filter(pk=timer.task_id).update(remind_at=timer.due_at)
                moved = before[0] is not None and timer.due_at is not None and before[0] != timer.due_at
                if moved and timer.task_id and timer.kind in ("sla_breach", "correction_deadline"):
                    moved_tasks[timer.task_id] = timer
            summary.still_provisional += Timer.objects.filter(
                case=case, status__in=[Timer.PENDING, Timer.PAUSED], provisional=True
            ).count()
            if not changes:
                continue
            summary.cases += 1
            audit_write(
                [
                    PendingAudit(
                        action=Action.DEADLINES_RECOMPUTED,
                        at=now,
                        actor_id=getattr(actor, "pk", None),
                        object_type="case",
                        object_id=str(case.pk),
                        case_id=case.pk,
                        data={"calendar": definition.calendar, "timers": changes},
                    )
                ]
            )
            messages = [
                OutboxMessage(
                    key=f"{case.pk}:{timer.task.engine_id}:deadline:{timer.due_at.isoformat()}",
                    topic="notify",
                    payload={"kind": "deadline_changed", "case": case.pk, "task": timer.task.engine_id},
                    created_at=now,
                )
                for timer in moved_tasks.values()
            ]
            if messages:
                OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
                sent = OutboxMessage.objects.filter(key__in=[m.key for m in messages])
                dispatch_on_commit(list(sent.values_list("pk", flat=True)))
                summary.notified += len(messages)
    if summary.cases:
        for calendar_code in sorted(codes):
            calendar_audit(
                Action.CALENDAR_DEADLINES_RECOMPUTED,
                actor,
                Calendar.objects.get_or_create(
                    code=calendar_code, defaults={"name_zh": calendar_code, "name_en": calendar_code}
                )[0],
                cases=summary.cases,
                timers=summary.timers,
                exact=summary.exact,
                still_provisional=summary.still_provisional,
            )
    return summary


def _legacy_schedule(timer: Timer, case, calendar: WorkingCalendar, span) -> None:
    """A timer of an older version that got no due date because its year
    was missing: count from when it started (or from when it resumed, with
    what it had left), and pause it if the case's clock is paused now."""
    if timer.resumed_at is not None and timer.remaining_seconds is not None:
        found = resumed(calendar, timer.resumed_at, timer.remaining_seconds)
        # Its pauses before are unknown: later recounts start from here.
        timer.pauses = [{"from": timer.resumed_at.isoformat(), "left": timer.remaining_seconds}]
    else:
        limit, fraction = span
        found = deadline(
            calendar,
            timer.created_at,
            days=limit.days,
            hours=limit.hours,
            fraction=fraction,
            calendar_days=limit.calendar_days,
        )
        timer.nominal_end = found.nominal
    timer.due_at, timer.remaining_seconds, timer.provisional = found.due_at, None, found.provisional
    paused_at = case.clock_paused_at
    if paused_at is not None and timer.kind in SLA_TIMER_KINDS:
        left, rough = remaining(calendar, paused_at, found.due_at)
        timer.status, timer.due_at, timer.remaining_seconds = Timer.PAUSED, None, left
        timer.provisional = timer.provisional or rough
        timer.pauses = [*timer.pauses, [paused_at.isoformat(), None]]
