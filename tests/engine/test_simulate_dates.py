"""Dry runs laid on the real working-day calendar (simulate(start=, calendar=)).

The calendar is the shipped fixtures/calendar/cn.yaml (2025 and 2026, see
DOMAIN.md) read without a database; 2027 is not in it, so anything counted
in 2027 is provisional. Every date is passed in: nothing reads today's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.engine.simulate import Script, SimulationDataError, real_instant, script_from_mapping, simulate
from govflow.timers.calendar import CalendarYear, WorkingCalendar, load_calendar_file, tolerant

from .conftest import ROOT, load

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN_YEARS = load_calendar_file(ROOT / "fixtures" / "calendar" / "cn.yaml")
CN = WorkingCalendar(CN_YEARS)
# A TEST FIXTURE, not the State Council notice (none is available for 2027):
# a made-up break of three weekdays, to see a loaded 2027 move the dates.
FAKE_2027 = CalendarYear(
    year=2027,
    holidays=frozenset({date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 6)}),
    workdays=frozenset(),
)

ONE_REVIEW = """
    id: one-review
    title: {{zh: 单项审查, en: One review}}
    time_limit: {{days: {days}}}
    nodes:
      - id: start
        type: start
        next: review
      - id: review
        type: user_task
        title: {{zh: 审查, en: Review}}
        department: market_regulation
        sla: {{days: {days}, remind_at: 0.25}}
        outcomes: {{approve: done, reject: refused}}
      - id: done
        type: end
        title: {{zh: 通过, en: Approved}}
        outcome: approved
      - id: refused
        type: end
        title: {{zh: 驳回, en: Refused}}
        outcome: rejected
"""

TWO_REVIEWS = """
    id: two-reviews
    title: {zh: 两项审查, en: Two reviews}
    nodes:
      - id: start
        type: start
        next: first
      - id: first
        type: user_task
        title: {zh: 初审, en: First review}
        department: market_regulation
        sla: {days: 3}
        outcomes: {approve: second, reject: refused}
      - id: second
        type: user_task
        title: {zh: 复审, en: Second review}
        department: tax
        sla: {days: 2}
        outcomes: {approve: done, reject: refused}
      - id: done
        type: end
        title: {zh: 通过, en: Approved}
        outcome: approved
      - id: refused
        type: end
        title: {zh: 驳回, en: Refused}
        outcome: rejected
