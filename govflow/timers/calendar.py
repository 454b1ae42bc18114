"""Working-day calendar for statutory clocks (pure Python).

Administrative Licensing Law art 82 counts periods in working days on the
official calendar: a date is a working day if it is an adjusted working day
(调休), or a Monday to Friday that is not a holiday. The calendar is data that
admins load each year (fixtures/calendar/cn.yaml); a date in a year that is
not loaded raises CalendarYearMissing rather than being guessed.

A deadline must still be given when it reaches past the last loaded year
(next year's notice comes out in November or later). `tolerant` computes it
on a copy of the calendar whose missing years follow the plain rule (Monday
to Friday are working days) and says whether the answer used such a year: a
*provisional* date, shown as such and recomputed once the year is loaded.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml import YAML, YAMLError

__all__ = [
    "CalendarYear",
    "CalendarYearMissing",
    "WorkingCalendar",
    "load_calendar_file",
    "tolerant",
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CalendarYearMissing(Exception):
    """A date or span needs a year whose calendar has not been loaded."""

    def __init__(self, year: int) -> None:
        # Only the year in args, so the exception pickles (Celery results).
        super().__init__(year)
        self.year = year

    def __str__(self) -> str:
        return (
            f"the working-day calendar has no data for {self.year}; "
            "load the State Council notice for that year"
        )


@dataclass(frozen=True)
class CalendarYear:
    """One year of the official calendar: its holidays and its worked weekend days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        for kind, days in (("holiday", self.holidays), ("worked day", self.workdays)):
            for day in sorted(days):
                if not isinstance(day, date) or isinstance(day, datetime) or day.year != self.year:
                    raise ValueError(f"calendar year {self.year}: {kind} {day!r} is not a date in that year")
        for day in sorted(self.workdays):
            if day.weekday() < 5:
                raise ValueError(
                    f"calendar year {self.year}: worked day {day} is a weekday; "
                    "only weekend days need listing as worked days"
                )
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"calendar year {self.year}: {both[0]} is both a holiday and a worked day")

    @classmethod
    def plain(cls, year: int) -> CalendarYear:
        """A year with no holidays and no worked weekends: Monday to Friday
        only. Stands in for a year whose notice is not published yet."""
        return cls(year=year, holidays=frozenset(), workdays=frozenset())

    def working_days(self) -> list[date]:
        """Every working day of the year, in order."""
        first = date(self.year, 1, 1).toordinal()
        last = date(self.year, 12, 31).toordinal()
        days = (date.fromordinal(ordinal) for ordinal in range(first, last + 1))
        return [
            day for day in days if day in self.workdays or (day.weekday() < 5 and day not in self.holidays)
        ]


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive loaded years with the ordinals of their working days, sorted."""

    first_year: int
    last_year: int
    ordinals: list[int]


class WorkingCalendar:
    """Working-day and office-hour arithmetic over the loaded calendar years.

    Day arithmetic is a bisect over the sorted working-day ordinals of each run
    of consecutive loaded years. Office time is wall-clock time in ``tz``
    between ``office_open`` and ``office_close`` on working days.
    """

    def __init__(
        self,
        years: Iterable[CalendarYear],
        *,
        tz: str = "Asia/Shanghai",
        office_open: time = time(9),
        office_close: time = time(17),
        provisional_years: Iterable[int] = (),
    ) -> None:
        by_year: dict[int, CalendarYear] = {}
        for year in years:
            if year.year in by_year:
                raise ValueError(f"calendar year {year.year} is given twice")
            by_year[year.year] = year
        try:
            self._tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        if office_open.tzinfo is not None or office_close.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times; pass naive times")
        if office_open >= office_close:
            raise ValueError(f"office_open {office_open} must be before office_close {office_close}")
        self.years: frozenset[int] = frozenset(by_year)
        # Years present only by the plain weekday rule (see with_plain_years).
        self.provisional_years: frozenset[int] = frozenset(provisional_years) & self.years
        self.loaded_years: frozenset[int] = self.years - self.provisional_years
        self._by_year = by_year
        self._plain: dict[tuple[int, int], WorkingCalendar] = {}
        self.tz = tz
        self.office_open = office_open
        self.office_close = office_close
        self._office_day = datetime.combine(date.min, office_close) - datetime.combine(date.min, office_open)
        self._working: set[int] = set()
        self._per_year: dict[int, int] = {}
        self._run_of: dict[int, _Run] = {}
        for run_years in _consecutive(sorted(by_year)):
            ordinals: list[int] = []
            for number in run_years:
                days = [day.toordinal() for day in by_year[number].working_days()]
                self._per_year[number] = len(days)
                ordinals.extend(days)
            run = _Run(run_years[0], run_years[-1], ordinals)
            self._working.update(ordinals)
            for number in run_years:
                self._run_of[number] = run

    # --- provisional years -------------------------------------------------------

    def with_plain_years(self, first: int, last: int) -> WorkingCalendar:
        """This calendar with every missing year from ``first`` (or the first
        loaded year, if earlier) to ``last`` (or the last loaded year, if
        later) filled by the plain weekday rule and marked provisional.
        Copies are kept, so asking again costs nothing."""
        key = (first, last)
        copy = self._plain.get(key)
        if copy is None:
            known = self.years or frozenset([first])
            low, high = min(first, min(known)), max(last, max(known))
            filled = [
                self._by_year[y] if y in self._by_year else CalendarYear.plain(y)
                for y in range(low, high + 1)
            ]
            missing = {y for y in range(low, high + 1) if y not in self._by_year}
            copy = WorkingCalendar(
                filled,
                tz=self.tz,
                office_open=self.office_open,
                office_close=self.office_close,
                provisional_years=self.provisional_years | missing,
            )
            self._plain[key] = copy
        return copy

    def is_exact(self, a: date, b: date) -> bool:
        """Whether every year from ``a`` to ``b`` (either order) is loaded from
        its notice, so arithmetic over the span is not provisional."""
        low, high = sorted((a.year, b.year))
        return all(year in self.loaded_years for year in range(low, high + 1))

    def is_exact_between(self, a: datetime, b: datetime) -> bool:
        """is_exact for the local dates of two instants."""
        return self.is_exact(self._local(a).date(), self._local(b).date())

    def last_loaded_day(self) -> date | None:
        """The last day of the run of loaded years that holds the latest one."""
        if not self.loaded_years:
            return None
        return date(max(self.loaded_years), 12, 31)

    # --- days -------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        self._run(d)
        return d.toordinal() in self._working

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (``d`` itself when n is 0), whatever ``d`` is."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        run = self._run(d)
        if n == 0:
            return d
        index = bisect_right(run.ordinals, d.toordinal()) + n - 1
        if index >= len(run.ordinals):
            raise CalendarYearMissing(run.last_year + 1)
        return date.fromordinal(run.ordinals[index])

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; the negated count of (b, a] when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        run = self._run(a)
        if b.year > run.last_year:
            raise CalendarYearMissing(run.last_year + 1)
        return bisect_right(run.ordinals, b.toordinal()) - bisect_right(run.ordinals, a.toordinal())

    def working_days_in_year(self, year: int) -> int:
        if year not in self._per_year:
            raise CalendarYearMissing(year)
        return self._per_year[year]

    # --- instants ---------------------------------------------------------------

    def due_at(
        self,
        start: datetime,
        *,
        days: int | None = None,
        hours: float | None = None,
        calendar_days: int | None = None,
    ) -> datetime:
        """When a period that starts at ``start`` (aware) runs out, in UTC.

        ``days`` counts statutorily: the clock starts on the working day after
        acceptance, so the period ends at office close on the days-th working
        day after the local date of ``start``. ``hours`` counts office hours
        from ``start``. ``calendar_days`` counts every day (see
        `calendar_day_end`). Give exactly one of them.
        """
        if sum(value is not None for value in (days, hours, calendar_days)) != 1:
            raise ValueError("give exactly one of days, hours or calendar_days")
        if calendar_days is not None:
            if isinstance(calendar_days, bool) or not isinstance(calendar_days, int) or calendar_days < 0:
                raise ValueError(f"calendar_days must be a non-negative whole number, got {calendar_days!r}")
            nominal = self._local(start).date() + timedelta(days=calendar_days)
            return self._utc(datetime.combine(self.calendar_day_end(nominal), self.office_close))
        if days is not None:
            if isinstance(days, bool) or not isinstance(days, int) or days < 0:
                raise ValueError(f"days must be a non-negative whole number, got {days!r}")
            due_day = self.add_working_days(self._local(start).date(), days)
            return self._utc(datetime.combine(due_day, self.office_close))
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours < math.inf:
            raise ValueError(f"hours must be a non-negative number, got {hours!r}")
        return self.add_working_seconds(start, round(hours * 3600))

    def calendar_day_end(self, nominal: date) -> date:
        """The last day of a period in calendar days whose count ends on
        ``nominal``: that day, or, when it is not a working day (a weekend or
        a statutory holiday), the next working day (民法典 art 203: a period
        whose last day is a holiday ends on the day after the holiday)."""
        return nominal if self.is_working_day(nominal) else self.add_working_days(nominal, 1)

    def local_date(self, moment: datetime) -> date:
        """The local calendar date of an aware instant."""
        return self._local(moment).date()

    def working_seconds_between(self, a: datetime, b: datetime) -> int:
        """Whole office seconds in [a, b); 0 when b is not after a."""
        local_a, local_b = self._local(a), self._local(b)
        if b <= a or local_b <= local_a:
            return 0
        first, last = local_a.date(), local_b.date()
        if first == last:
            total = self._office_overlap(first, local_a, local_b)
        else:
            total = self._office_overlap(first, local_a, None) + self._office_overlap(last, None, local_b)
            total += self._office_day * self.working_days_between(first, last - timedelta(days=1))
        return total // timedelta(seconds=1)

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant (UTC) by which ``seconds`` office seconds have passed since ``start``."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative whole number, got {seconds!r}")
        local = self._local(start)
        if seconds == 0:
            return start.astimezone(UTC)
        remaining = timedelta(seconds=seconds)
        day = local.date()
        if self.is_working_day(day):
            close = datetime.combine(day, self.office_close)
            if local < close:
                begin = max(local, datetime.combine(day, self.office_open))
                if remaining <= close - begin:
                    return self._utc(begin + remaining)
                remaining -= close - begin
        full_days, rest = divmod(remaining, self._office_day)
        if not rest:
            return self._utc(datetime.combine(self.add_working_days(day, full_days), self.office_close))
        target = self.add_working_days(day, full_days + 1)
        return self._utc(datetime.combine(target, self.office_open) + rest)

    # --- helpers ----------------------------------------------------------------

    def _run(self, d: date) -> _Run:
        if isinstance(d, datetime):
            raise TypeError("pass a date, not a datetime: the day of an instant depends on the time zone")
        run = self._run_of.get(d.year)
        if run is None:
            raise CalendarYearMissing(d.year)
        return run

    def _local(self, moment: datetime) -> datetime:
        """Naive local wall-clock time of an aware datetime."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
        return moment.astimezone(self._tz).replace(tzinfo=None)

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self._tz).astimezone(UTC)

    def _office_overlap(self, day: date, start: datetime | None, end: datetime | None) -> timedelta:
        if not self.is_working_day(day):
            return timedelta(0)
        opens = datetime.combine(day, self.office_open)
        closes = datetime.combine(day, self.office_close)
        begin = opens if start is None else max(start, opens)
        finish = closes if end is None else min(end, closes)
        return max(finish - begin, timedelta(0))


