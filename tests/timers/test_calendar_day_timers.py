"""Timers in calendar days through the case services: counted from the day
after, moved off weekends and holidays, carried over a pause by whole days,
and recounted the same way when deadlines are recomputed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from govflow.cases.models import Task
from govflow.cases.recompute import timers_recompute
from govflow.cases.services import case_answer_correction, case_create, case_submit
from govflow.processes.services import process_publish
from govflow.timers.models import Timer
from govflow.timers.services import calendar_invalidate
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.django_db, pytest.mark.procedure]
TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "services" / "calendar_days.yaml"


def beijing(year, month, day, hour=10):
    return datetime(year, month, day, hour - 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


@pytest.fixture
def case(base_data, applicant):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    at = beijing(2026, 3, 2)  # a Monday
    created = case_create(
        applicant=applicant, template_code="test_calendar_days", data={"company_name": "北京示例"}, now=at
    )
    return case_submit(case_id=created.pk, actor=applicant, now=at)


def test_a_calendar_day_limit_is_moved_off_a_holiday(case):
    # 2 March + 60 days is Friday 1 May (Labour Day, off to 5 May)
    breach = Timer.objects.get(case=case, kind="sla_breach")
    assert breach.nominal_end == date(2026, 5, 1)
    assert (breach.due_at, breach.provisional) == (beijing(2026, 5, 6, 17), False)
    assert Task.objects.get(case=case, node_id="review").due_at == beijing(2026, 5, 6, 17)


def test_a_correction_pause_adds_its_calendar_days(case, base_data, applicant):
    # Given the reviewer returns the case on Tuesday 10 March
    claim_and_complete(
        task_id=Task.objects.get(case=case, node_id="review").pk,
        actor=base_data["market_regulation_reviewer"],
        outcome="return",
        opinion="请补充章程",
        now=beijing(2026, 3, 10),
    )
    # Then the applicant has 30 calendar days: Thursday 9 April
    assert Timer.objects.get(case=case, kind="correction_deadline").due_at == beijing(2026, 4, 9, 17)

    # When the applicant answers ten days later
    case_answer_correction(
        case_id=case.pk, actor=applicant, data={"company_name": "北京示例二"}, now=beijing(2026, 3, 20)
    )

    # Then the new review's 60 days start again (a return is a new task),
    # from 20 March: nominal 19 May, a Tuesday
    breach = Timer.objects.filter(case=case, kind="sla_breach", status=Timer.PENDING).get()
    assert (breach.due_at, breach.nominal_end) == (beijing(2026, 5, 19, 17), date(2026, 5, 19))


def test_a_paused_calendar_timer_is_recounted_the_same_way(case):
    # Given an SLA timer paused for ten days and resumed (as an excluded
    # step would), whose due date is then recomputed from its pauses
    breach = Timer.objects.get(case=case, kind="sla_breach")
    from govflow.cases.bridge import _pause, _resume
    from govflow.timers.services import calendar_get

    calendar = calendar_get("cn")
    _pause(breach, calendar, beijing(2026, 3, 10))
    _resume(breach, calendar, beijing(2026, 3, 20))
    breach.save()
    assert (breach.due_at, breach.nominal_end) == (beijing(2026, 5, 11, 17), date(2026, 5, 11))
    Timer.objects.filter(pk=breach.pk).update(provisional=True)  # make the recount look at it

    timers_recompute()

    breach.refresh_from_db()
    assert (breach.due_at, breach.nominal_end, breach.provisional) == (
        beijing(2026, 5, 11, 17),
        date(2026, 5, 11),
        False,
    )
