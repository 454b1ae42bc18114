"""Working-day statistics against figures worked out by hand on the 2026
calendar (Spring Festival 02-15..02-23 off; Saturday 02-14 a worked day;
office hours 09:00-17:00, so one working day is 8 office hours).

with_holiday: submitted Fri 02-13 10:00.
  fire approves Sat 02-14 16:00: 7 h + 7 h = 14 h = 1.75 days; its 1-day SLA
    ends 02-14 17:00 (15 h): within.
  market approves Tue 02-24 12:00: 7 + 8 + 3 = 18 h = 2.25 days; its 2-day SLA
    ends 02-24 17:00 (the holiday is skipped): within.
  case: 18 h = 2.25 days against 3 days (to 02-25 17:00, 31 h): within.
late: submitted Tue 03-03 10:00.
  fire: nobody decides; at 03-04 17:00 the SLA ends and silent consent
    approves: 15 h = 1.875 days, not within (silent consent).
  market: escalated at 03-05 17:00, approves Fri 03-06 11:00: 23 h + 2 h
    = 25 h = 3.125 days, not within.
  case: 7 + 8 + 8 + 2 = 25 h = 3.125 days against 31 h: within.
corrected: submitted Mon 03-09 10:00.
  fire approves 03-09 15:00: 5 h = 0.625 days, within.
  market returns it 03-10 10:00: 8 h = 1 day, within; the clock stops.
  the applicant answers 03-12 10:00 (16 office hours paused).
  market (round 2) rejects 03-12 16:00: 6 h = 0.75 days, within.
  case: 30 h - 16 h = 14 h = 1.75 days against 31 h: within; rejected.
"""

from __future__ import annotations

from datetime import date

import pytest

from govflow.insight.models import CaseFact, TaskFact
from govflow.insight.selectors import Filters, dashboard_get, quantile
from tests.insight.conftest import beijing

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HOUR = 3600


def days(value: float):
    """The dashboard's percentiles count every duration as its 0.01-day
    bucket, which keeps them within half a bucket of the exact figure."""
    return pytest.approx(value, abs=0.005)


def test_case_facts_count_office_hours_on_the_calendar(known_cases):
    facts = {f.case_id: f for f in CaseFact.objects.all()}
    with_holiday = facts[known_cases["with_holiday"].pk]
    assert (with_holiday.working_seconds, with_holiday.limit_seconds) == (18 * HOUR, 31 * HOUR)
    assert with_holiday.within_limit is True
    assert with_holiday.outcome == "approved"
    assert with_holiday.submitted_week == date(2026, 2, 9)
    assert with_holiday.completed_week == date(2026, 2, 23)
    late = facts[known_cases["late"].pk]
    assert (late.working_seconds, late.within_limit) == (25 * HOUR, True)
    corrected = facts[known_cases["corrected"].pk]
    assert (corrected.working_seconds, corrected.within_limit, corrected.outcome) == (
        14 * HOUR,
        True,
        "rejected",
    )


def test_task_facts_follow_the_sla_timers(known_cases):
    rows = {
        (f.case_id, f.node_id, f.outcome): f
        for f in TaskFact.objects.select_related("department").order_by("completed_at")
    }
    cases = {name: case.pk for name, case in known_cases.items()}

    def fact(name, node, outcome):
        return rows[(cases[name], node, outcome)]

    assert fact("with_holiday", "review_b", "approve").working_seconds == 14 * HOUR
    assert fact("with_holiday", "review_b", "approve").limit_seconds == 15 * HOUR
    assert fact("with_holiday", "review_a", "approve").working_seconds == 18 * HOUR
    assert fact("with_holiday", "review_a", "approve").within_limit is True
    silent = fact("late", "review_b", "approve")
    assert (silent.working_seconds, silent.silent_consent, silent.within_limit) == (15 * HOUR, True, False)
    escalated = fact("late", "review_a", "approve")
    assert (escalated.working_seconds, escalated.escalated, escalated.within_limit) == (
        25 * HOUR,
        True,
        False,
    )
    assert fact("corrected", "review_a", "return").working_seconds == 8 * HOUR
    assert fact("corrected", "review_a", "reject").working_seconds == 6 * HOUR
    assert fact("corrected", "review_b", "approve").working_seconds == 5 * HOUR
    assert TaskFact.objects.count() == 7


def test_the_services_audit_chain_stays_intact(known_cases):
    from govflow.audit.verification import audit_verify

    assert audit_verify() is None


