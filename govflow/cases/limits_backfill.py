"""Case-level limits for cases accepted before they existed
(`manage.py case_limits_backfill`, govflow.cases.limits).

An open case accepted (受理) without case timers gets them, counted from its
`accepted_at` on the calendar as loaded now and moved by the office time its
clock has already stood still (`paused_seconds`); a case whose clock stands
still now gets them paused. The time left is written as the timer's starting
point ({"from", "left"} in `pauses`), so a recomputation after a calendar
year is loaded gives the same date. A limit (or its warning point) already
passed is recorded as fired, without notifying anyone: the dashboard counts
the case as over, and nobody is woken by years-old reminders. One audit
event per case (DEADLINES_RECOMPUTED, `backfill: true`). Idempotent: a case
that has its timers is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.processes.services import version_definition
from govflow.timers.calendar import tolerant
from govflow.timers.deadlines import resumed
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .bridge import _pause
from .limits import CASE_TIMER_KINDS, limits_start
from .models import OPEN_CASE_STATUSES, Case


@dataclass
class Backfilled:
    cases: int = 0
    timers: int = 0
    passed: int = 0  # recorded as fired: already past when backfilled


def limits_backfill(*, now: datetime | None = None) -> Backfilled:
    now = now or timezone.now()
    done = Backfilled()
    has_limits = Timer.objects.filter(kind__in=list(CASE_TIMER_KINDS)).values("case_id")
    candidates = (
        Case.objects.filter(status__in=OPEN_CASE_STATUSES, accepted_at__isnull=False)
        .exclude(pk__in=has_limits)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for case_id in list(candidates):
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).select_related("version").get(pk=case_id)
            if (
                case.status not in OPEN_CASE_STATUSES
                or Timer.objects.filter(case=case, kind__in=list(CASE_TIMER_KINDS)).exists()
            ):
                continue  # ended or started meanwhile
            definition = version_definition(case.version)
            calendar = calendar_get(definition.calendar)
            timers = limits_start(case, definition, calendar, case.accepted_at)
            if not timers:
                continue
            for timer in timers:
                start = case.accepted_at
                span, _ = tolerant(
                    calendar, lambda cal, t=timer, s=start: cal.working_seconds_between(s, t.due_at)
                )
                left = span + case.paused_seconds
                moved = resumed(calendar, start, left)
                timer.due_at, timer.provisional = moved.due_at, timer.provisional or moved.provisional
                timer.nominal_end = None
                timer.pauses = [{"from": start.isoformat(), "left": left}]
                if case.clock_paused_at is not None and timer.due_at > case.clock_paused_at:
                    _pause(timer, calendar, case.clock_paused_at)
                elif timer.due_at <= now:
                    timer.status, timer.fired_at = Timer.FIRED, now
                    done.passed += 1
            Timer.objects.bulk_create(timers)
            audit_write(
                [
                    PendingAudit(
                        action=Action.DEADLINES_RECOMPUTED,
                        at=now,
                        actor_id=None,
                        object_type="case",
                        object_id=str(case.pk),
                        case_id=case.pk,
                        data={
                            "backfill": True,
                            "timers": [
                                {
                                    "timer": t.engine_id,
                                    "kind": t.kind,
                                    "to": t.due_at.isoformat() if t.due_at else None,
                                    "status": t.status,
                                    "provisional": t.provisional,
                                }
                                for t in timers
                            ],
                        },
                    )
                ]
            )
            done.cases += 1
            done.timers += len(timers)
    return done
