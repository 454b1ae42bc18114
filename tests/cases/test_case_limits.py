"""Case-level limits (issue 20): the template's promise (time_limit, 承诺时限)
and statutory limit (statutory_limit, 法定时限) as live case timers on the
real working-day calendar (fixtures/calendar/cn.yaml): started at 受理,
amber at the last fifth with a reminder to the lead department's head, red
at the limit with an escalation to the leaders (audit, webhook event),
stopped by a case-wide exclusion, cancelled when the case ends; the
sweep's redelivery fires nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.audit.models import AuditEvent
from govflow.cases import events
from govflow.cases.bridge import _pause, _resume
from govflow.cases.limits import lead_department
from govflow.cases.models import Case, CaseStatus, Task, TaskKind, TaskStatus
from govflow.cases.services import case_create, case_submit, case_withdraw
from govflow.demo_cases import _data, attach_required_documents
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish, version_definition
from govflow.timers.calendar import WorkingCalendar, load_calendar_file
from govflow.timers.deadlines import deadline
from govflow.timers.models import Timer
from govflow.timers.services import calendar_invalidate
from govflow.timers.tasks import sweep
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.procedure]
ROOT = Path(__file__).resolve().parents[2]
EXCLUDED = ROOT / "tests" / "data" / "services" / "excluded_branch.yaml"


def beijing(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour - 8, minute, tzinfo=UTC)


# Wednesday 1 April 2026, 10:00 in Beijing; 4-4 to 4-6 is the Qingming holiday.
ACCEPTED = beijing(2026, 4, 1)
# 10 working days from 4-1: 2, 3, 7, 8, 9, 10, 13, 14, 15, 16 April, at 17:00.
PROMISE_DUE = beijing(2026, 4, 16, 17)
# Amber at 80% of the 87 office hours (7 on 4-1 and 10 days of 8): 69.6 h,
# 7 on 4-1 + 7 full days (2, 3, 7, 8, 9, 10, 13 April) + 6.6 h on 4-14.
AMBER = beijing(2026, 4, 14, 15, 36)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


def limit_timers(case) -> dict[str, Timer]:
    return {t.kind: t for t in Timer.objects.filter(case=case, kind__startswith="case_")}


def food_case(base_data, at=ACCEPTED) -> Case:
    """A food business licence submitted and accepted at the window at `at`."""
    applicant, reviewer = base_data["applicant"], base_data["market_regulation_reviewer"]
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", at, operator_name="北京时限餐饮管理有限公司"),
        now=at,
    )
    attach_required_documents(case, applicant, now=at)
    case_submit(case_id=case.pk, actor=applicant, now=at)
    accept = Task.objects.get(case=case, node_id="accept", kind=TaskKind.ACCEPTANCE, status=TaskStatus.OPEN)
    claim_and_complete(task_id=accept.pk, actor=reviewer, outcome="accept", opinion="予以受理。", now=at)
    case.refresh_from_db()
    return case


@pytest.mark.django_db
def test_acceptance_starts_the_promise_and_the_statutory_limit_on_the_calendar(base_data):
    case = food_case(base_data)

    assert case.accepted_at == ACCEPTED
    timers = limit_timers(case)
    assert sorted(timers) == [
        "case_promise",
        "case_promise_warning",
        "case_statutory",
        "case_statutory_warning",
    ]
    # Both 10 working days (SAMR Order 78), past the Qingming holiday
    assert timers["case_promise"].due_at == PROMISE_DUE
    assert timers["case_statutory"].due_at == PROMISE_DUE
    assert timers["case_promise_warning"].due_at == AMBER
    assert all(
        t.status == Timer.PENDING and not t.provisional and not t.legal_effect for t in timers.values()
    )


@pytest.mark.django_db
def test_nothing_starts_before_acceptance(base_data):
    applicant = base_data["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", ACCEPTED, operator_name="北京未受理餐饮有限公司"),
        now=ACCEPTED,
    )
    attach_required_documents(case, applicant, now=ACCEPTED)
    case_submit(case_id=case.pk, actor=applicant, now=ACCEPTED)
    assert limit_timers(case) == {}


@pytest.mark.django_db
def test_amber_reminds_the_head_and_red_escalates_to_the_leaders_once(base_data):
    heard = []

    def hear(changes, found):
        heard.extend(found)

    events.subscribe(hear, events.CaseLimitPassed)
    case = food_case(base_data)
    head, leader = base_data["market_regulation_head"], base_data["leader"]
    reviewer = base_data["market_regulation_reviewer"]
    try:
        # Just before amber nothing fires
        with time_machine.travel(AMBER - timedelta(minutes=1), tick=False):
            sweep()
            outbox_drain()
        assert not Notification.objects.filter(case=case, kind__startswith="case_limit").exists()

        # At amber: the head of market regulation (the acceptance node's department)
        with time_machine.travel(AMBER, tick=False):
            sweep()
            outbox_drain()
        warned = Notification.objects.filter(case=case, kind="case_limit_warning")
        # promise and statutory limits are both 10 days: one reminder each
        assert sorted(warned.values_list("user_id", flat=True)) == [head.pk, head.pk]
        assert "承诺时限" in " ".join(warned.values_list("body", flat=True))
        assert not warned.filter(user=reviewer).exists()
        assert AuditEvent.objects.filter(case=case, action="CASE_LIMIT_WARNED").count() == 2

        # At the limit: the leaders, an audit event and the domain event
        with time_machine.travel(PROMISE_DUE, tick=False):
            sweep()
            outbox_drain()
            # the Celery task delivered again fires nothing more
            sweep(now=PROMISE_DUE.isoformat())
            outbox_drain()
    finally:
        events.unsubscribe(hear)
    passed = Notification.objects.filter(case=case, kind="case_limit_passed")
    assert sorted(passed.values_list("user_id", flat=True)) == [leader.pk, leader.pk]
    assert "2026-04-16 17:00" in passed.first().body
    audit = AuditEvent.objects.filter(case=case, action="CASE_LIMIT_PASSED").order_by("id")
    assert [e.data["limit"] for e in audit] == ["promise", "statutory"]
    assert [(e.limit, e.due_at) for e in heard] == [("promise", PROMISE_DUE), ("statutory", PROMISE_DUE)]
    assert {t.status for t in limit_timers(case).values()} == {Timer.FIRED}
    assert Notification.objects.filter(case=case, kind__startswith="case_limit").count() == 4


@pytest.mark.django_db
def test_a_case_scoped_exclusion_moves_the_promise(base_data, applicant):
    # A template without acceptance: accepted on submission, Monday 2 March,
    # straight into an expert review excluded from the whole case's clock.
    source = EXCLUDED.read_text(encoding="utf-8").replace(
        "excluded: true\n", "excluded: true\n      scope: case\n"
    )
    process_publish(source=source)
    at = beijing(2026, 3, 2)
    case = case_create(
        applicant=applicant, template_code="test_excluded_branch", data={"company_name": "示例"}, now=at
    )
    case = case_submit(case_id=case.pk, actor=applicant, now=at)
    promise = limit_timers(case)["case_promise"]
    assert case.accepted_at == at
    # Paused at once, with the whole 20 days (7 h of 3-2 + 160 h) left
    assert (promise.status, promise.due_at, promise.remaining_seconds) == (Timer.PAUSED, None, 167 * 3600)

    # The experts finish on Tuesday 10 March: six working days not counted
    task = Task.objects.get(case=case, node_id="experts", status__in=["open", "claimed"])
    claim_and_complete(
        task_id=task.pk,
        actor=base_data["fire_reviewer"],
        outcome="approve",
        opinion="同意",
        now=beijing(2026, 3, 10),
    )

    promise.refresh_from_db()
    # 3-30 without the pause; with it, 20 working days after 3-10 across
    # Qingming: 4-8 at 17:00
    assert (promise.status, promise.due_at) == (Timer.PENDING, beijing(2026, 4, 8, 17))
    unpaused = deadline(
        WorkingCalendar(load_calendar_file(ROOT / "fixtures" / "calendar" / "cn.yaml")),
        at,
        days=20,
        hours=None,
    )
    assert unpaused.due_at == beijing(2026, 3, 30, 17)


@pytest.mark.django_db
def test_a_case_that_ends_cancels_its_limits(base_data):
    case = food_case(base_data)
    case_withdraw(case_id=case.pk, actor=base_data["applicant"], now=ACCEPTED + timedelta(hours=1))

    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert {t.status for t in limit_timers(case).values()} == {Timer.CANCELLED}
    with time_machine.travel(PROMISE_DUE + timedelta(days=1), tick=False):
        sweep()
        outbox_drain()
    assert not Notification.objects.filter(case=case, kind__startswith="case_limit").exists()
    assert not OutboxMessage.objects.filter(topic="case_limit").exists()


@pytest.mark.django_db
def test_the_lead_department_is_the_acceptance_nodes_else_the_first_reviewer(base_data):
    from govflow.processes.models import ProcessTemplate

    food = ProcessTemplate.objects.get(code="food_business_licence").current_version
    assert lead_department(version_definition(food)) == "market_regulation"
    published = process_publish(source=EXCLUDED.read_text(encoding="utf-8"))
    assert lead_department(version_definition(published)) == "fire"


CALENDAR = WorkingCalendar(load_calendar_file(ROOT / "fixtures" / "calendar" / "cn.yaml"))
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    start=MOMENTS,
    days=st.integers(min_value=1, max_value=30),
    gaps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=240), st.integers(min_value=0, max_value=240)),
        max_size=4,
    ),
)
def test_the_due_date_is_never_before_acceptance_plus_the_limit_whatever_the_pauses(start, days, gaps):
    # However often the case clock stops and runs again (hours apart), even
    # into 2027 whose calendar is not loaded, the limit keeps a date, never
    # earlier than without the pauses, and the time counted is the limit's.
    first = deadline(CALENDAR, start, days=days, hours=None)
    timer = Timer(due_at=first.due_at, provisional=first.provisional, pauses=[], status=Timer.PENDING)
    now = start
    for running, stopped in gaps:
        now += timedelta(hours=running)
        if now >= timer.due_at:
            break
        _pause(timer, CALENDAR, now)
        now += timedelta(hours=stopped)
        _resume(timer, CALENDAR, now)
    assert timer.due_at is not None
    assert timer.due_at >= first.due_at
    assert timer.due_at > start
    # A limit counted past the loaded calendar is marked provisional, never lost
    if timer.due_at.year > max(CALENDAR.loaded_years):
        assert timer.provisional


@pytest.mark.django_db
def test_an_approved_extension_moves_the_statutory_limit_not_the_promise(base_data):
    from govflow.cases.services import task_claim
    from govflow.collab.extensions import extension_approve, extension_request

    case = food_case(base_data)
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    review = Task.objects.get(case=case, node_id="review", status=TaskStatus.OPEN)
    claim_and_complete(task_id=review.pk, actor=reviewer, outcome="approve", opinion="齐全", now=ACCEPTED)
    first, second = Task.objects.filter(case=case, node_id="inspection", status=TaskStatus.OPEN).order_by(
        "id"
    )
    claim_and_complete(task_id=first.pk, actor=reviewer, outcome="approve", opinion="一致", now=ACCEPTED)
    claim_and_complete(task_id=second.pk, actor=head, outcome="approve", opinion="一致", now=ACCEPTED)
    decision = Task.objects.get(case=case, node_id="decision", status=TaskStatus.OPEN)
    task_claim(task_id=decision.pk, actor=reviewer, now=ACCEPTED)

    request = extension_request(task_id=decision.pk, actor=reviewer, reason="需核实布局", now=ACCEPTED)
    extension_approve(extension_id=request.pk, actor=head, now=ACCEPTED)

    timers = limit_timers(case)
    # 5 working days after 4-16: 17, 20, 21, 22 and 23 April
    assert timers["case_statutory"].due_at == beijing(2026, 4, 23, 17)
    assert timers["case_statutory_warning"].due_at > AMBER
    assert timers["case_promise"].due_at == PROMISE_DUE
    assert timers["case_promise_warning"].due_at == AMBER


@pytest.mark.django_db
def test_cases_accepted_before_the_limits_existed_get_them_by_backfill(base_data):
    from io import StringIO

    from django.core.management import call_command

    # Given two food licences accepted on 1 April without case timers (as
    # before this feature), one of which spent two working days with the applicant
    fresh, paused = food_case(base_data), food_case(base_data)
    Timer.objects.filter(kind__startswith="case_").delete()
    Case.objects.filter(pk=paused.pk).update(paused_seconds=2 * 8 * 3600)

    # When the backfill runs on 15 April
    out = StringIO()
    with time_machine.travel(beijing(2026, 4, 15), tick=False):
        call_command("case_limits_backfill", stdout=out)
    assert out.getvalue().strip() == (
        "2 case(s): 8 limit timer(s) started, 2 already passed (recorded, nobody notified)"
    )

    # Then the limits count from acceptance, moved by the time not counted
    assert limit_timers(fresh)["case_promise"].due_at == PROMISE_DUE
    assert limit_timers(paused)["case_promise"].due_at == beijing(2026, 4, 20, 17)  # 4-16 + 2 working days
    # the warning points already passed are recorded as fired, with no notification
    assert limit_timers(fresh)["case_promise_warning"].status == Timer.FIRED
    assert limit_timers(fresh)["case_promise"].status == Timer.PENDING
    outbox_drain()
    assert not Notification.objects.filter(kind__startswith="case_limit").exists()
    assert (
        AuditEvent.objects.filter(case=fresh, action="DEADLINES_RECOMPUTED", data__backfill=True).count() == 1
    )

    # A second run changes nothing
    with time_machine.travel(beijing(2026, 4, 15), tick=False):
        call_command("case_limits_backfill", stdout=out)
    assert Timer.objects.filter(case=fresh, kind__startswith="case_").count() == 4
