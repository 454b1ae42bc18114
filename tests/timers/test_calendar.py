import pickle
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from govflow.timers.calendar import (
    CalendarYear,
    CalendarYearMissing,
    WorkingCalendar,
    load_calendar_file,
)

CN_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "calendar" / "cn.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
YEARS = load_calendar_file(CN_FILE)
CALENDAR = WorkingCalendar(YEARS)

# DOMAIN.md, "Working-day calendar".
HOLIDAY_RANGES = [
    ("2025-01-01", "2025-01-01"),
    ("2025-01-28", "2025-02-04"),
    ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"),
    ("2025-05-31", "2025-06-02"),
    ("2025-10-01", "2025-10-08"),
    ("2026-01-01", "2026-01-03"),
    ("2026-02-15", "2026-02-23"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
]
WORKED_WEEKEND_DAYS = [
    "2025-01-26",
    "2025-02-08",
    "2025-04-27",
    "2025-09-28",
    "2025-10-11",
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
]

loaded_days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))


def d(text):
    return date.fromisoformat(text)


def local(text):
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def expand(ranges):
    days = set()
    for first, last in ranges:
        day = d(first)
        while day <= d(last):
            days.add(day)
            day += timedelta(days=1)
    return days


# --- the file ------------------------------------------------------------------------


def test_file_matches_the_state_council_notices():
    by_year = {year.year: year for year in YEARS}

    assert sorted(by_year) == [2025, 2026]
    assert by_year[2025].holidays | by_year[2026].holidays == expand(HOLIDAY_RANGES)
    assert by_year[2025].workdays | by_year[2026].workdays == {d(day) for day in WORKED_WEEKEND_DAYS}


@pytest.mark.parametrize("year", [2025, 2026])
def test_each_year_has_248_working_days(year):
    assert CALENDAR.working_days_in_year(year) == 248


# --- DOMAIN.md checks and examples -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2025-09-30", 3, "2025-10-11"),  # over National Day to a worked Saturday
        ("2026-02-13", 1, "2026-02-14"),  # a worked Saturday before Spring Festival
        ("2026-02-14", 1, "2026-02-24"),
        ("2025-12-31", 1, "2026-01-04"),  # over the year boundary and New Year to a worked Sunday
        ("2025-12-31", 2, "2026-01-05"),
        ("2025-01-24", 1, "2025-01-26"),  # Friday to a worked Sunday
        ("2026-01-03", 0, "2026-01-03"),  # n == 0 is the day itself, even a holiday
        ("2026-01-03", 1, "2026-01-04"),
        ("2025-01-01", 248, "2025-12-31"),
    ],
)
def test_add_working_days(start, n, expected):
    assert CALENDAR.add_working_days(d(start), n) == d(expected)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-26", True),  # worked Sunday
        ("2025-10-01", False),  # Wednesday, National Day
        ("2025-10-11", True),  # worked Saturday
        ("2025-10-09", True),  # ordinary Thursday
        ("2025-10-12", False),  # ordinary Sunday
        ("2026-02-23", False),  # Monday, Spring Festival
        ("2026-01-03", False),  # Saturday inside the New Year break
    ],
)
def test_is_working_day(day, working):
    assert CALENDAR.is_working_day(d(day)) is working


def test_working_days_between_counts_the_half_open_interval():
    assert CALENDAR.working_days_between(d("2025-09-30"), d("2025-10-11")) == 3
    assert CALENDAR.working_days_between(d("2025-10-11"), d("2025-09-30")) == -3
    assert CALENDAR.working_days_between(d("2025-10-01"), d("2025-10-01")) == 0
    assert CALENDAR.working_days_between(d("2025-12-31"), d("2026-01-05")) == 2
    assert CALENDAR.working_days_between(d("2025-01-01"), d("2026-12-31")) == 248 + 248


# --- properties ----------------------------------------------------------------------


@given(loaded_days, st.integers(min_value=1, max_value=200))
def test_add_working_days_lands_on_a_working_day(start, n):
    try:
        end = CALENDAR.add_working_days(start, n)
    except CalendarYearMissing:
        assume(False)
    assert end > start
    assert CALENDAR.is_working_day(end)


