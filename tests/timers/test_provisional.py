"""Year end: deadlines that reach past the loaded calendar are provisional
(counted Monday to Friday), shown as such, never give a legal effect, and
are recomputed exactly when the year is loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from govflow.audit.models import AuditEvent
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Case, CaseStatus, Task
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_answer_correction, case_create, case_submit
from govflow.processes.services import process_publish
from govflow.timers.models import CalendarYear, Timer
from govflow.timers.services import calendar_invalidate
from tests.deciding import claim_and_complete

pytestmark = pytest.mark.django_db
YEAR_END_YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "year_end.yaml"
SUNDAY_DEC_20 = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)  # 10:00 Beijing
# A made-up 2027 for the tests (the real notice is not published here):
# New Year's Day and Wednesday 6 January off.
YEAR_2027 = """
jurisdiction: cn
name: {zh: 中国大陆法定工作日历, en: Official working-day calendar of mainland China}
years:
  2027:
    source: {title: 国务院办公厅关于2027年部分节假日安排的通知（测试）}
    holidays:
      - {from: 2027-01-01, to: 2027-01-01, name: {zh: 元旦, en: New Year's Day}}
      - {from: 2027-01-06, to: 2027-01-06, name: {zh: 测试假日, en: Test holiday}}
    workdays: []
"""


def beijing(year, month, day, hour=10):
    return datetime(year, month, day, hour - 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


@pytest.fixture
def load_2027(tmp_path):
    def load():
        path = tmp_path / "cn-2027.yaml"
        path.write_text(YEAR_2027, encoding="utf-8")
        out = StringIO()
        call_command("load_calendar", str(path), stdout=out, language="en")
        return out.getvalue()

    return load


@pytest.fixture
def submit(base_data, applicant):
    assert not CalendarYear.objects.filter(year=2027).exists()
    process_publish(source=YEAR_END_YAML.read_text(encoding="utf-8"))

    def submit(at: datetime) -> Case:
        case = case_create(
            applicant=applicant, template_code="test_year_end", data={"company_name": "北京示例"}, now=at
        )
        return case_submit(case_id=case.pk, actor=applicant, now=at)

    return submit


def review_task(case):
    return Task.objects.get(case=case, node_id="review", status__in=["open", "claimed"])


def test_a_case_submitted_on_20_december_gets_a_provisional_deadline(submit, load_2027):
    # Given a case submitted on Sunday 20 December with a 20-working-day limit
    case = submit(SUNDAY_DEC_20)

    # Then 9 working days fall in 2026 and 11 in 2027, counted Monday to Friday
    breach = Timer.objects.get(case=case, kind="sla_breach")
    assert breach.due_at == beijing(2027, 1, 15, 17)
    assert (breach.provisional, breach.legal_effect) == (True, True)
    task = review_task(case)
    assert (task.due_at, task.due_provisional) == (breach.due_at, True)
    reminder = Timer.objects.get(case=case, kind="sla_reminder")
    assert (reminder.provisional, reminder.legal_effect) == (True, False)

    # When the year is loaded, the deadline is exact: New Year's Day and 6 January are off
    output = load_2027()
    # the review's reminder and breach, and the case's promise and its warning
    assert "4 now exact" in output
    breach.refresh_from_db()
    assert (breach.due_at, breach.provisional) == (beijing(2027, 1, 19, 17), False)
    # the promise (time_limit, 20 working days from acceptance on submission) alike
    promise = Timer.objects.get(case=case, kind="case_promise")
    assert (promise.due_at, promise.provisional) == (beijing(2027, 1, 19, 17), False)
    task.refresh_from_db()
    assert (task.due_at, task.due_provisional) == (beijing(2027, 1, 19, 17), False)
    event = AuditEvent.objects.get(action="DEADLINES_RECOMPUTED", case=case)
    assert {row["kind"]: (row["from"], row["to"]) for row in event.data["timers"]}["sla_breach"] == (
        beijing(2027, 1, 15, 17).isoformat(),
        beijing(2027, 1, 19, 17).isoformat(),
    )


def test_silent_consent_never_fires_on_a_provisional_date_and_fires_on_the_exact_one(submit, load_2027):
    case = submit(SUNDAY_DEC_20)

    # When the provisional date passes (Saturday 16 January) with 2027 not loaded
    timers_fire_due(now=beijing(2027, 1, 16))

    # Then the reminder fired (it only tells people), the silent consent did not
    assert Timer.objects.get(case=case, kind="sla_reminder").status == Timer.FIRED
    breach = Timer.objects.get(case=case, kind="sla_breach")
    assert breach.status == Timer.PENDING
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    held = [p for p in reconcile(now=beijing(2027, 1, 16)) if p.startswith("timer")]
    assert len(held) == 1
    assert "provisional" in held[0]
    assert "2027 working-day calendar" in held[0]

    # When the year is loaded, the exact date is Tuesday 19 January 17:00
    load_2027()
    assert timers_fire_due(now=beijing(2027, 1, 19, 16)) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW

    # Then it fires on the exact date, and the case is approved by silent consent
    assert timers_fire_due(now=beijing(2027, 1, 19, 18)) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    decided = Task.objects.get(case=case, node_id="review")
    assert decided.silent_consent
    assert not [p for p in reconcile(now=beijing(2027, 1, 19, 18)) if p.startswith("timer")]


def test_a_missed_correction_deadline_waits_for_the_exact_date_before_deeming_withdrawal(
    submit, load_2027, base_data, client, applicant
):
    case = submit(SUNDAY_DEC_20)
    # Given the reviewer returns it on Monday 28 December: 5 working days to answer
    claim_and_complete(
        task_id=review_task(case).pk,
        actor=base_data["market_regulation_reviewer"],
        outcome="return",
        opinion="请补充章程",
        now=beijing(2026, 12, 28),
    )
    deadline = Timer.objects.get(case=case, kind="correction_deadline")
    # 29, 30, 31 December, then Friday 1 and Monday 4 January by the weekday rule
    assert (deadline.due_at, deadline.provisional, deadline.legal_effect) == (
        beijing(2027, 1, 4, 17),
        True,
        True,
    )

    # The applicant sees the date marked as provisional
    client.force_login(applicant)
    page = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert "2027-01-04 17:00" in page.content.decode()
    assert 'class="provisional"' in page.content.decode()
    assert "预计" in page.content.decode()

    # When the provisional date passes, the case is not deemed withdrawn
    assert timers_fire_due(now=beijing(2027, 1, 5)) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CORRECTION

    # When 2027 is loaded, the deadline is Tuesday 5 January 17:00 (1 January is off)
    load_2027()
    deadline.refresh_from_db()
    assert (deadline.due_at, deadline.provisional) == (beijing(2027, 1, 5, 17), False)
    page = client.get(f"/cases/{case.reference}/")
    assert 'class="provisional"' not in page.content.decode()

    # Then it fires after the exact date
    assert timers_fire_due(now=beijing(2027, 1, 5, 18)) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN


@pytest.mark.parametrize(
    ("returned", "answered"),
    [
        # paused and resumed inside 2026: the deadline moves within 2027
        (beijing(2026, 12, 22), beijing(2026, 12, 24, 15)),
        # paused in 2026, resumed in 2027 on a day that turns out to be a holiday
        (beijing(2026, 12, 30, 11), beijing(2027, 1, 6, 9)),
        # paused and resumed inside 2027
        (beijing(2027, 1, 4, 16), beijing(2027, 1, 7, 10)),
    ],
)
def test_a_recomputed_deadline_equals_the_one_counted_with_the_year_loaded_all_along(
    submit, load_2027, base_data, applicant, returned, answered
):
    """The same case, the same moments: once with 2027 missing (provisional
    deadlines through a correction pause) and recomputed when the year is
    loaded; once with 2027 loaded from the start."""
    reviewer = base_data["market_regulation_reviewer"]

    def play() -> Case:
        case = submit(SUNDAY_DEC_20)
        claim_and_complete(
            task_id=review_task(case).pk, actor=reviewer, outcome="return", opinion="补正", now=returned
        )
        case_answer_correction(
            case_id=case.pk, actor=applicant, data={"company_name": "北京示例"}, now=answered
        )
        return case

    def deadlines(case):
        return {
            (t.kind, t.status): (t.due_at, t.remaining_seconds, t.provisional)
            for t in Timer.objects.filter(case=case, status__in=[Timer.PENDING, Timer.PAUSED])
        }

    first = play()
    assert any(provisional for _, _, provisional in deadlines(first).values())
    load_2027()
    second = play()
    assert deadlines(first) == deadlines(second)
    assert not any(provisional for _, _, provisional in deadlines(second).values())


def test_the_inbox_and_the_api_mark_a_provisional_deadline(submit, load_2027, base_data, client):
    case = submit(SUNDAY_DEC_20)
    reviewer = base_data["market_regulation_reviewer"]
    client.force_login(reviewer)

    inbox = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in inbox
    assert 'class="provisional"' in inbox

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(reviewer)
    body = api.get(f"/api/v1/cases/{case.reference}/").json()
    slas = [row["sla"] for row in body["progress"] if row["sla"]["due_at"]]
    assert slas
    assert all(sla["provisional"] for sla in slas)

    load_2027()
    body = api.get(f"/api/v1/cases/{case.reference}/").json()
    slas = [row["sla"] for row in body["progress"] if row["sla"]["due_at"]]
    assert slas
    assert not any(sla["provisional"] for sla in slas)
    assert 'class="provisional"' not in client.get("/inbox/").content.decode()


def test_a_case_accepted_years_past_the_calendar_still_gets_its_deadlines(submit):
    """A machine whose clock is years ahead of the loaded calendar (or an
    installation that never loaded another year) keeps working."""
    case = submit(beijing(2031, 6, 17))  # a Tuesday
    breach = Timer.objects.get(case=case, kind="sla_breach")
    assert breach.provisional
    # 20 working days Monday to Friday from Tuesday 17 June: Tuesday 15 July
    assert breach.due_at == beijing(2031, 7, 15, 17)
    assert [p for p in reconcile(now=beijing(2031, 6, 17)) if p.startswith("timer")] == []


def test_deadlines_inside_the_loaded_calendar_are_exact(submit):
    case = submit(beijing(2026, 3, 3))
    assert not Timer.objects.filter(case=case, provisional=True).exists()
    assert timedelta(0) < Timer.objects.get(case=case, kind="sla_breach").due_at - beijing(2026, 3, 3)


def test_the_dashboard_lists_legal_effects_waiting_for_the_calendar(submit, base_data, client):
    import time_machine

    case = submit(SUNDAY_DEC_20)
    with time_machine.travel(beijing(2027, 1, 14), tick=False):
        client.force_login(base_data["leader"])
        before = client.get("/insight/", HTTP_ACCEPT_LANGUAGE="en")
    assert before.status_code == 200
    assert 'id="held-timers"' not in before.content.decode()  # not due yet

    with time_machine.travel(beijing(2027, 1, 16), tick=False):
        timers_fire_due()
        client.force_login(base_data["leader"])
        page = client.get("/insight/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="held-timers"' in html
    assert case.reference in html
    assert "逾期视为准予" in html  # silent consent
