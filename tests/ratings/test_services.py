"""好差评: the applicant rates an ended case once per item; a 差评 needs its
reason and opens a remediation due in 15 working days for the department's
head, who remedies and calls back, or appeals once; an administrator's
upheld appeal takes the rating out of the statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from govflow.accounts.models import Department, Membership
from govflow.audit.models import AuditEvent
from govflow.cases.models import Case
from govflow.cases.services import case_withdraw
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.ratings import services
from govflow.ratings.models import Rating, Remediation, RemediationStatus
from govflow.ratings.selectors import rated_departments, rating_items, rating_statistics

pytestmark = pytest.mark.django_db


def test_items_are_the_service_and_each_department_that_handled_the_case(approved_case):
    codes = [d.code for d in rated_departments(approved_case)]
    assert codes == ["market_regulation", "fire", "tax"]
    items = rating_items(approved_case)
    assert [i.department.code if i.department else None for i in items] == [None, *codes]
    assert all(i.rating is None for i in items)


def test_a_good_rating_is_recorded_once_and_opens_nothing(approved_case, applicant, now):
    rating = services.rating_submit(case_id=approved_case.pk, actor=applicant, level=5, now=now)
    assert rating.department is None
    assert not Remediation.objects.exists()
    with pytest.raises(Conflict, match="rated already"):
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=1, comment="x", now=now)
    services.rating_submit(case_id=approved_case.pk, actor=applicant, level=4, department="fire", now=now)
    with pytest.raises(Conflict):
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=4, department="fire", now=now)
    assert Rating.objects.filter(case=approved_case).count() == 2
    assert AuditEvent.objects.filter(action="RATING_SUBMITTED", case_id=approved_case.pk).count() == 2


@pytest.mark.parametrize("level", [0, 6, "x", None])
def test_a_level_outside_one_to_five_is_refused(approved_case, applicant, now, level):
    with pytest.raises(InvalidInput) as caught:
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=level, now=now)
    assert "level" in caught.value.fields
    assert not Rating.objects.exists()


def test_only_the_applicant_rates_and_only_an_ended_case(submitted_case, applicant, other_applicant, now):
    with pytest.raises(Conflict, match="ended"):
        services.rating_submit(case_id=submitted_case.pk, actor=applicant, level=5, now=now)
    case_withdraw(case_id=submitted_case.pk, actor=applicant, now=now)
    with pytest.raises(NotFound):
        services.rating_submit(case_id=submitted_case.pk, actor=other_applicant, level=5, now=now)
    services.rating_submit(case_id=submitted_case.pk, actor=applicant, level=3, now=now)


def test_a_department_that_did_not_handle_the_case_cannot_be_rated(approved_case, applicant, now):
    assert Department.objects.filter(code="bank").exists()
    with pytest.raises(InvalidInput, match="did not handle"):
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=5, department="bank", now=now)


def test_a_poor_rating_needs_a_reason_and_opens_a_remediation_due_in_15_working_days(
    approved_case, applicant, market_head, now, django_capture_on_commit_callbacks
):
    with pytest.raises(InvalidInput, match="reason"):
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=2, department="fire", now=now)
    with django_capture_on_commit_callbacks(execute=False):
        rating = services.rating_submit(
            case_id=approved_case.pk, actor=applicant, level=1, comment="窗口态度差，材料反复退回", now=now
        )
    remediation = rating.remediation
    # The whole service's 差评 goes to the department that took the case in.
    assert remediation.department.code == "market_regulation"
    assert remediation.status == RemediationStatus.OPEN
    # Tuesday 3 March 2026 + 15 working days (no holiday between) = Tuesday 24 March.
    assert str(remediation.due_at.date()) == "2026-03-24"
    assert not remediation.due_provisional
    outbox_drain(topics=["remediation_notify"])
    notes = Notification.objects.filter(kind="poor_rating")
    heads = Membership.objects.filter(department__code="market_regulation", is_head=True)
    heads = set(heads.values_list("user", flat=True))
    assert market_head.pk in heads
    assert {n.user_id for n in notes} == heads
    assert {n.case_id for n in notes} == {approved_case.pk}
    assert len(mail.outbox) >= 1
    assert "差评" in mail.outbox[-1].subject
    # Redelivery notifies nobody twice.
    from govflow.ratings.consumers import notify_heads

    notify_heads({"remediation": remediation.pk}, f"remediation:{remediation.pk}:opened")
    assert Notification.objects.filter(kind="poor_rating").count() == len(heads)


def test_remedy_then_callback_closes_and_counts_on_time(approved_case, applicant, market_head, now):
    rating = services.rating_submit(
        case_id=approved_case.pk,
        actor=applicant,
        level=2,
        department="market_regulation",
        comment="慢",
        now=now,
    )
    pk = rating.remediation.pk
    with pytest.raises(Conflict):
        services.remediation_callback(remediation_id=pk, actor=market_head, result="satisfied", now=now)
    with pytest.raises(InvalidInput):
        services.remediation_remedy(remediation_id=pk, actor=market_head, remedy="  ", now=now)
    services.remediation_remedy(remediation_id=pk, actor=market_head, remedy="已约谈窗口人员并改进", now=now)
    with pytest.raises(InvalidInput):
        services.remediation_callback(remediation_id=pk, actor=market_head, result="maybe", now=now)
    closed = services.remediation_callback(
        remediation_id=pk, actor=market_head, result="satisfied", note="电话回访", now=now + timedelta(days=1)
    )
    assert closed.status == RemediationStatus.CLOSED
    stats = rating_statistics(now=now + timedelta(days=2))
    assert stats.total == 1
    assert stats.poor == 1
    assert stats.remedy_rate == 1.0
    assert stats.callback_rate == 1.0
    assert stats.satisfied_after_callback == 1
    assert stats.good_rate == 0.0


def test_a_reviewer_who_is_not_head_cannot_act_and_other_departments_see_nothing(
    approved_case, applicant, base_data, now
):
    rating = services.rating_submit(
        case_id=approved_case.pk, actor=applicant, level=1, department="fire", comment="差", now=now
    )
    pk = rating.remediation.pk
    with pytest.raises(Forbidden):
        services.remediation_remedy(remediation_id=pk, actor=base_data["fire_reviewer"], remedy="x", now=now)
    with pytest.raises(NotFound):
        services.remediation_remedy(remediation_id=pk, actor=base_data["tax_reviewer"], remedy="x", now=now)
    with pytest.raises(NotFound):
        services.remediation_remedy(remediation_id=pk, actor=applicant, remedy="x", now=now)


def test_an_upheld_appeal_excludes_the_rating_and_a_dismissed_one_sends_it_back(
    approved_case, applicant, market_head, process_admin, now
):
    first = services.rating_submit(
        case_id=approved_case.pk, actor=applicant, level=1, comment="乱评", now=now
    )
    second = services.rating_submit(
        case_id=approved_case.pk,
        actor=applicant,
        level=2,
        department="market_regulation",
        comment="慢",
        now=now,
    )
    a, b = first.remediation.pk, second.remediation.pk
    services.remediation_appeal(remediation_id=a, actor=market_head, reason="与本部门无关的恶意评价", now=now)
    with pytest.raises(Conflict):
        services.remediation_remedy(remediation_id=a, actor=market_head, remedy="x", now=now)
    with pytest.raises(Forbidden):
        services.remediation_appeal_decide(
            remediation_id=a, actor=market_head, decision="upheld", note="x", now=now
        )
    services.remediation_appeal_decide(
        remediation_id=a, actor=process_admin, decision="upheld", note="属实", now=now
    )
    assert Remediation.objects.get(pk=a).status == RemediationStatus.WITHDRAWN
    assert Rating.objects.get(pk=first.pk).excluded
    services.remediation_appeal(remediation_id=b, actor=market_head, reason="x", now=now)
    services.remediation_appeal_decide(
        remediation_id=b, actor=process_admin, decision="dismissed", note="不属实", now=now
    )
    back = Remediation.objects.get(pk=b)
    assert back.status == RemediationStatus.OPEN
    with pytest.raises(Conflict, match="once"):
        services.remediation_appeal(remediation_id=b, actor=market_head, reason="again", now=now)
    stats = rating_statistics(now=now)
    assert stats.total == 1  # the excluded one is not counted
    assert stats.excluded == 1
    # Still open past its date: overdue.
    late = rating_statistics(now=back.due_at + timedelta(seconds=1))
    assert late.overdue == 1


def test_a_rating_in_december_has_a_provisional_date_when_next_year_is_missing(
    approved_case, applicant, market_head
):
    from datetime import UTC, datetime

    from govflow.timers.models import CalendarYear

    last = max(CalendarYear.objects.values_list("year", flat=True))
    december = datetime(last, 12, 20, 2, 0, tzinfo=UTC)
    rating = services.rating_submit(
        case_id=approved_case.pk, actor=applicant, level=1, comment="差", now=december
    )
    assert rating.remediation.due_provisional
    assert rating.remediation.due_at.year == last + 1


def test_every_case_status_decides_whether_rating_is_allowed(approved_case, applicant, now):
    for status in ("submitted", "in_review", "awaiting_correction"):
        Case.objects.filter(pk=approved_case.pk).update(status=status)
        with pytest.raises(Conflict):
            services.rating_submit(case_id=approved_case.pk, actor=applicant, level=5, now=now)
    for status in ("approved", "rejected", "withdrawn"):
        Case.objects.filter(pk=approved_case.pk).update(status=status)
        Rating.objects.all().delete()
        services.rating_submit(case_id=approved_case.pk, actor=applicant, level=5, now=now)


def test_the_daily_check_recounts_provisional_dates_and_notifies_overdue_once(
    approved_case, applicant, market_head, now
):
    from datetime import UTC, datetime

    from govflow.ratings.services import remediations_check
    from govflow.timers.models import CalendarYear

    on_time = services.rating_submit(
        case_id=approved_case.pk, actor=applicant, level=1, comment="差", now=now
    )
    remediation = on_time.remediation
    assert remediations_check(now=remediation.due_at - timedelta(hours=1)) == (0, 0)
    recounted, notified = remediations_check(now=remediation.due_at + timedelta(hours=1))
    assert recounted == 0
    assert notified >= 1
    assert Notification.objects.filter(kind="remediation_overdue", user=market_head).count() == 1
    assert remediations_check(now=remediation.due_at + timedelta(days=1)) == (0, 0)
    # A remedied-and-called-back one is no longer overdue; a provisional one is not yet.
    last = max(CalendarYear.objects.values_list("year", flat=True))
    december = datetime(last, 12, 28, 2, 0, tzinfo=UTC)
    Rating.objects.filter(department__code="fire").delete()
    late = services.rating_submit(
        case_id=approved_case.pk, actor=applicant, level=2, department="fire", comment="慢", now=december
    )
    assert late.remediation.due_provisional
    before = Notification.objects.filter(kind="remediation_overdue").count()
    remediations_check(now=late.remediation.due_at + timedelta(days=30))
    assert Notification.objects.filter(kind="remediation_overdue").count() == before
    # Once next year is loaded, the date becomes exact (and later: holidays count).
    from govflow.timers.services import calendar_invalidate

    calendar = CalendarYear.objects.filter(year=last).first().calendar
    CalendarYear.objects.create(calendar=calendar, year=last + 1, source="test")
    calendar_invalidate()
    recounted, _ = remediations_check(now=december)
    assert recounted == 1
    late.remediation.refresh_from_db()
    assert not late.remediation.due_provisional
