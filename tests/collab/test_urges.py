"""催办: the applicant once per working day after half the step's limit; heads and leaders any time."""

from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.collab.models import Urge
from govflow.collab.selectors import urge_counts
from govflow.collab.urges import case_urge, urge_state
from govflow.errors import Conflict, NotFound
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain

pytestmark = [pytest.mark.django_db, pytest.mark.operations]

# The intake step has a 2-working-day SLA from Tuesday 10:00 (office close
# Thursday): half of it has passed on Wednesday afternoon.
HALF_PLUS = timedelta(days=1, hours=6)


def test_the_applicant_cannot_urge_before_half_the_limit(submitted_case, applicant, now):
    with pytest.raises(Conflict) as refused:
        case_urge(case_id=submitted_case.pk, actor=applicant, now=now + timedelta(hours=2))
    assert refused.value.code == "too_early"
    state = urge_state(case=submitted_case, user=applicant, now=now + timedelta(hours=2))
    assert not state.allowed
    assert state.opens_at is not None
    assert state.opens_at > now


def test_the_applicant_urges_once_per_working_day(
    submitted_case, applicant, market_reviewer, now, mailoutbox
):
    later = now + HALF_PLUS
    assert urge_state(case=submitted_case, user=applicant, now=later).allowed
    (urge,) = case_urge(case_id=submitted_case.pk, actor=applicant, note="请尽快", now=later)
    assert urge.role == "applicant"
    assert urge.task.node_id == "intake"
    # the applicant's view: urged today, no second one
    state = urge_state(case=submitted_case, user=applicant, now=later)
    assert state.urged_today
    assert not state.allowed
    assert state.last == urge
    with pytest.raises(Conflict) as refused:
        case_urge(case_id=submitted_case.pk, actor=applicant, now=later + timedelta(minutes=5))
    assert refused.value.code == "urged_today"
    # the next working day it may again
    case_urge(case_id=submitted_case.pk, actor=applicant, now=later + timedelta(days=1))
    assert Urge.objects.filter(case=submitted_case).count() == 2
    # audited, and the department (nobody holds the task) is told
    assert AuditEvent.objects.filter(action="CASE_URGED", case_id=submitted_case.pk).count() == 2
    outbox_drain(topics=["collab_notify"])
    told = set(Notification.objects.filter(kind="urged").values_list("user__username", flat=True))
    assert told == {"market_regulation_reviewer", "market_regulation_head"}
    assert any("催办" in m.subject for m in mailoutbox)


def test_a_saturday_urge_counts_for_monday(submitted_case, applicant, now):
    saturday = now + timedelta(days=4)  # 2026-03-07
    (urge,) = case_urge(case_id=submitted_case.pk, actor=applicant, now=saturday)
    assert urge.day.isoformat() == "2026-03-09"
    with pytest.raises(Conflict):
        case_urge(case_id=submitted_case.pk, actor=applicant, now=saturday + timedelta(days=2))


def test_heads_and_leaders_urge_at_any_time_and_others_cannot(
    submitted_case, base_data, market_reviewer, other_applicant, now
):
    (by_head,) = case_urge(case_id=submitted_case.pk, actor=base_data["market_regulation_head"], now=now)
    assert by_head.role == "head"
    (by_leader,) = case_urge(case_id=submitted_case.pk, actor=base_data["leader"], now=now)
    assert by_leader.role == "leader"
    # a head of a department with no open step here has nothing to urge
    with pytest.raises(Conflict):
        case_urge(case_id=submitted_case.pk, actor=base_data["fire_head"], now=now)
    for outsider in (market_reviewer, other_applicant):
        with pytest.raises(NotFound):
            case_urge(case_id=submitted_case.pk, actor=outsider, now=now)
    counts = urge_counts(since=now - timedelta(days=1), until=now + timedelta(days=1))
    assert counts == {"head": 1, "leader": 1, "total": 2}


def test_the_holder_and_their_acting_officer_are_told(
    held_intake, submitted_case, base_data, market_reviewer, market_colleague, now
):
    from govflow.collab.proxies import proxy_appoint

    proxy_appoint(
        actor=market_reviewer,
        principal=market_reviewer,
        proxy=market_colleague,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=5),
        now=now,
    )
    case_urge(case_id=submitted_case.pk, actor=base_data["leader"], now=now)
    outbox_drain(topics=["collab_notify"])
    told = set(Notification.objects.filter(kind="urged").values_list("user__username", flat=True))
    assert told == {"market_regulation_reviewer", "market_colleague"}
