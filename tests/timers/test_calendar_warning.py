"""Early warning that next year's working-day calendar is not loaded: the
coverage arithmetic, the console and admin banner, check_calendar, the
/metrics gauge and the weekly notice to process administrators. Every date
is pinned; nothing here depends on the real date."""

from __future__ import annotations

import re
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from govflow.accounts import models as roles
from govflow.demo import ensure_user
from govflow.notifications.models import Notification
from govflow.notifications.services import calendar_warning_notify
from govflow.timers.models import Calendar, CalendarYear
from govflow.timers.selectors import calendar_coverage, calendar_warnings, coverage_of
from govflow.timers.services import calendar_invalidate
from tests.web.conftest import login

BEIJING = ZoneInfo("Asia/Shanghai")
BANNER_ZH = (
    "2027 年工作日历尚未导入：现有日历截至 2026-12-31，还剩 {days} 天。请按国务院办公厅节假日安排通知导入。"
)


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    calendar_invalidate()
    yield
    calendar_invalidate()


# -- coverage arithmetic (no database) -----------------------------------------


def test_the_coverage_counts_calendar_days_to_the_end_of_the_last_loaded_year():
    # Given 2025 and 2026 loaded, on 6 September 2026
    coverage = coverage_of("cn", {2025, 2026}, today=date(2026, 9, 6), lead=60)
    # Then the calendar lasts 116 more days and 2027 is the year to load
    assert coverage.last_day == date(2026, 12, 31)
    assert coverage.days_left == 116
    assert coverage.missing_year == 2027
    assert coverage.is_warning is False


def test_the_warning_starts_on_the_lead_date_and_not_the_day_before():
    day_before = coverage_of("cn", {2025, 2026}, today=date(2026, 10, 31), lead=60)
    lead_date = coverage_of("cn", {2025, 2026}, today=date(2026, 11, 1), lead=60)
    assert (day_before.days_left, day_before.is_warning) == (61, False)
    assert (lead_date.days_left, lead_date.is_warning) == (60, True)


def test_across_the_year_boundary():
    # The last day of a loaded year: nothing left, but still covered
    last = coverage_of("cn", {2026}, today=date(2026, 12, 31), lead=60)
    assert (last.last_day, last.days_left, last.missing_year, last.is_warning) == (
        date(2026, 12, 31),
        0,
        2027,
        True,
    )
    # The next morning today's own year is missing: negative, no last day
    next_day = coverage_of("cn", {2026}, today=date(2027, 1, 1), lead=60)
    assert (next_day.last_day, next_day.days_left, next_day.missing_year) == (None, -1, 2027)
    assert next_day.is_warning
    assert next_day.is_expired
    # With 2027 loaded the same day is far from any warning
    loaded = coverage_of("cn", {2026, 2027}, today=date(2026, 12, 31), lead=60)
    assert (loaded.last_day, loaded.days_left, loaded.missing_year, loaded.is_warning) == (
        date(2027, 12, 31),
        365,
        2028,
        False,
    )


def test_a_gap_in_the_loaded_years_ends_the_run():
    years = {2025, 2026, 2028}
    before_gap = coverage_of("cn", years, today=date(2026, 6, 1), lead=60)
    assert (before_gap.last_day, before_gap.missing_year) == (date(2026, 12, 31), 2027)
    in_gap = coverage_of("cn", years, today=date(2027, 5, 1), lead=60)
    # Ran out when 2026 ended, 121 days before 1 May 2027
    assert (in_gap.last_day, in_gap.days_left, in_gap.missing_year) == (None, -121, 2027)
    after_gap = coverage_of("cn", years, today=date(2028, 3, 1), lead=60)
    assert (after_gap.last_day, after_gap.days_left, after_gap.missing_year) == (
        date(2028, 12, 31),
        305,
        2029,
    )


def test_nothing_loaded_counts_from_the_start_of_the_year():
    coverage = coverage_of("cn", set(), today=date(2026, 3, 1), lead=60)
    assert (coverage.last_day, coverage.days_left, coverage.missing_year) == (None, -60, 2026)
    assert coverage.is_warning
    assert not coverage.loaded_any
    assert coverage_of("cn", {2025}, today=date(2026, 3, 1), lead=60).loaded_any


# -- the selectors on the database -------------------------------------------------


@pytest.mark.django_db
def test_calendar_coverage_reads_the_loaded_years_and_the_lead_setting(base_data, settings):
    assert set(CalendarYear.objects.filter(calendar__code="cn").values_list("year", flat=True)) == {
        2025,
        2026,
    }
    assert calendar_coverage("cn", today=date(2026, 12, 6)).days_left == 25
    assert calendar_coverage("cn", today=date(2026, 12, 6)).is_warning
    settings.GOVFLOW_CALENDAR_WARNING_DAYS = 20
    coverage = calendar_coverage("cn", today=date(2026, 12, 6))
    assert (coverage.lead_days, coverage.is_warning) == (20, False)


