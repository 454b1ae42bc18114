"""The calendar in the database: a deadline in a missing year is provisional;
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
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from govflow.timers.models import Calendar, CalendarDay, CalendarYear, Timer
from govflow.timers.services import calendar_get, calendar_invalidate
from tests.deciding import claim_and_complete

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


def test_a_deadline_in_a_missing_year_is_provisional_until_the_year_is_loaded(case_in_2027, tmp_path):
    # Given timers counted Monday to Friday over 2027, which is not loaded
    timers = {t.kind: t for t in Timer.objects.filter(case=case_in_2027, kind__startswith="sla_")}
    assert set(timers) == {"sla_reminder", "sla_breach"}
    assert all(t.provisional and t.problem == "" for t in timers.values())
    # the case's own limits too, when the template sets them (govflow.cases.limits)
    limits = Timer.objects.filter(case=case_in_2027, kind__startswith="case_")
    assert all(t.provisional and t.due_at is not None for t in limits)
    breach = timers["sla_breach"]
    assert breach.due_at == datetime(2027, 1, 7, 9, 0, tzinfo=UTC)  # Thursday 17:00 by the weekday rule
    assert breach.legal_effect is False  # intake escalates on breach
    task = Task.objects.get(case=case_in_2027, node_id="intake")
    assert (task.due_at, task.due_provisional) == (breach.due_at, True)
    assert reconcile(now=JAN_5_2027) == []  # a provisional date is not a problem by itself

    # When an admin loads the year
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    out = StringIO()
    call_command("load_calendar", str(path), stdout=out, language="en")

    # Then the deadlines are recounted on it, skipping the new holiday (Wed 6 Jan), and audited:
    # the review's reminder and breach, and the case's promise and its warning
    assert out.getvalue().strip() == (
        "calendar cn: loaded 2027; 4 deadline(s) recomputed in 1 case(s), 4 now exact; 1 notification(s) sent"
    )
    assert not Timer.objects.filter(case=case_in_2027, kind__startswith="case_", provisional=True).exists()
    breach.refresh_from_db()
    assert (breach.due_at, breach.provisional) == (datetime(2027, 1, 8, 9, 0, tzinfo=UTC), False)
    reminder = Timer.objects.get(case=case_in_2027, kind="sla_reminder")
    assert JAN_5_2027 < reminder.due_at < breach.due_at
    assert not reminder.provisional
    task.refresh_from_db()
    assert (task.due_at, task.due_provisional) == (breach.due_at, False)
    event = AuditEvent.objects.get(action="DEADLINES_RECOMPUTED", case=case_in_2027)
    moved = {row["kind"]: row for row in event.data["timers"]}
    assert moved["sla_breach"]["from"] == "2027-01-07T09:00:00+00:00"
    assert moved["sla_breach"]["to"] == "2027-01-08T09:00:00+00:00"
    assert AuditEvent.objects.filter(action="CALENDAR_DEADLINES_RECOMPUTED").count() == 1
    # The reviewers of the department are told the date moved
    assert outbox_drain(topics=["notify"]) == 2  # the new task's, and the moved deadline's
    told = Notification.objects.filter(case=case_in_2027, kind="deadline_changed")
    assert {n.user.username for n in told} >= {"market_regulation_reviewer"}
    assert reconcile(now=JAN_5_2027) == []

    # And loading it again changes nothing
    out = StringIO()
    call_command("load_calendar", str(path), stdout=out, language="en")
    assert out.getvalue().strip() == "calendar cn: loaded 2027; 0 deadline(s) recomputed in 0 case(s)"


def test_sla_timers_of_a_case_paused_meanwhile_are_recounted_paused(case_in_2027, base_data, tmp_path):

    # Given the parallel reviews opened with provisional due dates, and fire
    # returns the case to the applicant an hour later: the clock is paused
    def decide(node, user, outcome, opinion, at):
        task = Task.objects.get(case=case_in_2027, node_id=node, status="open")
        claim_and_complete(task_id=task.pk, actor=base_data[user], outcome=outcome, opinion=opinion, now=at)

    decide("intake", "market_regulation_reviewer", "approve", "同意", JAN_5_2027)
    decide("fire", "fire_reviewer", "return", "补充图纸", JAN_5_2027 + timedelta(hours=1))
    tax_breach = Timer.objects.get(case=case_in_2027, node_id="tax", kind="sla_breach")
    assert (tax_breach.status, tax_breach.provisional, tax_breach.legal_effect) == (Timer.PAUSED, True, True)
    # 1 working day from Tue 10:00 by the weekday rule is Wed 17:00; paused at Tue 11:00
    assert tax_breach.remaining_seconds == (6 + 8) * 3600

    # When the year is loaded
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    call_command("load_calendar", str(path), stdout=StringIO(), language="en")

    # Then the tax deadline is still paused, with the office time it had left
    # at the pause on the real calendar: Wed 6 Jan is a holiday, due Thu 17:00
    tax_breach.refresh_from_db()
    assert (tax_breach.status, tax_breach.due_at, tax_breach.provisional) == (Timer.PAUSED, None, False)
    assert tax_breach.remaining_seconds == (6 + 8) * 3600
    assert len(tax_breach.pauses) == 1
    assert tax_breach.pauses[0][1] is None


def test_a_bad_calendar_file_is_a_command_error(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "bad.yaml"
    path.write_text(YEAR_2027.replace("workdays: []", "workdays: [2027-01-04]"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.yaml"):
        call_command("load_calendar", str(path), stdout=StringIO(), language="en")


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


def test_saving_a_year_in_the_admin_recomputes_the_provisional_deadlines(
    case_in_2027, client, process_admin, django_capture_on_commit_callbacks
):
    calendar = Calendar.objects.get(code="cn")
    client.force_login(process_admin)
    CalendarDay.objects.create(calendar=calendar, date=date(2027, 1, 6), kind=CalendarDay.HOLIDAY)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/admin/timers/calendaryear/add/", {"calendar": calendar.pk, "year": 2027, "source": "测试通知"}
        )
    assert response.status_code == 302
    # Recounting thousands of cases is a worker's job, not the admin's request's
    assert Timer.objects.get(case=case_in_2027, kind="sla_breach").provisional
    assert outbox_drain(topics=["calendar_recompute"]) == 1
    breach = Timer.objects.get(case=case_in_2027, kind="sla_breach")
    assert (breach.due_at, breach.provisional) == (datetime(2027, 1, 8, 9, 0, tzinfo=UTC), False)
    assert AuditEvent.objects.filter(action="CALENDAR_YEAR_SAVED", actor=process_admin).count() == 1
    assert AuditEvent.objects.get(action="CALENDAR_DEADLINES_RECOMPUTED").actor == process_admin


def test_a_clock_resumed_into_a_year_the_calendar_lacks_is_provisional_until_the_year(
    base_data, applicant, tmp_path
):
    """A correction answered on New Year's Eve resumes the paused SLA into
    2027, which the calendar does not have yet: the timer gets a provisional
    date, and loading the year counts what was left from the moment the
    clock resumed."""
    from govflow.cases.services import case_answer_correction

    assert not CalendarYear.objects.filter(year=2027).exists()
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    start = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # Wednesday 10:00 Beijing
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=start)
    case_submit(case_id=case.pk, actor=applicant, now=start)

    def decide(node, user, outcome, opinion, at):
        task = Task.objects.get(case=case, node_id=node, status="open")
        claim_and_complete(task_id=task.pk, actor=base_data[user], outcome=outcome, opinion=opinion, now=at)

    decide("intake", "market_regulation_reviewer", "approve", "同意", start)
    decide("fire", "fire_reviewer", "return", "补充图纸", start + timedelta(hours=1))
    paused = Timer.objects.get(case=case, node_id="tax", kind="sla_breach")
    assert (paused.status, paused.provisional) == (Timer.PAUSED, False)  # due 31 Dec: exact
    left = paused.remaining_seconds
    assert left > 3600

    # When the applicant answers at 16:00 on 31 December (one office hour left in 2026)
    resumed = datetime(2026, 12, 31, 8, 0, tzinfo=UTC)
    case_answer_correction(case_id=case.pk, actor=applicant, data=GOOD_DATA, now=resumed)

    breach = Timer.objects.get(case=case, node_id="tax", kind="sla_breach")
    assert (breach.status, breach.provisional, breach.problem) == (Timer.PENDING, True, "")
    # 13 office hours after 17:00 on 31 December; Friday 1 January counts
    # as a working day by the weekday rule: Monday 4 January 14:00
    assert left == 14 * 3600
    assert breach.due_at == datetime(2027, 1, 4, 6, 0, tzinfo=UTC)
    assert not [p for p in reconcile(now=resumed) if p.startswith("timer")]

    # Then loading 2027 dates it from the resumption, with the time that was left
    path = tmp_path / "cn-2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    call_command("load_calendar", str(path), stdout=StringIO(), language="en")
    breach.refresh_from_db()
    assert breach.due_at == calendar_get("cn").add_working_seconds(resumed, left)
    assert breach.due_at == datetime(2027, 1, 5, 6, 0, tzinfo=UTC)  # New Year's Day is a holiday
    assert (breach.remaining_seconds, breach.provisional, breach.problem) == (None, False, "")
