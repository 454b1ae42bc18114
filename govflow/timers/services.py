"""The working-day calendar from the database, and deadline arithmetic."""

from __future__ import annotations

import threading
import time as _time
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from ruamel.yaml import YAML

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.errors import InvalidInput
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .calendar import CalendarYear as YearData
from .calendar import WorkingCalendar, load_calendar_file
from .deadlines import Deadline, deadline
from .models import Calendar, CalendarDay, CalendarYear

__all__ = ["Deadline", "deadline"]  # re-exported: where callers have always found them

RECOMPUTE_TOPIC = "calendar_recompute"
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


def calendar_audit(action: str, actor, calendar: Calendar, **data) -> None:
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
    calendar_audit(
        Action.CALENDAR_DAY_SAVED,
        actor,
        day.calendar,
        date=day.date.isoformat(),
        kind=day.kind,
        name=day.name,
    )
    transaction.on_commit(calendar_invalidate)
    return day


@transaction.atomic
def calendar_day_delete(*, day: CalendarDay, actor=None) -> None:
    calendar, date, kind = day.calendar, day.date, day.kind
    day.delete()
    calendar_audit(Action.CALENDAR_DAY_DELETED, actor, calendar, date=date.isoformat(), kind=kind)
    transaction.on_commit(calendar_invalidate)


@transaction.atomic
def calendar_year_save(*, year: CalendarYear, actor=None) -> CalendarYear:
    """Mark a year as loaded: its holidays and worked weekends must be in
    place first (a loaded year with no days is a year without holidays).
    Provisional deadlines are recomputed on a worker once this commits
    (an outbox row: thousands of cases may wait for the new year)."""
    year.save()
    calendar_audit(Action.CALENDAR_YEAR_SAVED, actor, year.calendar, year=year.year, source=year.source)
    code = year.calendar.code
    transaction.on_commit(calendar_invalidate)
    now = timezone.now()
    message = OutboxMessage.objects.create(
        key=f"calendar:{code}:{year.year}:{now.isoformat()}",
        topic=RECOMPUTE_TOPIC,
        payload={"calendar": code, "actor": getattr(actor, "pk", None)},
        created_at=now,
    )
    dispatch_on_commit([message.pk])
    return year


@transaction.atomic
def calendar_year_delete(*, year: CalendarYear, actor=None) -> None:
    calendar, number = year.calendar, year.year
    year.delete()
    calendar_audit(Action.CALENDAR_YEAR_DELETED, actor, calendar, year=number)
    transaction.on_commit(calendar_invalidate)
