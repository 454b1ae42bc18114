"""Periods in calendar days (日): the EIA law's 60 days and the like.

The rule (docs/process-language.md section 7): the day the period starts is
not counted, the N-th day after it is the nominal last day, a last day that
is not a working day (a weekend or a statutory holiday) moves to the next
working day, and the period ends at office close of its last day.
"""

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from govflow.timers.calendar import WorkingCalendar, load_calendar_file
from govflow.timers.deadlines import calendar_resumed, deadline, replay

pytestmark = pytest.mark.procedure

CN_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "calendar" / "cn.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar(load_calendar_file(CN_FILE))

starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 30)).map(
    lambda moment: moment.replace(tzinfo=SHANGHAI)
)
spans = st.integers(min_value=1, max_value=90)


def local(text):
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # A plain Monday + 60 days: Friday 2026-05-01 is Labour Day, the
        # break lasts to 05-05, so the period ends on Wednesday 05-06.
        ("2026-03-02T10:00", 60, "2026-05-06T17:00"),
        # The day of the start is not counted, also at 23:59.
        ("2026-03-02T23:59", 1, "2026-03-03T17:00"),
        # A nominal Saturday moves to Monday.
        ("2026-03-06T09:00", 1, "2026-03-09T17:00"),
        # A nominal National Day holiday moves past the whole break.
        ("2026-09-30T15:00", 1, "2026-10-08T17:00"),
        # An adjusted working Saturday (2026-10-10) is a working day: no move.
        ("2026-09-30T15:00", 10, "2026-10-10T17:00"),
        # Across the year: 2025-12-31 + 1 is New Year's Day 2026 (holiday to
        # 01-03); 01-04 is a worked Sunday.
        ("2025-12-31T12:00", 1, "2026-01-04T17:00"),
    ],
)
def test_due_at_calendar_days(start, days, due):
    assert CALENDAR.due_at(local(start), calendar_days=days) == local(due)


@pytest.mark.parametrize(
    "kwargs", [{"calendar_days": -1}, {"calendar_days": 1.5}, {"days": 1, "calendar_days": 1}]
)
def test_due_at_refuses_bad_calendar_periods(kwargs):
    with pytest.raises(ValueError):
        CALENDAR.due_at(local("2026-01-05T09:00"), **kwargs)


@given(starts, spans)
def test_the_last_day_is_the_first_working_day_from_the_nominal_day(start, n):
    due = CALENDAR.due_at(start, calendar_days=n).astimezone(SHANGHAI)
    nominal = start.date() + timedelta(days=n)
    assert due.time() == time(17)
    assert CALENDAR.is_working_day(due.date())
    assert due.date() >= nominal
    day = nominal
    while day < due.date():  # every day skipped is a weekend or a holiday
        assert not CALENDAR.is_working_day(day)
        day += timedelta(days=1)


@given(starts, spans)
def test_a_working_nominal_day_is_the_last_day(start, n):
    nominal = start.date() + timedelta(days=n)
    assume(CALENDAR.is_working_day(nominal))
    assert CALENDAR.due_at(start, calendar_days=n).astimezone(SHANGHAI).date() == nominal


@given(starts, spans)
def test_one_more_day_never_ends_earlier(start, n):
    assert CALENDAR.due_at(start, calendar_days=n + 1) >= CALENDAR.due_at(start, calendar_days=n)


@given(starts, spans)
def test_the_time_of_day_of_the_start_does_not_count(start, n):
    morning = start.replace(hour=0, minute=0, second=0, microsecond=0)
    assert CALENDAR.due_at(start, calendar_days=n) == CALENDAR.due_at(morning, calendar_days=n)


@given(starts, spans)
def test_calendar_days_are_never_shorter_than_as_many_working_days_less_weekends(start, n):
    # N calendar days hold at most N working days: the working-day period
    # of the same N never ends before the calendar one.
    assert CALENDAR.due_at(start, days=n) >= CALENDAR.due_at(start, calendar_days=n)


@given(starts, spans, st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_a_pause_adds_its_whole_days(start, n, into, length):
    first = deadline(CALENDAR, start, days=None, hours=None, calendar_days=n)
    paused_on = start.date() + timedelta(days=min(into, n))
    paused = datetime.combine(paused_on, time(11), tzinfo=SHANGHAI)
    resumed_at = paused + timedelta(days=length, hours=3)
    after = calendar_resumed(CALENDAR, paused, resumed_at, first.nominal)
    assert after.nominal == first.nominal + timedelta(days=length)
    assert after.due_at == CALENDAR.due_at(start, calendar_days=n + length)


def test_a_pause_begun_and_ended_on_one_day_adds_nothing():
    start = local("2026-03-02T10:00")
    first = deadline(CALENDAR, start, days=None, hours=None, calendar_days=60)
    after = calendar_resumed(CALENDAR, local("2026-03-10T09:00"), local("2026-03-10T16:00"), first.nominal)
    assert after.due_at == first.due_at


def test_replay_recounts_a_paused_calendar_period_as_the_bridge_does():
    start = local("2026-03-02T10:00")
    pauses = [["2026-03-10T09:00:00+08:00", "2026-03-20T09:00:00+08:00"]]
    state = replay(
        CALENDAR, start=start, days=None, hours=None, fraction=1.0, pauses=pauses, calendar_days=60
    )
    # 60 + 10 days: nominal 2026-05-11, a Monday.
    assert state.due_at == local("2026-05-11T17:00")
    assert state.nominal == date(2026, 5, 11)
    assert not state.provisional


def test_a_period_into_a_year_not_loaded_is_provisional():
    last = max(CALENDAR.loaded_years)
    start = datetime(last, 12, 20, 10, tzinfo=SHANGHAI)
    found = deadline(CALENDAR, start, days=None, hours=None, calendar_days=30)
    assert found.provisional
    assert found.nominal == date(last + 1, 1, 19)