_MAX_PLAIN_YEARS = 50
T = TypeVar("T")


def tolerant(calendar: WorkingCalendar, compute: Callable[[WorkingCalendar], T]) -> tuple[T, WorkingCalendar]:
    """``compute(calendar)``; when it needs a year that is not loaded, run it
    again on a copy whose missing years follow the plain weekday rule.
    Returns the answer and the calendar that gave it: check
    ``is_exact``/``is_exact_between`` on that calendar to know whether the
    answer is exact or provisional."""
    low = high = None
    current = calendar
    for _ in range(_MAX_PLAIN_YEARS):
        try:
            return compute(current), current
        except CalendarYearMissing as exc:
            low = exc.year if low is None else min(low, exc.year)
            high = exc.year if high is None else max(high, exc.year)
            # A year of margin past the one asked for: a span that crosses
            # into the missing year usually ends in it.
            current = calendar.with_plain_years(low, high + 1)
    raise CalendarYearMissing(high if high is not None else 0)


def _consecutive(years: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for year in years:
        if runs and runs[-1][-1] == year - 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return runs


# --- the calendar file ----------------------------------------------------------

_TOP_KEYS = {"jurisdiction", "name", "years"}
_YEAR_KEYS = {"source", "holidays", "workdays"}
_SOURCE_KEYS = {"title", "number", "published", "url"}
_HOLIDAY_KEYS = {"from", "to", "name"}


def load_calendar_file(path: str | Path) -> list[CalendarYear]:
    """Read a calendar file (format: the comment atop fixtures/calendar/cn.yaml).

    Raises ValueError naming the file, year and entry of the first problem.
    A holiday or worked day may belong to the year before or after the entry
    it is listed under (a New Year break that starts in December); it is
    counted in its own year, and dropped when that year is not in the file.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            document = YAML(typ="safe").load(stream)
    except (YAMLError, ValueError) as exc:
        # The YAML constructor raises ValueError for an impossible date such as 2030-02-30.
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    return _CalendarFile(str(path)).read(document)


class _CalendarFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {where}: {problem}" if where else f"{self.path}: {problem}")

    def read(self, document: Any) -> list[CalendarYear]:
        root = self.mapping(document, "", "the file", _TOP_KEYS, required=_TOP_KEYS)
        if not isinstance(root["jurisdiction"], str) or not root["jurisdiction"]:
            raise self.fail("jurisdiction", "must be a code such as cn")
        self.label(root["name"], "name")
        years = root["years"]
        if not isinstance(years, Mapping) or not years:
            raise self.fail("years", "must map each year (e.g. 2025) to its holidays and worked days")
        holidays: dict[int, set[date]] = {}
        workdays: dict[int, set[date]] = {}
        for year in years:
            if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
                raise self.fail("years", f"{year!r} is not a year such as 2025")
            holidays[year], workdays[year] = set(), set()
        listed: dict[date, str] = {}
        for year, entry in years.items():
            where = f"year {year}"
            entry = self.mapping(entry, where, "a year", _YEAR_KEYS, required=_YEAR_KEYS)
            source = self.mapping(entry["source"], f"{where}: source", "the source", _SOURCE_KEYS, {"title"})
            if not isinstance(source["title"], str) or not source["title"].strip():
                raise self.fail(f"{where}: source", "title must name the notice")
            if "published" in source:
                self.date(source["published"], f"{where}: source: published")
            for index, raw in enumerate(self.sequence(entry["holidays"], f"{where}: holidays")):
                at = f"{where}: holiday {index + 1}"
                item = self.mapping(raw, at, "a holiday", _HOLIDAY_KEYS, required=_HOLIDAY_KEYS)
                self.label(item["name"], f"{at}: name")
                first, last = self.date(item["from"], f"{at}: from"), self.date(item["to"], f"{at}: to")
                if first > last:
                    raise self.fail(at, f"'from' {first} is after 'to' {last}")
                if (last - first).days > 31:
                    raise self.fail(at, f"{first} to {last} is longer than any holiday break")
                day = first
                while day <= last:
                    self.place(day, year, at, listed, holidays)
                    day += timedelta(days=1)
            for index, raw in enumerate(self.sequence(entry["workdays"], f"{where}: workdays")):
                at = f"{where}: workdays item {index + 1}"
                day = self.date(raw, at)
                if day.weekday() < 5:
                    raise self.fail(at, f"{day} is a weekday; list only weekend days that are worked")
                self.place(day, year, at, listed, workdays)
        return [
            CalendarYear(year=year, holidays=frozenset(holidays[year]), workdays=frozenset(workdays[year]))
            for year in sorted(holidays)
        ]

    def place(
        self, day: date, year: int, at: str, listed: dict[date, str], into: dict[int, set[date]]
    ) -> None:
        if abs(day.year - year) > 1:
            raise self.fail(at, f"{day} is not in or next to {year}")
        if day in listed:
            raise self.fail(at, f"{day} is already listed ({listed[day]})")
        listed[day] = at
        if day.year in into:
            into[day.year].add(day)

    def mapping(self, value: Any, where: str, what: str, allowed: set[str], required: set[str]) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"{what} must be a mapping")
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")
        return value

    def sequence(self, value: Any, where: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "must be a list")
        return value

    def label(self, value: Any, where: str) -> None:
        if not isinstance(value, Mapping) or not all(
            isinstance(value.get(language), str) and value[language].strip() for language in ("zh", "en")
        ):
            raise self.fail(where, "must give the name in zh and en, e.g. {zh: 春节, en: Spring Festival}")

    def date(self, value: Any, where: str) -> date:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise self.fail(where, f"{value!r} is not a date written as YYYY-MM-DD")
