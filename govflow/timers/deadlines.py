"""When a timer falls due: the arithmetic shared by the case bridge, the
recomputation after a calendar year is loaded, and seed_history (no Django).

A deadline is always given. When the span reaches a year whose State
Council notice is not loaded yet it is counted by the plain weekday rule and
marked *provisional*; it is recomputed exactly once the year is loaded
(`govflow.cases.recompute.timers_recompute`). An SLA timer's deadline moves
when the case's clock pauses and resumes: `replay` recounts it from its
start through its pauses, so a recomputation gives the date the timer would
have had if the calendar had been loaded all along.

A period in calendar days (`calendar_days`, e.g. the EIA law's 60 日) keeps
its *nominal* last day (start date + N) beside its due date (that day, or
the next working day when it is a weekend or holiday; see
`WorkingCalendar.calendar_day_end`). A pause of such a timer adds whole
calendar days: the days from the nominal end back to the day the pause
began are carried over to the day it ends. Its reminders count office time
like the other timers (a reminder only tells people).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .calendar import WorkingCalendar, tolerant


@dataclass(frozen=True, slots=True)
class Deadline:
    due_at: datetime
    provisional: bool
    # A period in calendar days: its nominal last day (before a weekend or
    # holiday moved it), which a pause carries forward.
    nominal: date | None = None


@dataclass(frozen=True, slots=True)
class Replayed:
    """A timer's state on a calendar: running with a due date, or paused
    with the office seconds it has left."""

    due_at: datetime | None
    remaining_seconds: int | None
    provisional: bool
    nominal: date | None = None


def deadline(
    calendar: WorkingCalendar,
    start: datetime,
    *,
    days: int | None,
    hours: float | None,
    fraction: float = 1.0,
    calendar_days: int | None = None,
) -> Deadline:
    """When a timer of `days`/`hours`/`calendar_days` started at `start`
    falls due, or at `fraction` of the way there for reminders."""

    def compute(cal: WorkingCalendar) -> tuple[datetime, datetime]:
        full = cal.due_at(start, days=days, hours=hours, calendar_days=calendar_days)
        if fraction >= 1.0:
            return full, full
        span = cal.working_seconds_between(start, full)
        return cal.add_working_seconds(start, int(span * fraction)), full

    (due, full), _ = tolerant(calendar, compute)
    # A reminder is exact only if the full limit is: its date is a fraction
    # of the span, and the span's length depends on every day in it.
    nominal = None
    if calendar_days is not None and fraction >= 1.0:
        nominal = calendar.local_date(start) + timedelta(days=calendar_days)
    return Deadline(due, not calendar.is_exact_between(start, full), nominal)


def calendar_resumed(calendar: WorkingCalendar, paused: datetime, now: datetime, nominal: date) -> Deadline:
    """A period in calendar days paused at `paused` and resumed at `now`:
    the whole days it had left on the day it paused (from that day to its
    nominal last day) run again from the day it resumes."""
    left = max(0, (nominal - calendar.local_date(paused)).days)
    moved = calendar.local_date(now) + timedelta(days=left)

    def compute(cal: WorkingCalendar) -> datetime:
        end = cal.calendar_day_end(moved)
        return datetime.combine(end, cal.office_close, tzinfo=ZoneInfo(cal.tz)).astimezone(UTC)

    due, _ = tolerant(calendar, compute)
    return Deadline(due, not calendar.is_exact_between(now, due), moved)


def remaining(calendar: WorkingCalendar, now: datetime, due: datetime) -> tuple[int, bool]:
    """Office seconds from `now` to `due` (0 when due has passed), and
    whether that count is provisional."""
    if due <= now:
        return 0, False
    seconds, _ = tolerant(calendar, lambda cal: cal.working_seconds_between(now, due))
    return seconds, not calendar.is_exact_between(now, due)


def resumed(calendar: WorkingCalendar, now: datetime, seconds: int) -> Deadline:
    """The due date of a timer resumed at `now` with `seconds` left."""
    due, _ = tolerant(calendar, lambda cal: cal.add_working_seconds(now, seconds))
    return Deadline(due, not calendar.is_exact_between(now, due))


def extension_seconds(calendar: WorkingCalendar, *, days: int | None, hours: float | None) -> int:
    """Office seconds an extension of `days` working days or `hours` office
    hours adds to a paused timer's time left."""
    if days is not None:
        opens = datetime.combine(date.min, calendar.office_open)
        return days * int((datetime.combine(date.min, calendar.office_close) - opens).total_seconds())
    return round((hours or 0) * 3600)


def extension_entry(
    now: datetime, *, days: int | None, hours: float | None, paused: bool
) -> dict[str, object]:
    """What an extension (延期) adds to a timer's `pauses` for `replay`."""
    entry: dict[str, object] = {"extend": now.isoformat()}
    entry.update({"days": days} if days is not None else {"hours": hours})
    if paused:
        entry["paused"] = True
    return entry


def replay(
    calendar: WorkingCalendar,
    *,
    start: datetime,
    days: int | None,
    hours: float | None,
    fraction: float,
    pauses: Sequence[Sequence[str | None] | dict],
    calendar_days: int | None = None,
) -> Replayed:
    """A timer started at `start` whose clock paused and resumed at
    `pauses` ([[paused, resumed or None], ...], ISO instants), counted on
    `calendar`: the same steps the case bridge takes as they happen. An
    entry {"from": instant, "left": seconds} restarts the count there (a
    timer of an older version whose earlier pauses were not kept). An entry
    {"extend": instant, "days" | "hours": n} is an extension (延期): the
    timer falls due that much later, counted from its old due date as a
    limit is counted from its start; one marked "paused" was granted while
    the clock was paused and adds its office time to the pause after it.
    An extended period in calendar days counts on in office time."""
    first = deadline(calendar, start, days=days, hours=hours, fraction=fraction, calendar_days=calendar_days)
    due, provisional, nominal = first.due_at, first.provisional, first.nominal
    extra = 0  # office seconds granted during the pause that follows
    for entry in pauses:
        if isinstance(entry, dict) and "extend" in entry:
            span = {"days": entry.get("days"), "hours": entry.get("hours")}
            nominal = None  # moved by working time: no longer a count of calendar days
            if entry.get("paused"):
                extra += extension_seconds(calendar, **span)
                continue
            later = deadline(calendar, due, **span)
            due, provisional = later.due_at, provisional or later.provisional
            continue
        if isinstance(entry, dict):
            origin = resumed(calendar, datetime.fromisoformat(str(entry["from"])), int(entry["left"]))
            due, provisional, nominal = origin.due_at, origin.provisional, None
            continue
        paused_at, resumed_at = entry
        paused = datetime.fromisoformat(str(paused_at))
        left, rough = remaining(calendar, paused, due)
        left, extra = left + extra, 0
        provisional = provisional or rough
        if resumed_at is None:
            return Replayed(None, left, provisional, nominal)
        if nominal is not None:
            after = calendar_resumed(calendar, paused, datetime.fromisoformat(str(resumed_at)), nominal)
            nominal = after.nominal
        else:
            after = resumed(calendar, datetime.fromisoformat(str(resumed_at)), left)
        due, provisional = after.due_at, provisional or after.provisional
    return Replayed(due, None, provisional, nominal)