"""


@cache
def one_review(days: int):
    return load(ONE_REVIEW.format(days=days))


def accepted(day: date) -> datetime:
    """A case accepted on `day`, at 09:00 in Beijing."""
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


def local(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
limits = st.integers(min_value=1, max_value=60)


@settings(max_examples=300, deadline=None)
@given(starts, limits)
def test_a_limit_taken_in_full_ends_when_due_at_says(start_day, days):
    # Given a case accepted on a day of 2025-2026 and a limit of n working days
    start = accepted(start_day)

    # When clock n is laid on the calendar, and due_at counts the same limit
    (instant, due), used = tolerant(
        CN, lambda calendar: (real_instant(calendar, start, days), calendar.due_at(start, days=days))
    )

    # Then both are the same instant (office close of the n-th working day
    # after acceptance), provisional exactly when it falls in 2027
    assert instant == due
    assert local(instant) == used.add_working_days(start_day, days)
    assert used.is_exact(start_day, local(instant)) == (local(instant).year < 2027)


@settings(max_examples=100, deadline=None)
@given(starts, limits)
def test_a_review_that_takes_its_whole_sla_is_decided_on_its_due_date(start_day, days):
    # Given a one-review template with an SLA of n working days
    definition = one_review(days)

    # When it is simulated from a start date on the shipped calendar
    result = simulate(definition, Script(), start=accepted(start_day), calendar=CN).as_json()

    # Then the decision, the breach deadline and the end all fall on due_at's date
    due, _ = tolerant(CN, lambda calendar: calendar.due_at(accepted(start_day), days=days))
    breach = next(d for d in result["deadlines"] if d["kind"] == "sla_breach")
    assert result["decisions"][0]["date"] == breach["due"] == result["end_date"] == local(due).isoformat()
    assert breach["provisional"] == (local(due).year == 2027)
    assert result["provisional_years"] == ([2027] if local(due).year == 2027 else [])
    assert result["working_days"] == days


def test_real_instant_of_clock_zero_is_the_acceptance_itself():
    # Given a case accepted on a Saturday of the National Day break
    start = accepted(date(2026, 10, 3))

    # When clock 0 and clock 0.5 are laid on the calendar
    zero, half = real_instant(CN, start, 0), real_instant(CN, start, 0.5)

    # Then nothing that takes no time waits for a working day; half a day is
    # counted from office open of the first working day after the break
    assert zero == start.astimezone(UTC)
    assert half == datetime(2026, 10, 8, 13, 0, tzinfo=SHANGHAI)


def test_a_case_started_before_national_day_counts_past_the_break_and_the_worked_saturday():
    # Given two reviews of 3 and 2 working days, accepted on 2026-09-30
    definition = load(TWO_REVIEWS)

    # When the case is simulated from that date
    result = simulate(definition, Script(), start=accepted(date(2026, 9, 30)), calendar=CN).as_json()

    # Then the first review is due on the worked Saturday 2026-10-10, every
    # deadline falls after the break (10-01..10-07), and nothing is provisional
    assert [(d["node"], d["kind"], d["due"]) for d in result["deadlines"]] == [
        ("first", "sla_breach", "2026-10-10"),
        ("second", "sla_breach", "2026-10-13"),
    ]
    assert [(d["node"], d["date"], d["day"]) for d in result["decisions"]] == [
        ("first", "2026-10-10", 3.0),
        ("second", "2026-10-13", 5.0),
    ]
    assert result["start"] == "2026-09-30"
    assert result["end_date"] == "2026-10-13"
    assert result["provisional_dates"] is False
    assert result["provisional_years"] == []
    assert not any(d["provisional"] for d in result["deadlines"] + result["decisions"])


def test_a_case_started_before_new_year_has_provisional_deadlines_in_2027():
    # Given a 20-working-day review accepted on Sunday 2026-12-20; 2027 is not loaded
    definition = one_review(20)

    # When it is simulated
    result = simulate(definition, Script(), start=accepted(date(2026, 12, 20)), calendar=CN).as_json()

    # Then the reminder (5 working days) is exact in 2026, while the breach
    # and the decision fall in 2027 by the weekday rule and say so
    assert result["deadlines"] == [
        {"node": "review", "kind": "sla_reminder", "due": "2026-12-25", "provisional": False},
        {"node": "review", "kind": "sla_breach", "due": "2027-01-15", "provisional": True},
    ]
    assert result["decisions"][0]["date"] == "2027-01-15"
    assert result["decisions"][0]["provisional"] is True
    assert result["end_date"] == "2027-01-15"
    assert result["provisional_dates"] is True
    assert result["provisional_years"] == [2027]
    assert result["working_days"] == 20
    assert result["within_time_limit"] is True


def test_loading_2027_makes_the_same_run_exact_and_moves_it_by_the_holiday():
    # Given the same case, on a calendar that has a (made-up, test-only) 2027
    # with three weekdays off, 2027-01-04..06
    calendar = WorkingCalendar([*CN_YEARS, FAKE_2027])

    # When it is simulated
    result = simulate(
        one_review(20), Script(), start=accepted(date(2026, 12, 20)), calendar=calendar
    ).as_json()

    # Then the breach moves three working days later (01-15 -> 01-20) and
    # nothing is provisional any more
    breach = result["deadlines"][1]
    assert breach == {"node": "review", "kind": "sla_breach", "due": "2027-01-20", "provisional": False}
    assert result["end_date"] == "2027-01-20"
    assert result["provisional_dates"] is False
    assert result["provisional_years"] == []


def test_a_start_in_a_year_the_calendar_lacks_is_provisional_from_the_start():
    # Given a case accepted in 2024, before the first loaded year
    result = simulate(one_review(3), Script(), start=accepted(date(2024, 6, 3)), calendar=CN).as_json()

    # Then its dates are counted Monday to Friday and marked provisional
    assert result["end_date"] == "2024-06-06"
    assert result["provisional_years"] == [2024]
    assert all(d["provisional"] for d in result["deadlines"])


def test_a_case_that_ends_at_once_ends_on_its_start_date():
    # Given a template that ends as soon as it starts, accepted on a holiday Saturday
    definition = load(
        """
        id: at-once
        title: {zh: 即时, en: At once}
        nodes:
          - {id: start, type: start, next: done}
          - {id: done, type: end, title: {zh: 完成, en: Done}, outcome: approved}
        """
    )

    # When it is simulated
    result = simulate(definition, Script(), start=accepted(date(2026, 10, 3)), calendar=CN).as_json()

    # Then it ends on the day it was accepted, not on the next working day
    assert result["working_days"] == 0
    assert result["end_date"] == "2026-10-03"


def test_time_with_the_applicant_moves_the_dates_but_not_the_working_days():
    # Given the business setup case whose applicant lets the 5-working-day
    # deadline for a new name run out (the statutory clock is paused meanwhile)
    from ruamel.yaml import YAML

    definition = load((ROOT / "workflows" / "business_setup.yaml").read_bytes())
    raw = YAML(typ="safe", pure=True).load(
        (ROOT / "tests" / "data" / "simulations" / "business_setup_name_taken.yaml").read_text("utf-8")
    )

    # When it is simulated from 2026-09-30
    result = simulate(
        definition, script_from_mapping(raw or {}), start=accepted(date(2026, 9, 30)), calendar=CN
    ).as_json()

    # Then no working day is counted, yet the case ends when the deadline
    # runs out, the 5th working day after the break (10-08, 09, 10, 12, 13)
    assert result["outcome"] == "withdrawn"
    assert result["working_days"] == 0
    # (受理 within its 2 office hours on the day of submission comes first)
    assert result["deadlines"] == [
        {"node": "accept", "kind": "acceptance_deadline", "due": "2026-09-30", "provisional": False},
        {"node": "fix_name", "kind": "correction_deadline", "due": "2026-10-13", "provisional": False},
    ]
    assert result["end_date"] == "2026-10-13"


def test_without_a_start_the_result_is_what_it_always_was():
    # Given a run with no start (a calendar alone changes nothing)
    plain = simulate(one_review(20), Script()).as_json()
    with_calendar = simulate(one_review(20), Script(), calendar=CN).as_json()
    dated = simulate(one_review(20), Script(), start=accepted(date(2026, 12, 20)), calendar=CN).as_json()

    # Then its keys and decisions are the abstract ones only, and a dated run
    # adds to them without changing what they say
    assert with_calendar == plain
    assert list(plain) == [
        "outcome",
        "trace",
        "certificates",
        "working_days",
        "time_limit_days",
        "within_time_limit",
        "statutory_limit_days",
        "within_statutory_limit",
        "not_counted_days",
        "excluded_steps",
        "decisions",
    ]
    assert plain["decisions"] == [{"node": "review", "outcome": "approve", "day": 20.0}]
    assert {k: v for k, v in dated.items() if k in plain and k != "decisions"} == {
        k: v for k, v in plain.items() if k != "decisions"
    }
    assert [{k: d[k] for k in ("node", "outcome", "day")} for d in dated["decisions"]] == plain["decisions"]


def test_form_dates_are_checked_against_the_start_date():
    # Given a form whose date may not lie after "today"
    definition = load(
        """
        id: dated-form
        title: {zh: 日期, en: Dated}
        form:
          fields:
            - {id: signed_on, type: date, label: {zh: 签署日期, en: Signed on}, max: today}
        nodes:
          - {id: start, type: start, next: done}
          - {id: done, type: end, title: {zh: 完成, en: Done}, outcome: approved}
        """
    )

    # When it is simulated with example data from a start date
    result = simulate(definition, Script(), start=accepted(date(2020, 1, 2)), calendar=CN)

    # Then the example data was made for that date (2020, whatever today is)
    assert result.outcome == "approved"
    with pytest.raises(SimulationDataError) as raised:
        simulate(
            definition,
            Script(data={"signed_on": "2020-01-03"}),
            start=accepted(date(2020, 1, 2)),
            calendar=CN,
        )
    assert [error.path for error in raised.value.errors] == ["signed_on"]


def test_a_start_needs_a_calendar_and_a_time_zone():
    with pytest.raises(ValueError) as no_calendar:
        simulate(one_review(1), Script(), start=accepted(date(2026, 3, 2)))
    with pytest.raises(ValueError) as naive:
        simulate(one_review(1), Script(), start=datetime(2026, 3, 2, 9), calendar=CN)
    assert "calendar" in str(no_calendar.value)
    assert "timezone-aware" in str(naive.value)


def test_hour_limits_count_office_hours_from_the_clock_origin():
    # Given a review promised within 4 office hours, accepted on Friday 2026-03-06
    definition = load(
        """
        id: hours
        title: {zh: 即办, en: Same day}
        nodes:
          - {id: start, type: start, next: review}
          - id: review
            type: user_task
            title: {zh: 审查, en: Review}
            department: market_regulation
            sla: {hours: 4}
            outcomes: {approve: done, reject: done}
          - {id: done, type: end, title: {zh: 完成, en: Done}, outcome: approved}
        """
    )

    # When it is simulated
    result = simulate(definition, Script(), start=accepted(date(2026, 3, 6)), calendar=CN).as_json()

    # Then the deadline is the one a case accepted at 09:00 that Friday gets
    # (office hours count from the moment the timer starts: 13:00 Friday),
    # while the abstract clock, which starts on the working day after
    # acceptance as statutory days do, has the decision half an office day
    # from Monday's opening
    assert result["deadlines"][0]["due"] == "2026-03-06"
    assert result["decisions"][0]["date"] == "2026-03-09"
    assert real_instant(CN, accepted(date(2026, 3, 6)), 0.5) == datetime(2026, 3, 9, 13, tzinfo=SHANGHAI)
