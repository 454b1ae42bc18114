"""The working-day calendar from the database, and deadline arithmetic."""

from __future__ import annotations

import threading
import time as _time
from datetime import datetime
from pathlib import Path

from django.db import transaction
from ruamel.yaml import YAML

from govflow.errors import InvalidInput

from .calendar import CalendarYear as YearData
from .calendar import CalendarYearMissing, WorkingCalendar, load_calendar_file
from .models import Calendar, CalendarDay, CalendarYear, Timer

CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, WorkingCalendar]] = {}
_lock = threading.Lock()


def calendar_invalidate() -> None:
    with _lock:
        _cache.clear()


def calendar_get(code: str = "cn") -> WorkingCalendar:
    """The calendar of a jurisdiction as loaded in the database (cached for a
    minute per process; edits through the services invalidate it at once)."""
    hit = _cache.get(code)
    if hit is not None and _time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    calendar = Calendar.objects.filter(code=code).first()
    years: list[YearData] = []
    if calendar is not None:
        days = list(CalendarDay.objects.filter(calendar=calendar).values_list("date", "kind"))
        for year in CalendarYear.objects.filter(calendar=calendar).values_list("year", flat=True):
            years.append(
                YearData(
                    year=year,
                    holidays=frozenset(d for d, k in days if k == CalendarDay.HOLIDAY and d.year == year),
                    workdays=frozenset(d for d, k in days if k == CalendarDay.WORKDAY and d.year == year),
                )
            )
    working = WorkingCalendar(years)
    with _lock:
        _cache[code] = (_time.monotonic(), working)
    return working


@transaction.atomic
def calendar_import_file(path: str | Path) -> tuple[Calendar, list[int]]:
    """Load (idempotently) a calendar file such as fixtures/calendar/cn.yaml:
    the years in the file replace the same years in the database."""
    years = load_calendar_file(path)
    document = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8"))
    code = str(document["jurisdiction"])
    names = document.get("name") or {}
    calendar, _ = Calendar.objects.update_or_create(
        code=code, defaults={"name_zh": names.get("zh", code), "name_en": names.get("en", code)}
    )
    sources = document.get("years") or {}
    names_by_date: dict = {}
    for info in sources.values():
        for entry in (info or {}).get("holidays") or []:
            start, end = entry["from"], entry["to"]
            label = (entry.get("name") or {}).get("zh", "")
            day = start
            while day <= end:
                names_by_date[day] = label
                day = day.fromordinal(day.toordinal() + 1)
    loaded = []
    for year in years:
        source = (sources.get(year.year) or {}).get("source") or {}
        CalendarYear.objects.update_or_create(
            calendar=calendar,
            year=year.year,
            defaults={"source": " ".join(str(source.get(k, "")) for k in ("title", "number")).strip()[:300]},
        )
        CalendarDay.objects.filter(calendar=calendar, date__year=year.year).delete()
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(
                    calendar=calendar, date=d, kind=CalendarDay.HOLIDAY, name=names_by_date.get(d, "")
                )
                for d in sorted(year.holidays)
            ]
            + [
                CalendarDay(calendar=calendar, date=d, kind=CalendarDay.WORKDAY)
                for d in sorted(year.workdays)
            ]
        )
        loaded.append(year.year)
    transaction.on_commit(calendar_invalidate)
    return calendar, loaded


def calendar_day_problem(day: CalendarDay) -> str | None:
    """Why a hand-entered calendar day would be wrong, or None."""
    if day.kind == CalendarDay.WORKDAY and day.date.weekday() < 5:
        return "only a Saturday or Sunday can be an adjusted working day (weekdays are working days already)"
    if day.kind not in (CalendarDay.HOLIDAY, CalendarDay.WORKDAY):
        return f"unknown kind {day.kind!r}"
    return None


def _audit_calendar(action: str, actor, calendar: Calendar, **data) -> None:
    from django.utils import timezone

    from govflow.audit.services import PendingAudit, audit_write

    audit_write(
        [
            PendingAudit(
                action=action,
                at=timezone.now(),
                actor_id=getattr(actor, "pk", None),
                object_type="calendar",
                object_id=calendar.code,
                data=data,
            )
        ]
    )


@transaction.atomic
def calendar_day_save(*, day: CalendarDay, actor=None) -> CalendarDay:
    """Add or change a holiday or an adjusted working day. A day in a year
    that is not loaded yet waits for its year (see calendar_year_save)."""
    problem = calendar_day_problem(day)
    if problem is not None:
        raise InvalidInput(problem, fields={"date": [problem]})
    day.save()
    _audit_calendar(
        "CALENDAR_DAY_SAVED", actor, day.calendar, date=day.date.isoformat(), kind=day.kind, name=day.name
    )
    transaction.on_commit(calendar_invalidate)
    return day


@transaction.atomic
def calendar_day_delete(*, day: CalendarDay, actor=None) -> None:
    calendar, date, kind = day.calendar, day.date, day.kind
    day.delete()
    _audit_calendar("CALENDAR_DAY_DELETED", actor, calendar, date=date.isoformat(), kind=kind)
    transaction.on_commit(calendar_invalidate)