@given(loaded_days, st.integers(min_value=0, max_value=200))
def test_add_working_days_skips_exactly_the_non_working_days(start, n):
    try:
        end = CALENDAR.add_working_days(start, n + 1)
    except CalendarYearMissing:
        assume(False)
    previous = CALENDAR.add_working_days(start, n)
    day = previous + timedelta(days=1)
    while day < end:
        assert not CALENDAR.is_working_day(day)
        day += timedelta(days=1)


@given(loaded_days, st.integers(min_value=0, max_value=200))
def test_add_working_days_is_strictly_monotone(start, n):
    try:
        later = CALENDAR.add_working_days(start, n + 1)
    except CalendarYearMissing:
        assume(False)
    assert CALENDAR.add_working_days(start, n) < later


@given(loaded_days, st.integers(min_value=0, max_value=200))
def test_working_days_between_inverts_add_working_days(start, n):
    try:
        end = CALENDAR.add_working_days(start, n)
    except CalendarYearMissing:
        assume(False)
    assert CALENDAR.working_days_between(start, end) == n


@given(loaded_days)
def test_is_working_day_follows_the_rule(day):
    holidays = expand(HOLIDAY_RANGES)
    worked = {d(text) for text in WORKED_WEEKEND_DAYS}

    expected = day in worked or (day.weekday() < 5 and day not in holidays)

    assert CALENDAR.is_working_day(day) is expected


@given(loaded_days, loaded_days)
def test_working_days_between_matches_a_day_by_day_count(a, b):
    low, high = sorted((a, b))
    count = sum(CALENDAR.is_working_day(low + timedelta(days=i)) for i in range(1, (high - low).days + 1))

    assert CALENDAR.working_days_between(a, b) == (count if b >= a else -count)


# --- due_at --------------------------------------------------------------------------


def test_due_at_days_counts_from_the_working_day_after_acceptance():
    due = CALENDAR.due_at(local("2026-02-13T15:00"), days=1)

    assert due == local("2026-02-14T17:00")
    assert due.tzinfo is UTC


@pytest.mark.parametrize(
    ("accepted", "days", "due"),
    [
        ("2025-09-30T10:00", 3, "2025-10-11T17:00"),
        ("2025-09-30T23:30", 3, "2025-10-11T17:00"),  # after hours: still the same local day
        ("2025-10-03T11:00", 1, "2025-10-09T17:00"),  # accepted on a holiday
        ("2026-02-13T08:00", 0, "2026-02-13T17:00"),
        ("2025-12-03T09:00", 20, "2025-12-31T17:00"),  # art 42's 20 working days
    ],
)
def test_due_at_days(accepted, days, due):
    assert CALENDAR.due_at(local(accepted), days=days) == local(due)


def test_due_at_uses_the_local_date_of_a_start_in_another_zone():
    # 2025-09-30 17:00 UTC is 2025-10-01 01:00 in Shanghai, a holiday.
    start = datetime(2025, 9, 30, 17, 0, tzinfo=UTC)

    assert CALENDAR.due_at(start, days=1) == local("2025-10-09T17:00")


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-01-09T16:30", 2, "2026-01-12T10:30"),  # Friday afternoon to Monday morning
        ("2026-01-09T16:30", 0.5, "2026-01-09T17:00"),
        ("2026-01-09T07:00", 8, "2026-01-09T17:00"),
        ("2026-01-09T18:00", 1, "2026-01-12T10:00"),
        ("2026-02-13T16:00", 2, "2026-02-14T10:00"),  # worked Saturday
        ("2026-02-14T16:00", 2, "2026-02-24T10:00"),  # over Spring Festival
        ("2026-01-05T09:00", 16, "2026-01-06T17:00"),
        ("2026-01-05T09:00", 0, "2026-01-05T09:00"),
    ],
)
def test_due_at_hours(start, hours, due):
    assert CALENDAR.due_at(local(start), hours=hours) == local(due)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"days": 1, "hours": 1}, {"days": -1}, {"days": 1.5}, {"hours": -1}, {"hours": float("nan")}],
)
def test_due_at_refuses_bad_periods(kwargs):
    with pytest.raises(ValueError):
        CALENDAR.due_at(local("2026-01-05T09:00"), **kwargs)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        CALENDAR.due_at(datetime(2026, 1, 5, 9), days=1)
    with pytest.raises(ValueError):
        CALENDAR.working_seconds_between(datetime(2026, 1, 5, 9), local("2026-01-05T10:00"))


