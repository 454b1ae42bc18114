"""The clocks a page shows: a task's time limit (`Sla`, green, amber, red,
paused, done) and the case's promise and statutory limit (`CaseLimit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from govflow.timers.calendar import WorkingCalendar, tolerant
from govflow.timers.models import Timer

from .. import limits
from ..models import Case
from .common import language_key


@dataclass(frozen=True)
class Sla:
    """The statutory clock of one task as the inbox shows it: green, amber
    once the template's reminder point has passed, red when overdue; paused
    while the case is with the applicant."""

    level: str  # green | amber | red | paused | done | closed | none
    due_at: datetime | None = None
    days: float | None = None  # working days left (or overdue by, when red)
    late: bool = False  # done, after the due date
    # due_at was counted over a calendar year not loaded yet (shown as 预计).
    provisional: bool = False

    @property
    def is_overdue(self) -> bool:
        return self.level == "red"


def sla_of(
    *,
    due_at: datetime | None,
    reminder_due: datetime | None,
    live: bool,
    paused: bool,
    calendar: WorkingCalendar,
    now: datetime,
    completed_at: datetime | None = None,
    provisional: bool = False,
) -> Sla:
    """The clock of a task; a finished task is `done` (late or not) when it
    was decided, `closed` when it was cancelled or expired. Working days
    left are counted like the deadline: over a year the calendar lacks, by
    the plain weekday rule."""
    if not live:
        if completed_at is None:
            return Sla("closed", due_at)
        return Sla("done", due_at, late=due_at is not None and completed_at > due_at)
    if due_at is None:
        return Sla("paused" if paused else "none")
    office_day = _office_day_seconds(calendar)
    if now >= due_at:
        overdue, _ = tolerant(calendar, lambda cal: cal.working_seconds_between(due_at, now))
        return Sla("red", due_at, overdue / office_day, provisional=provisional)
    left, _ = tolerant(calendar, lambda cal: cal.working_seconds_between(now, due_at))
    level = "amber" if reminder_due is not None and now >= reminder_due else "green"
    return Sla(level, due_at, left / office_day, provisional=provisional)


@dataclass(frozen=True)
class CaseLimit(Sla):
    """A case-level limit (govflow.cases.limits) as the case page and the
    API show it: `limit` is "promise" (承诺时限, the template's time_limit)
    or "statutory" (法定时限); the clock as `Sla` (green, amber past the
    warning point, red past the limit, paused while the case clock stops,
    done when the case ended, late or not)."""

    limit: str = ""
    title: str = ""


LIMIT_TITLES = {"promise": ("承诺时限", "Promised time"), "statutory": ("法定时限", "Statutory limit")}


def case_limits(
    case: Case, *, calendar: WorkingCalendar, now: datetime, language: str = "zh"
) -> list[CaseLimit]:
    """The case's promise and statutory limit, those its template sets and
    its acceptance started (none before 受理)."""
    timers = {
        t.kind: t
        for t in Timer.objects.filter(case=case, kind__in=list(limits.CASE_TIMER_KINDS)).order_by("id")
    }
    found = []
    for limit in limits.LIMITS:
        main = timers.get(limits.timer_kind(limit, warning=False))
        if main is None:
            continue
        warning = timers.get(limits.timer_kind(limit, warning=True))
        title = LIMIT_TITLES[limit][0 if language_key(language) == "zh" else 1]
        ended = case.completed_at
        if ended is not None:
            late = main.status == Timer.FIRED or (main.due_at is not None and ended > main.due_at)
            sla = Sla("done", main.due_at, late=late, provisional=main.provisional)
        elif main.status == Timer.PAUSED:
            left = (main.remaining_seconds or 0) / _office_day_seconds(calendar)
            sla = Sla("paused", None, left, provisional=main.provisional)
        else:
            sla = sla_of(
                due_at=main.due_at,
                reminder_due=warning.due_at if warning is not None else None,
                live=True,
                paused=False,
                calendar=calendar,
                now=now,
                provisional=main.provisional,
            )
        found.append(
            CaseLimit(sla.level, sla.due_at, sla.days, sla.late, sla.provisional, limit=limit, title=title)
        )
    return found


def _office_day_seconds(calendar: WorkingCalendar) -> float:
    opens = calendar.office_open.hour * 3600 + calendar.office_open.minute * 60
    closes = calendar.office_close.hour * 3600 + calendar.office_close.minute * 60
    return float(closes - opens)
