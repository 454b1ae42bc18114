"""The working-day calendar from the database, and deadline arithmetic."""

from __future__ import annotations

import threading
import time as _time
from datetime import datetime
from pathlib import Path

from django.db import transaction
from ruamel.yaml import YAML

from .calendar import CalendarYear as YearData
from .calendar import CalendarYearMissing, WorkingCalendar, load_calendar_file
from .models import Calendar, CalendarDay, CalendarYear

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
            [CalendarDay(calendar=calendar, date=d, kind=CalendarDay.HOLIDAY, name=names_by_date.get(d, ""))
             for d in sorted(year.holidays)]
            + [CalendarDay(calendar=calendar, date=d, kind=CalendarDay.WORKDAY) for d in sorted(year.workdays)]
        )
        loaded.append(year.year)
    transaction.on_commit(calendar_invalidate)
    return calendar, loaded


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