# --- working seconds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "seconds"),
    [
        ("2026-01-05T10:00", "2026-01-05T11:30", 5400),
        ("2026-01-05T08:00", "2026-01-05T18:00", 8 * 3600),
        ("2026-01-09T16:00", "2026-01-12T10:00", 2 * 3600),  # over a weekend
        ("2026-02-13T16:00", "2026-02-24T10:00", 3600 + 8 * 3600 + 3600),  # Sat 14th worked
        ("2026-01-05T10:00", "2026-01-05T10:00", 0),
        ("2026-01-05T11:00", "2026-01-05T10:00", 0),
        ("2025-10-01T09:00", "2025-10-08T17:00", 0),  # the whole National Day break
    ],
)
def test_working_seconds_between(a, b, seconds):
    assert CALENDAR.working_seconds_between(local(a), local(b)) == seconds


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SHANGHAI)
).map(lambda moment: moment.replace(microsecond=0))


@given(instants, st.integers(min_value=0, max_value=120 * 8 * 3600))
def test_working_seconds_between_inverts_add_working_seconds(start, seconds):
    try:
        end = CALENDAR.add_working_seconds(start, seconds)
    except CalendarYearMissing:
        assume(False)
    assert end >= start
    assert CALENDAR.working_seconds_between(start, end) == seconds


@given(instants, instants)
def test_add_working_seconds_reaches_the_end_of_any_span_inside_office_hours(a, b):
    assume(a <= b)
    seconds = CALENDAR.working_seconds_between(a, b)
    reached = CALENDAR.add_working_seconds(a, seconds)

    assert reached <= b
    assert CALENDAR.working_seconds_between(reached, b) == 0
    local_b = b.astimezone(SHANGHAI)
    inside_office = CALENDAR.is_working_day(local_b.date()) and time(9) < local_b.time() <= time(17)
    if inside_office and seconds:
        assert reached == b


@given(instants, instants, instants)
def test_working_seconds_are_additive(a, b, c):
    a, b, c = sorted((a, b, c))

    total = CALENDAR.working_seconds_between(a, c)

    assert total == CALENDAR.working_seconds_between(a, b) + CALENDAR.working_seconds_between(b, c)


def test_add_working_seconds_returns_utc():
    result = CALENDAR.add_working_seconds(local("2026-01-05T09:00"), 60)

    assert result.tzinfo is UTC
    assert result == local("2026-01-05T09:01")


def test_office_hours_are_configurable():
    calendar = WorkingCalendar(YEARS, office_open=time(8, 30), office_close=time(12))

    assert calendar.due_at(local("2026-01-05T11:00"), hours=2) == local("2026-01-06T09:30")
    assert calendar.due_at(local("2026-01-05T11:00"), days=1) == local("2026-01-06T12:00")


# --- missing years ---------------------------------------------------------------------


def test_every_operation_refuses_a_missing_year():
    after = datetime(2027, 1, 4, 10, tzinfo=SHANGHAI)

    with pytest.raises(CalendarYearMissing) as is_working:
        CALENDAR.is_working_day(d("2027-01-04"))
    with pytest.raises(CalendarYearMissing) as adding:
        CALENDAR.add_working_days(d("2026-12-30"), 5)
    with pytest.raises(CalendarYearMissing) as between:
        CALENDAR.working_days_between(d("2026-12-30"), d("2027-01-05"))
    with pytest.raises(CalendarYearMissing) as in_year:
        CALENDAR.working_days_in_year(2024)
    with pytest.raises(CalendarYearMissing) as seconds:
        CALENDAR.working_seconds_between(local("2026-12-30T10:00"), after)
    with pytest.raises(CalendarYearMissing) as due:
        CALENDAR.due_at(local("2026-12-30T10:00"), hours=40)

    assert [error.value.year for error in (is_working, adding, between, in_year, seconds, due)] == [
        2027,
        2027,
        2027,
        2024,
        2027,
        2027,
    ]
    assert "2027" in str(adding.value)
    assert "State Council" in str(adding.value)


def test_a_gap_between_loaded_years_is_never_jumped():
    by_year = {year.year: year for year in YEARS}
    calendar = WorkingCalendar([by_year[2025], CalendarYear(2027, frozenset(), frozenset())])

    with pytest.raises(CalendarYearMissing) as missing:
        calendar.add_working_days(d("2025-12-30"), 5)

    assert missing.value.year == 2026
    assert calendar.add_working_days(d("2027-01-01"), 1) == d("2027-01-04")
    assert calendar.years == frozenset({2025, 2027})


