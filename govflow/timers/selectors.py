"""Reading the working-day calendar's coverage: how long the loaded years
last from a given day, and whether administrators should be warned that the
next year's State Council notice is not loaded yet. Read-only; the years
come from `calendar_get`'s per-process cache, so asking costs at most the
list of calendars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from .models import Calendar
from .services import calendar_get


@dataclass(frozen=True)
class Coverage:
    """How far one calendar reaches from `today`.

    `last_day` is the 31 December of the last year of the run of consecutive
    loaded years that holds today's year (None when today's year itself is
    not loaded). `days_left` counts calendar days from today to `last_day`;
    when today's year is not loaded it is negative: the days since the last
    loaded year before today ended (or since 31 December of last year, when
    no earlier year is loaded). `missing_year` is the first year from
    today's on that is not loaded. `loaded_any` is false when no year at
    all is loaded (a new installation before its first `load_calendar`).
    """

    code: str
    last_day: date | None
    days_left: int
    missing_year: int | None
    lead_days: int
    is_warning: bool
    loaded_any: bool = True

    @property
    def is_expired(self) -> bool:
        """Today's own year is not loaded."""
        return self.last_day is None


def lead_days() -> int:
    return int(settings.GOVFLOW_CALENDAR_WARNING_DAYS)


def coverage_of(code: str, loaded_years, *, today: date, lead: int) -> Coverage:
    """The coverage of a set of loaded years (pure; see calendar_coverage)."""
    loaded = frozenset(loaded_years)
    missing = today.year
    while missing in loaded:
        missing += 1
    if missing > today.year:
        last_day: date | None = date(missing - 1, 12, 31)
        days_left = (last_day - today).days
    else:
        last_day = None
        earlier = [year for year in loaded if year < today.year]
        ended = date(max(earlier) if earlier else today.year - 1, 12, 31)
        days_left = (ended - today).days
    return Coverage(
        code=code,
        last_day=last_day,
        days_left=days_left,
        missing_year=missing,
        lead_days=lead,
        is_warning=last_day is None or days_left <= lead,
        loaded_any=bool(loaded),
    )


def calendar_coverage(code: str = "cn", *, today: date) -> Coverage:
    """How far the loaded calendar `code` reaches from `today`, and whether
    that is within GOVFLOW_CALENDAR_WARNING_DAYS (a warning)."""
    return coverage_of(code, calendar_get(code).loaded_years, today=today, lead=lead_days())


def calendar_codes() -> list[str]:
    """The calendars in use: every calendar in the database, and the default
    one even before anything is loaded into it."""
    codes = set(Calendar.objects.values_list("code", flat=True))
    codes.add(settings.GOVFLOW_DEFAULT_CALENDAR)
    return sorted(codes)


def calendar_coverages(*, today: date) -> list[Coverage]:
    """The coverage of every calendar in use, by code."""
    lead = lead_days()
    return [
        coverage_of(code, calendar_get(code).loaded_years, today=today, lead=lead)
        for code in calendar_codes()
    ]


def calendar_warnings(*, today: date) -> list[Coverage]:
    """The calendars in use that run out within the lead time (or already have)."""
    return [coverage for coverage in calendar_coverages(today=today) if coverage.is_warning]