@pytest.mark.django_db
def test_calendar_warnings_covers_every_calendar_in_use(base_data):
    Calendar.objects.create(code="hk", name_zh="香港", name_en="Hong Kong")
    warnings = calendar_warnings(today=date(2026, 12, 6))
    assert [(w.code, w.missing_year, w.days_left) for w in warnings] == [
        ("cn", 2027, 25),
        ("hk", 2026, -340),  # nothing loaded into it yet
    ]
    assert [w.code for w in calendar_warnings(today=date(2026, 9, 6))] == ["hk"]


# -- the banner ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_console_shows_the_banner_from_the_lead_date_and_not_the_day_before(process_admin):
    with time_machine.travel(beijing(2026, 10, 31, 10, 0), tick=False):
        html = login(process_admin).get("/console/").content.decode()
    assert "工作日历尚未导入" not in html
    with time_machine.travel(beijing(2026, 11, 1, 10, 0), tick=False):
        html = login(process_admin).get("/console/").content.decode()
    assert BANNER_ZH.format(days=60) in html


@pytest.mark.django_db
def test_the_banner_speaks_english_on_request(process_admin):
    client = login(process_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(beijing(2026, 12, 6, 10, 0), tick=False):
        html = client.get("/console/").content.decode()
    assert (
        "The 2027 working-day calendar is not loaded yet: the loaded calendar ends on 2026-12-31, "
        "with 25 days left. Load the State Council General Office's holiday notice for that year."
    ) in html


@pytest.mark.django_db
def test_the_banner_says_when_today_is_no_longer_covered(process_admin):
    with time_machine.travel(beijing(2027, 1, 4, 10, 0), tick=False):
        html = login(process_admin).get("/console/").content.decode()
    assert "2027 年工作日历尚未导入，现有日历已不覆盖今天。" in html


@pytest.mark.django_db
def test_the_django_admin_shows_the_banner_to_process_administrators_only(process_admin):
    staff = ensure_user("staff_only", password="x")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    with time_machine.travel(beijing(2026, 12, 6, 10, 0), tick=False):
        admin_page = login(process_admin).get("/admin/")
        calendar_page = login(process_admin).get("/admin/timers/calendaryear/")
        staff_page = login(staff).get("/admin/")
    assert admin_page.status_code == 200
    assert BANNER_ZH.format(days=25) in admin_page.content.decode()
    assert calendar_page.status_code == 200
    assert BANNER_ZH.format(days=25) in calendar_page.content.decode()
    assert staff_page.status_code == 200
    assert "工作日历尚未导入" not in staff_page.content.decode()


@pytest.mark.django_db
def test_the_banner_costs_the_console_no_query_once_cached(process_admin):
    client = login(process_admin)
    with time_machine.travel(beijing(2026, 12, 6, 10, 0), tick=False):
        client.get("/console/")  # warms the session, the calendar and the banner's cache
        with CaptureQueriesContext(connection) as cached:
            assert BANNER_ZH.format(days=25) in client.get("/console/").content.decode()
        cache.clear()
        with CaptureQueriesContext(connection) as uncached:
            assert BANNER_ZH.format(days=25) in client.get("/console/").content.decode()
    assert not any("timers_calendar" in q["sql"] for q in cached.captured_queries)
    # Uncached: only the list of calendars (the years come from calendar_get's cache)
    extra = [q["sql"] for q in uncached.captured_queries if "timers_calendar" in q["sql"]]
    assert len(extra) == 1
    assert len(uncached.captured_queries) == len(cached.captured_queries) + 1


# -- check_calendar -----------------------------------------------------------------


@pytest.mark.django_db
def test_check_calendar_exits_0_beyond_the_lead_time(base_data):
    out = StringIO()
    call_command("check_calendar", "--today", "2026-09-06", stdout=out, language="en")
    assert out.getvalue() == "calendar cn: loaded through 2026-12-31, 116 days left\n"


@pytest.mark.django_db
def test_check_calendar_exits_1_naming_the_missing_year(base_data):
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_calendar", "--code", "cn", "--today", "2026-12-06", stdout=out, language="en")
    assert exited.value.code == 1
    assert out.getvalue() == (
        "calendar cn: the 2027 calendar is not loaded; 25 days left (warning from 60 days) "
        "— load the State Council notice with load_calendar\n"
    )


@pytest.mark.django_db
def test_check_calendar_when_today_is_not_covered(base_data):
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("check_calendar", "--today", "2027-01-05", stdout=out, language="en")
    assert "the 2027 calendar is not loaded; today is not covered: the loaded calendar ended 5 days ago" in (
        out.getvalue()
    )


@pytest.mark.django_db
def test_check_calendar_on_a_new_installation_says_no_year_is_loaded():
    # Before the first load_calendar, there is no "last loaded year" to speak of.
    Calendar.objects.filter(code="cn").delete()
    calendar_invalidate()
    out = StringIO()
    try:
        with pytest.raises(SystemExit) as exit_:
            call_command("check_calendar", "--today", "2026-09-06", stdout=out, language="en")
    finally:
        calendar_invalidate()  # the deletion rolls back; the cached empty calendar must go too
    assert exit_.value.code == 1
    assert out.getvalue() == (
        "calendar cn: no year is loaded; load the State Council notice with load_calendar "
        "(the shipped years: fixtures/calendar/cn.yaml)\n"
    )


@pytest.mark.django_db
def test_check_calendar_defaults_to_the_local_date(base_data):
    # 16:30 UTC on 31 October is already 1 November in Beijing: the lead date
    out = StringIO()
    moment = datetime(2026, 10, 31, 16, 30, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(moment, tick=False), pytest.raises(SystemExit):
        call_command("check_calendar", stdout=out, language="en")
    assert "60 days left" in out.getvalue()


@pytest.mark.django_db
def test_check_calendar_refuses_an_unknown_calendar_or_date(base_data):
    with pytest.raises(CommandError, match="no such calendar"):
        call_command("check_calendar", "--code", "xx", "--today", "2026-09-06", language="en")
    with pytest.raises(CommandError, match="not a date"):
        call_command("check_calendar", "--today", "6 Sept", language="en")


# -- /metrics ------------------------------------------------------------------------


def _gauge(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in the metrics"
    return float(match[1])


@pytest.mark.django_db
@pytest.mark.parametrize(("moment", "days"), [(beijing(2026, 12, 6, 10), 25), (beijing(2027, 1, 5, 10), -5)])
def test_the_metrics_gauge_counts_the_days_left(base_data, moment, days):
    with time_machine.travel(moment, tick=False):
        text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert "# HELP govflow_calendar_days_left " in text
    assert "# TYPE govflow_calendar_days_left gauge" in text
    assert _gauge(text, 'govflow_calendar_days_left{calendar="cn"}') == days


# -- the weekly notice -------------------------------------------------------------


@pytest.fixture
def admins(base_data):
    """Every active user who administers templates (superusers and the
    process_admin group), with a second admin and an inactive one."""
    second = ensure_user("admin2", password="x", groups=(roles.PROCESS_ADMIN,))
    gone = ensure_user("admin_gone", password="x", groups=(roles.PROCESS_ADMIN,))
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    User = get_user_model()
    expected = {u for u in User.objects.filter(is_active=True, is_superuser=True)}
    expected |= {u for u in User.objects.filter(is_active=True, groups__name=roles.PROCESS_ADMIN)}
    assert second in expected
    assert gone not in expected
    return expected


@pytest.mark.django_db
def test_administrators_are_told_once_a_week_while_the_calendar_runs_out(admins):
    # Monday 7 December 2026: 24 days left
    assert calendar_warning_notify(now=beijing(2026, 12, 7, 8, 15)) == len(admins)
    notices = Notification.objects.filter(kind="calendar_missing")
    assert {n.user for n in notices} == admins
    assert {(n.outbox_key, n.case_id, n.task_id) for n in notices} == {("calendar:cn:2026-W50", None, None)}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in admins if u.email)
    message = mail.outbox[0]
    assert message.subject == "工作日历即将用完 / Working-day calendar running out"
    assert "2027 年工作日历尚未导入：现有日历截至 2026-12-31，还剩 24 天。" in message.body
    assert "with 24 days left" in message.body
    # The daily check again on Thursday of the same week: nothing new
    assert calendar_warning_notify(now=beijing(2026, 12, 10, 8, 15)) == 0
    assert notices.count() == len(admins)
    assert len(mail.outbox) == len([u for u in admins if u.email])
    # The next Monday: once more
    assert calendar_warning_notify(now=beijing(2026, 12, 14, 8, 15)) == len(admins)
    assert set(notices.values_list("outbox_key", flat=True)) == {
        "calendar:cn:2026-W50",
        "calendar:cn:2026-W51",
    }


@pytest.mark.django_db
def test_nobody_is_told_before_the_lead_date(admins):
    assert calendar_warning_notify(now=beijing(2026, 10, 31, 8, 15)) == 0
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert calendar_warning_notify(now=beijing(2026, 11, 1, 8, 15)) == len(admins)


@pytest.mark.django_db
def test_the_week_is_the_local_one(admins):
    # 23:30 on Sunday 6 December in Beijing is week 49; half an hour later week 50
    calendar_warning_notify(now=beijing(2026, 12, 6, 23, 30))
    calendar_warning_notify(now=beijing(2026, 12, 7, 0, 0))
    assert set(Notification.objects.values_list("outbox_key", flat=True)) == {
        "calendar:cn:2026-W49",
        "calendar:cn:2026-W50",
    }


@pytest.mark.django_db
def test_the_beat_task_runs_the_notice(admins):
    from govflow.timers.tasks import calendar_check

    assert calendar_check(now=beijing(2026, 12, 7, 8, 15).isoformat()) == len(admins)
    assert calendar_check(now=beijing(2026, 12, 8, 8, 15).isoformat()) == 0


def test_beat_runs_the_calendar_check_daily():
    from celery.schedules import crontab

    from govflow.celery import app
    from govflow.timers.tasks import calendar_check

    entry = app.conf.beat_schedule["check-working-day-calendar"]
    assert entry["task"] == calendar_check.name
    assert entry["schedule"] == crontab(minute=15, hour=0)