def test_dashboard_percentiles_and_compliance(known_cases, probe, now):
    board = dashboard_get(filters=Filters(start=date(2026, 2, 1), end=date(2026, 3, 31)), now=now)
    service = {r.key: r for r in board.services}["insight_probe"]
    assert service.decided == 3
    assert service.median_days == days(2.25)
    assert service.p90_days == days(2.25 + 0.8 * (3.125 - 2.25))
    assert service.compliance == pytest.approx(1.0)
    assert service.rejected == 1
    departments = {r.key: r for r in board.departments}
    market, fire = departments["market_regulation"], departments["fire"]
    assert market.decided == 4
    assert market.median_days == days((1.0 + 2.25) / 2)
    assert market.p90_days == days(2.25 + 0.7 * (3.125 - 2.25))
    assert market.compliance == pytest.approx(3 / 4)
    assert (market.escalated, market.silent_consent, market.rejected) == (1, 0, 1)
    assert fire.median_days == days(1.75)
    assert fire.p90_days == days(1.75 + 0.8 * (1.875 - 1.75))
    assert fire.compliance == pytest.approx(2 / 3)
    assert fire.silent_consent == 1
    assert board.totals.median_days == days(2.25)
    assert (board.totals.submitted, board.totals.approved, board.totals.rejected) == (3, 2, 1)
    weeks = {(w.week, w.service): w for w in board.weeks}
    assert weeks[(date(2026, 2, 9), "insight_probe")].submitted == 1
    assert weeks[(date(2026, 2, 23), "insight_probe")].approved == 1
    assert weeks[(date(2026, 3, 2), "insight_probe")].submitted == 1
    assert weeks[(date(2026, 3, 2), "insight_probe")].approved == 1
    assert weeks[(date(2026, 3, 9), "insight_probe")].rejected == 1


def test_filters_narrow_by_date_and_department(known_cases, probe, now):
    march = dashboard_get(filters=Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)), now=now)
    assert {r.key: r.decided for r in march.services} == {"insight_probe": 2}
    from govflow.accounts.models import Department

    fire_only = dashboard_get(
        filters=Filters(
            start=date(2026, 2, 1), end=date(2026, 3, 31), department=Department.objects.get(code="fire")
        ),
        now=now,
    )
    assert [r.key for r in fire_only.departments] == ["fire"]
    assert fire_only.services[0].decided == 3


def test_bottlenecks_and_overdue_are_read_live(driver, probe):
    case = driver.submit(beijing(2026, 3, 16, 9))
    driver.decide(case, "review_b", "approve", beijing(2026, 3, 16, 10))
    board = dashboard_get(
        filters=Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)), now=beijing(2026, 3, 19, 13)
    )
    assert len(board.bottlenecks) == 1
    waiting = board.bottlenecks[0]
    # Mon 09:00 to Thu 13:00: 8 + 8 + 8 + 4 = 28 office hours.
    assert waiting.oldest_wait_days == pytest.approx(3.5)
    assert (waiting.waiting, waiting.overdue) == (1, 1)
    loads = {x.code: x for x in board.loads}
    assert (loads["market_regulation"].open, loads["market_regulation"].overdue) == (1, 1)


def test_quantile_matches_percentile_cont():
    assert quantile([], 0.5) is None
    assert quantile([4.0], 0.9) == 4.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == pytest.approx(9.1)


def test_backfill_recomputes_the_same_facts(known_cases):
    from govflow.insight.facts import facts_backfill

    before = {
        f.pk: (f.working_seconds, f.within_limit) for f in [*CaseFact.objects.all(), *TaskFact.objects.all()]
    }
    CaseFact.objects.all().delete()
    TaskFact.objects.all().delete()
    assert facts_backfill() == (3, 7)
    after = {
        f.pk: (f.working_seconds, f.within_limit) for f in [*CaseFact.objects.all(), *TaskFact.objects.all()]
    }
    assert after == before
    assert facts_backfill() == (0, 0)


def test_a_case_withdrawn_while_with_the_applicant_stops_at_its_pause(driver):
    """Submitted Mon 03-09 10:00, returned for correction Tue 03-10 10:00 (8
    office hours; the clock stops), withdrawn Wed 03-11 10:00 while still
    paused: the case took 8 hours, not 16."""
    from govflow.cases.services import case_withdraw

    case = driver.submit(beijing(2026, 3, 9, 10))
    driver.decide(case, "review_a", "return", beijing(2026, 3, 10, 10))
    case_withdraw(case_id=case.pk, actor=driver.applicant, now=beijing(2026, 3, 11, 10))
    driver.project()
    fact = CaseFact.objects.get(case_id=case.pk)
    assert (fact.outcome, fact.working_seconds) == ("withdrawn", 8 * HOUR)
    # Recomputed from the rows afterwards, the same figure.
    from govflow.insight.facts import facts_backfill

    CaseFact.objects.filter(case_id=case.pk).delete()
    facts_backfill()
    assert CaseFact.objects.get(case_id=case.pk).working_seconds == 8 * HOUR