def test_calendar_year_missing_pickles():
    error = pickle.loads(pickle.dumps(CalendarYearMissing(2030)))

    assert error.year == 2030
    assert "2030" in str(error)


def test_datetimes_are_not_dates_here():
    with pytest.raises(TypeError):
        CALENDAR.is_working_day(datetime(2026, 1, 5, 10, tzinfo=SHANGHAI))


# --- loading -------------------------------------------------------------------------------

VALID_YEAR = """
jurisdiction: cn
name: {zh: 测试, en: Test}
years:
  2030:
    source: {title: 通知}
    holidays:
      - {from: 2030-01-01, to: 2030-01-01, name: {zh: 元旦, en: New Year's Day}}
    workdays: [2030-01-05]
"""


def write(tmp_path, text):
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_a_minimal_file(tmp_path):
    (year,) = load_calendar_file(write(tmp_path, VALID_YEAR))

    assert year == CalendarYear(2030, frozenset({d("2030-01-01")}), frozenset({d("2030-01-05")}))


def test_a_break_listed_under_the_next_year_counts_in_its_own_year(tmp_path):
    text = VALID_YEAR.replace("2030-01-01, to: 2030-01-01", "2029-12-31, to: 2030-01-01") + (
        "  2029:\n    source: {title: 通知}\n    holidays: []\n    workdays: []\n"
    )

    years = {year.year: year for year in load_calendar_file(write(tmp_path, text))}

    assert years[2029].holidays == {d("2029-12-31")}
    assert years[2030].holidays == {d("2030-01-01")}


def test_a_date_in_a_year_missing_from_the_file_is_dropped(tmp_path):
    text = VALID_YEAR.replace("2030-01-01, to: 2030-01-01", "2029-12-30, to: 2030-01-01")

    (year,) = load_calendar_file(write(tmp_path, text))

    assert year.year == 2030
    assert year.holidays == {d("2030-01-01")}


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("jurisdiction: cn", "jurisdiction: ''", "jurisdiction"),
        ("name: {zh: 测试, en: Test}", "name: {zh: 测试}", "zh and en"),
        ("  2030:", "  twenty:", "not a year"),
        ("source: {title: 通知}", "source: {number: x}", "missing key 'title'"),
        ("to: 2030-01-01", "to: 2029-12-01", "after 'to'"),
        ("to: 2030-01-01", "to: 2030-03-01", "longer than"),
        ("[2030-01-05]", "[2030-01-07]", "is a weekday"),
        ("[2030-01-05]", "[2030-01-05, 2030-01-05]", "already listed"),
        ("to: 2030-01-01", "to: 2030-01-05", "already listed"),
        ("[2030-01-05]", "[2030-02-30]", "day is out of range"),
        ("[2030-01-05]", "['5 Jan 2030']", "not a date"),
        ("[2030-01-05]", "[2033-01-08]", "not in or next to"),
        ("    workdays:", "    worked:", "unknown key 'worked'"),
        ("name: {zh: 元旦, en: New Year's Day}", "title: 元旦", "unknown key 'title'"),
        ("years:", "years: {}\nignored:", "unknown key 'ignored'"),
        ("jurisdiction: cn", "jurisdiction: cn\njurisdiction: hk", "not valid YAML"),
    ],
)
def test_bad_files_are_refused_with_the_problem_named(tmp_path, old, new, problem):
    assert old in VALID_YEAR
    path = write(tmp_path, VALID_YEAR.replace(old, new, 1))

    with pytest.raises(ValueError) as error:
        load_calendar_file(path)

    assert problem in str(error.value)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("holidays", "workdays"),
    [
        (frozenset({d("2025-01-01")}), frozenset({d("2025-01-01")})),
        (frozenset({d("2024-12-31")}), frozenset()),
        (frozenset(), frozenset({d("2025-01-06")})),
    ],
)
def test_inconsistent_calendar_years_are_refused(holidays, workdays):
    with pytest.raises(ValueError):
        CalendarYear(2025, holidays, workdays)


def test_duplicate_years_and_bad_settings_are_refused():
    with pytest.raises(ValueError):
        WorkingCalendar([YEARS[0], YEARS[0]])
    with pytest.raises(ValueError):
        WorkingCalendar(YEARS, tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        WorkingCalendar(YEARS, office_open=time(17), office_close=time(9))
