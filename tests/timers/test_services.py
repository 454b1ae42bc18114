"""The calendar in the database: a missing year is reported, not guessed;
loading it (command or admin) schedules the timers that waited; admin edits
go through the services and reach the deadline arithmetic at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from govflow.audit.models import AuditEvent
from govflow.cases.models import Task
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.processes.services import process_publish
from govflow.timers.models import Calendar, CalendarDay, CalendarYear, Timer
from govflow.timers.services import calendar_get, calendar_invalidate

pytestmark = pytest.mark.django_db
REVIEW_YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "review.yaml"
GOOD_DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}
JAN_5_2027 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Beijing
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


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()  # what a test loaded is rolled back; so must the cache be


@pytest.fixture
def case_in_2027(base_data, applicant):
    """A case accepted in a year the calendar does not have yet."""
    assert not CalendarYear.objects.filter(year=2027).exists()
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=JAN_5_2027)
    return case_submit(case_id=case.pk, actor=applicant, now=JAN_5_2027)


def test_a_missing_year_is_reported_and_loading_it_schedules_the_waiting_timers(case_in_2027, tmp_path):
    # Given timers that could not get a due date
    timers = Timer.objects.filter(case=case_in_2027)
    assert {(t.kind, t.due_at) for t in timers} == {("sla_reminder", None), ("sla_breach", None)}
    assert all("no data for 2027" in t.problem for t in timers)
    problems = reconcile(now=JAN_5_2027)
    assert len(problems) == 2
    assert all("no due date" in p for p in problems)

    # When an admin loads the year
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    out = StringIO()
    call_command("load_calendar", str(path), stdout=out)

    # Then the timers are due on the calendar, skipping the new holiday (Wed 6 Jan)
    assert out.getvalue().strip() == "calendar cn: loaded 2027; 2 timer(s) rescheduled"
    breach = Timer.objects.get(case=case_in_2027, kind="sla_breach")
    assert breach.due_at == datetime(2027, 1, 8, 9, 0, tzinfo=UTC)  # Friday 17:00 Beijing
    assert breach.problem == ""
    reminder = Timer.objects.get(case=case_in_2027, kind="sla_reminder")
    assert JAN_5_2027 < reminder.due_at < breach.due_at
    assert Task.objects.get(case=case_in_2027, node_id="intake").due_at == breach.due_at
    assert reconcile(now=JAN_5_2027) == []


def test_sla_timers_of_a_case_paused_meanwhile_are_rescheduled_paused(case_in_2027, base_data, tmp_path):
    from govflow.cases.services import task_complete

    # Given the parallel reviews opened without due dates, and fire returns
    # the case to the applicant an hour later: the clock is paused
    def decide(node, user, outcome, opinion, at):
        task = Task.objects.get(case=case_in_2027, node_id=node, status="open")
        task_complete(task_id=task.pk, actor=base_data[user], outcome=outcome, opinion=opinion, now=at)

    decide("intake", "market_regulation_reviewer", "approve", "同意", JAN_5_2027)
    decide("fire", "fire_reviewer", "return", "补充图纸", JAN_5_2027 + timedelta(hours=1))
    tax_breach = Timer.objects.get(case=case_in_2027, node_id="tax", kind="sla_breach")
    assert (tax_breach.status, tax_breach.due_at) == (Timer.PENDING, None)

    # When the year is loaded
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    call_command("load_calendar", str(path), stdout=StringIO())

    # Then the tax deadline is kept as the office time it had left at the pause
    tax_breach.refresh_from_db()
    assert tax_breach.status == Timer.PAUSED
    assert tax_breach.due_at is None
    # 1 working day from Tue 10:00 (Wed is a holiday) is Thu 17:00; paused at Tue 11:00
    assert tax_breach.remaining_seconds == (6 + 8) * 3600


def test_a_bad_calendar_file_is_a_command_error(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "bad.yaml"
    path.write_text(YEAR_2027.replace("workdays: []", "workdays: [2027-01-04]"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.yaml"):
        call_command("load_calendar", str(path), stdout=StringIO())


def test_the_admin_edits_calendar_days_through_the_services(
    base_data, client, process_admin, django_capture_on_commit_callbacks
):
    calendar = Calendar.objects.get(code="cn")
    assert calendar_get("cn").is_working_day(date(2026, 3, 4))  # cached now
    client.force_login(process_admin)

    # A weekday cannot be an adjusted working day
    refused = client.post(
        "/admin/timers/calendarday/add/",
        {"calendar": calendar.pk, "date": "2026-03-04", "kind": "workday", "name": ""},
    )
    assert refused.status_code == 200
    assert not CalendarDay.objects.filter(date=date(2026, 3, 4)).exists()

    # A new holiday reaches the deadline arithmetic as soon as it is saved
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(
            "/admin/timers/calendarday/add/",
            {"calendar": calendar.pk, "date": "2026-03-04", "kind": "holiday", "name": "测试"},
        )
    assert added.status_code == 302
    assert not calendar_get("cn").is_working_day(date(2026, 3, 4))
    event = AuditEvent.objects.get(action="CALENDAR_DAY_SAVED")
    assert event.actor == process_admin
    assert event.data["date"] == "2026-03-04"

    day = CalendarDay.objects.get(date=date(2026, 3, 4))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/timers/calendarday/{day.pk}/delete/", {"post": "yes"})
    assert calendar_get("cn").is_working_day(date(2026, 3, 4))
    assert client.get("/admin/timers/timer/").status_code == 200


def test_saving_a_year_in_the_admin_schedules_the_timers_that_waited(
    case_in_2027, client, process_admin, django_capture_on_commit_callbacks
):
    calendar = Calendar.objects.get(code="cn")
    client.force_login(process_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/timers/calendaryear/add/", {"calendar": calendar.pk, "year": 2027, "source": "测试通知"}
        )
    assert response.status_code == 302
    breach = Timer.objects.get(case=case_in_2027, kind="sla_breach")
    assert breach.due_at == datetime(2027, 1, 7, 9, 0, tzinfo=UTC)  # no holidays entered: Thursday 17:00
    assert AuditEvent.objects.filter(action="CALENDAR_YEAR_SAVED", actor=process_admin).count() == 1


def test_a_clock_resumed_into_a_year_the_calendar_lacks_waits_for_the_year(base_data, applicant, tmp_path):
    """A correction answered on New Year's Eve resumes the paused SLA into
    2027, which the calendar does not have yet: the timer waits without a
    due date (reported), and loading the year counts what was left from the
    moment the clock resumed."""
    from govflow.cases.services import case_answer_correction, task_complete

    assert not CalendarYear.objects.filter(year=2027).exists()
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    start = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # Wednesday 10:00 Beijing
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=start)
    case_submit(case_id=case.pk, actor=applicant, now=start)

    def decide(node, user, outcome, opinion, at):
        task = Task.objects.get(case=case, node_id=node, status="open")
        task_complete(task_id=task.pk, actor=base_data[user], outcome=outcome, opinion=opinion, now=at)

    decide("intake", "market_regulation_reviewer", "approve", "同意", start)
    decide("fire", "fire_reviewer", "return", "补充图纸", start + timedelta(hours=1))
    paused = Timer.objects.get(case=case, node_id="tax", kind="sla_breach")
    assert paused.status == Timer.PAUSED
    left = paused.remaining_seconds
    assert left > 3600

    # When the applicant answers at 16:00 on 31 December (one office hour left in 2026)
    resumed = datetime(2026, 12, 31, 8, 0, tzinfo=UTC)
    case_answer_correction(case_id=case.pk, actor=applicant, data=GOOD_DATA, now=resumed)

    breach = Timer.objects.get(case=case, node_id="tax", kind="sla_breach")
    assert (breach.status, breach.due_at, breach.resumed_at) == (Timer.PENDING, None, resumed)
    assert "2027" in breach.problem
    assert any("no due date" in p for p in reconcile(now=resumed))

    # Then loading 2027 dates it from the resumption, with the time that was left
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    call_command("load_calendar", str(path), stdout=StringIO())
    breach.refresh_from_db()
    assert breach.due_at == calendar_get("cn").add_working_seconds(resumed, left)
    assert breach.due_at.year == 2027
    assert (breach.remaining_seconds, breach.resumed_at, breach.problem) == (None, None, "")
