"""会商 / 征求意见: ask other departments, wait for them or their limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.collab.models import Consultation, RequestStatus
from govflow.collab.services import consultation_answer, consultation_request, consultation_withdraw
from govflow.errors import Conflict, InvalidInput, NotFound
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.django_db, pytest.mark.operations]


def test_the_holder_consults_two_departments_each_due_on_the_calendar(held_intake, market_reviewer, now):
    # Given the intake task held by the market reviewer (Tuesday 10:00)
    # When they ask fire and tax for an opinion within 2 working days
    made = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire", "tax"],
        question="消防是否合规？",
        days=2,
        now=now,
    )
    # Then one consultation per department, due at office close on Thursday
    assert [c.department.code for c in made] == ["fire", "tax"]
    assert {timezone.localtime(c.due_at).date().isoformat() for c in made} == {"2026-03-05"}
    assert not made[0].due_provisional
    assert all(c.status == RequestStatus.OPEN for c in made)
    event = AuditEvent.objects.filter(action="CONSULTATION_REQUESTED").get()
    assert event.data["departments"] == ["fire", "tax"]


def test_the_task_cannot_be_decided_until_the_opinions_are_in(
    held_intake, market_reviewer, fire_reviewer, tax_reviewer, now
):
    made = consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["fire", "tax"], question="意见？", now=now
    )
    with pytest.raises(Conflict) as refused:
        claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)
    assert refused.value.code == "consultation_open"
    consultation_answer(consultation_id=made[0].pk, actor=fire_reviewer, opinion="同意", now=now)
    with pytest.raises(Conflict):
        claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)
    consultation_answer(consultation_id=made[1].pk, actor=tax_reviewer, opinion="无异议", now=now)
    task = claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)
    assert task.outcome == "approve"


def test_the_task_can_be_decided_once_the_limit_has_passed(held_intake, market_reviewer, now):
    (made,) = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire"],
        question="意见？",
        days=1,
        now=now,
    )
    with pytest.raises(Conflict):
        claim_and_complete(
            task_id=held_intake.pk,
            actor=market_reviewer,
            outcome="approve",
            now=made.due_at - timedelta(minutes=1),
        )
    task = claim_and_complete(
        task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=made.due_at
    )
    assert task.outcome == "approve"


def test_withdrawing_a_consultation_frees_the_decision(held_intake, market_reviewer, now):
    (made,) = consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="意见？", now=now
    )
    consultation_withdraw(consultation_id=made.pk, actor=market_reviewer, now=now)
    made.refresh_from_db()
    assert made.status == RequestStatus.CANCELLED
    claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=now)


def test_refusals(
    held_intake, submitted_case, market_reviewer, market_colleague, fire_reviewer, tax_reviewer, now
):
    # not holding the task
    with pytest.raises(Conflict):
        consultation_request(
            task_id=held_intake.pk, actor=market_colleague, departments=["fire"], question="?", now=now
        )
    # not a member of the task's department
    with pytest.raises(NotFound):
        consultation_request(
            task_id=held_intake.pk, actor=fire_reviewer, departments=["tax"], question="?", now=now
        )
    # its own department, an unknown one, no question, a silly limit
    for departments, question, days in (
        (["market_regulation"], "?", 3),
        (["nowhere"], "?", 3),
        (["fire"], "  ", 3),
        (["fire"], "?", 0),
        ([], "?", 3),
    ):
        with pytest.raises(InvalidInput):
            consultation_request(
                task_id=held_intake.pk,
                actor=market_reviewer,
                departments=departments,
                question=question,
                days=days,
                now=now,
            )
    (made,) = consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="?", now=now
    )
    # asking the same department twice while it has not answered
    with pytest.raises(Conflict):
        consultation_request(
            task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="?", now=now
        )
    # another department cannot answer for fire; an empty opinion is refused
    with pytest.raises(NotFound):
        consultation_answer(consultation_id=made.pk, actor=tax_reviewer, opinion="同意", now=now)
    with pytest.raises(InvalidInput):
        consultation_answer(consultation_id=made.pk, actor=fire_reviewer, opinion=" ", now=now)
    consultation_answer(consultation_id=made.pk, actor=fire_reviewer, opinion="同意", now=now)
    # answered once only
    with pytest.raises(Conflict):
        consultation_answer(consultation_id=made.pk, actor=fire_reviewer, opinion="再说一次", now=now)
    assert Consultation.objects.get(pk=made.pk).opinion == "同意"


def test_the_consulted_department_and_then_the_asker_are_notified(
    held_intake, market_reviewer, fire_reviewer, base_data, now, mailoutbox
):
    (made,) = consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="消防意见？", now=now
    )
    outbox_drain(topics=["collab_notify"])
    asked = set(
        Notification.objects.filter(kind="consultation_requested").values_list("user__username", flat=True)
    )
    assert asked == {"fire_reviewer", "fire_head"}
    consultation_answer(consultation_id=made.pk, actor=fire_reviewer, opinion="同意", now=now)
    outbox_drain(topics=["collab_notify"])
    answered = Notification.objects.filter(kind="consultation_answered").values_list(
        "user__username", flat=True
    )
    assert list(answered) == ["market_regulation_reviewer"]
    assert any("会商" in m.subject for m in mailoutbox)


def test_the_consulted_reviewer_may_open_the_case(
    held_intake, submitted_case, market_reviewer, now, base_data
):
    from govflow.cases.selectors import case_access

    police = base_data["public_security_reviewer"]
    with pytest.raises(NotFound):
        case_access(user=police, reference=submitted_case.reference)
    consultation_request(
        task_id=held_intake.pk, actor=market_reviewer, departments=["public_security"], question="?", now=now
    )
    access = case_access(user=police, reference=submitted_case.reference)
    assert [d.code for d in access.departments] == ["public_security"]


def test_a_passed_limit_is_marked_lapsed_once_and_both_sides_are_told(
    held_intake, market_reviewer, fire_reviewer, base_data, now, mailoutbox
):
    from govflow.collab.services import consultations_lapse

    (made,) = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire"],
        question="意见？",
        days=1,
        now=now,
    )
    # Before the limit nothing lapses; at the limit it does, once.
    assert consultations_lapse(now=made.due_at - timedelta(seconds=1)) == []
    assert consultations_lapse(now=made.due_at) == [made.pk]
    assert consultations_lapse(now=made.due_at + timedelta(hours=1)) == []
    made.refresh_from_db()
    assert made.lapsed_at == made.due_at
    assert made.status == RequestStatus.OPEN
    event = AuditEvent.objects.filter(action="CONSULTATION_LAPSED").get()
    assert event.data["department"] == "fire"
    assert event.actor_id is None
    outbox_drain(topics=["collab_notify"])
    lapsed = Notification.objects.filter(kind="consultation_lapsed")
    told = set(lapsed.values_list("user__username", flat=True))
    assert told == {"market_regulation_reviewer", "fire_head"}
    mails = {to: m.body for m in mailoutbox if "逾期" in m.subject for to in m.to}
    assert "可以作出决定" in mails[base_data["market_regulation_reviewer"].email]
    assert "尚未回复" in mails[base_data["fire_head"].email]
    # A late opinion is still taken, and recorded as late.
    later = made.due_at + timedelta(hours=2)
    consultation_answer(consultation_id=made.pk, actor=fire_reviewer, opinion="同意", now=later)
    assert AuditEvent.objects.filter(action="CONSULTATION_ANSWERED").get().data["late"] is True
    # An answered or withdrawn consultation never lapses.
    assert consultations_lapse(now=made.due_at + timedelta(days=30)) == []


def test_a_consultation_of_a_decided_task_does_not_lapse(held_intake, market_reviewer, now):
    from govflow.collab.services import consultations_lapse

    (made,) = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire"],
        question="意见？",
        days=1,
        now=now,
    )
    claim_and_complete(task_id=held_intake.pk, actor=market_reviewer, outcome="approve", now=made.due_at)
    assert consultations_lapse(now=made.due_at + timedelta(days=2)) == []
    assert not AuditEvent.objects.filter(action="CONSULTATION_LAPSED").exists()


def test_a_provisional_limit_is_counted_again_once_the_calendar_has_its_year(
    held_intake, market_reviewer, now
):
    from govflow.collab.services import consultations_lapse

    (made,) = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire"],
        question="意见？",
        days=2,
        now=now,
    )
    exact = made.due_at
    # As if it had been counted over a year the calendar lacked, a day late.
    Consultation.objects.filter(pk=made.pk).update(due_at=exact + timedelta(days=1), due_provisional=True)
    assert consultations_lapse(now=now) == []
    made.refresh_from_db()
    assert (made.due_at, made.due_provisional) == (exact, False)
    assert consultations_lapse(now=exact) == [made.pk]


def test_the_beat_task_runs_the_sweep(held_intake, market_reviewer, now):
    from govflow.collab.tasks import lapse

    (made,) = consultation_request(
        task_id=held_intake.pk,
        actor=market_reviewer,
        departments=["fire"],
        question="意见？",
        days=1,
        now=now,
    )
    assert lapse.apply(kwargs={"now": made.due_at.isoformat()}).get() == [made.pk]