@transaction.atomic
def calendar_year_save(*, year: CalendarYear, actor=None) -> CalendarYear:
    """Mark a year as loaded: its holidays and worked weekends must be in
    place first (a loaded year with no days is a year without holidays).
    Timers that waited for it get their due dates once this commits."""
    year.save()
    _audit_calendar("CALENDAR_YEAR_SAVED", actor, year.calendar, year=year.year, source=year.source)
    code = year.calendar.code
    transaction.on_commit(lambda: (calendar_invalidate(), timers_reschedule_unscheduled(code=code)))
    return year


@transaction.atomic
def calendar_year_delete(*, year: CalendarYear, actor=None) -> None:
    calendar, number = year.calendar, year.year
    year.delete()
    _audit_calendar("CALENDAR_YEAR_DELETED", actor, calendar, year=number)
    transaction.on_commit(calendar_invalidate)


def deadline(
    calendar: WorkingCalendar,
    start: datetime,
    *,
    days: int | None,
    hours: float | None,
    fraction: float = 1.0,
) -> tuple[datetime | None, str]:
    """When a timer of `days`/`hours` started at `start` falls due, and at
    `fraction` of the way there for reminders. Returns (None, problem) when
    the calendar lacks a year: the timer then waits for an admin to load it
    (reported by `reconcile`), it is never guessed."""
    try:
        full = calendar.due_at(start, days=days, hours=hours)
        if fraction >= 1.0:
            return full, ""
        span = calendar.working_seconds_between(start, full)
        return calendar.add_working_seconds(start, int(span * fraction)), ""
    except CalendarYearMissing as exc:
        return None, str(exc)


def _timer_span(definition, timer: Timer) -> tuple[int | None, float | None, float] | None:
    """The (days, hours, fraction) a timer was started with, from its node."""
    node = definition.nodes.get(timer.node_id)
    if node is None:
        return None
    if timer.kind in ("sla_reminder", "sla_breach"):
        if node.sla is None:
            return None
        fraction = node.sla.remind_at if timer.kind == "sla_reminder" else 1.0
        return node.sla.limit.days, node.sla.limit.hours, fraction if fraction is not None else 1.0
    if node.duration is None:
        return None
    return node.duration.days, node.duration.hours, 1.0


def timers_reschedule_unscheduled(*, code: str | None = None) -> tuple[int, int]:
    """Compute the due date of every live timer that has none because the
    calendar lacked a year when it started (`Timer.problem`), counting from
    when it started. Call after loading a year. Returns (rescheduled, still
    unscheduled). Each case is locked while its timers change, as the case
    services do; an SLA timer of a case whose clock is paused now becomes
    paused with the office time it had left at the pause. (Pauses that began
    and ended while the timer had no date are not added to it.)"""
    from govflow.cases.models import Case, Task
    from govflow.processes.services import version_definition

    calendar_invalidate()
    case_ids = sorted(
        set(Timer.objects.filter(status=Timer.PENDING, due_at__isnull=True).values_list("case_id", flat=True))
    )
    rescheduled = still_missing = 0
    for case_id in case_ids:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).select_related("version").get(pk=case_id)
            definition = version_definition(case.version)
            if code is not None and definition.calendar != code:
                continue
            calendar = calendar_get(definition.calendar)
            timers = Timer.objects.select_for_update().filter(
                case=case, status=Timer.PENDING, due_at__isnull=True
            )
            for timer in timers:
                if timer.resumed_at is not None and timer.remaining_seconds is not None:
                    # Resumed while the year was missing: what was left then.
                    try:
                        due, problem = (
                            calendar.add_working_seconds(timer.resumed_at, timer.remaining_seconds),
                            "",
                        )
                    except CalendarYearMissing as exc:
                        due, problem = None, str(exc)
                    if due is not None:
                        timer.remaining_seconds = timer.resumed_at = None
                else:
                    span = _timer_span(definition, timer)
                    if span is None:
                        still_missing += 1
                        continue
                    days, hours, fraction = span
                    due, problem = deadline(
                        calendar, timer.created_at, days=days, hours=hours, fraction=fraction
                    )
                if due is None:
                    timer.problem = problem[:300]
                    timer.save(update_fields=["problem"])
                    still_missing += 1
                    continue
                timer.problem = ""
                paused_at = case.clock_paused_at
                if paused_at is not None and timer.kind in ("sla_reminder", "sla_breach"):
                    timer.status = Timer.PAUSED
                    timer.remaining_seconds = (
                        calendar.working_seconds_between(paused_at, due) if due > paused_at else 0
                    )
                else:
                    timer.due_at = due
                timer.save(update_fields=["status", "due_at", "remaining_seconds", "resumed_at", "problem"])
                if timer.kind == "sla_breach" and timer.task_id is not None and timer.due_at is not None:
                    Task.objects.filter(pk=timer.task_id).update(due_at=timer.due_at)
                rescheduled += 1
    return rescheduled, still_missing
