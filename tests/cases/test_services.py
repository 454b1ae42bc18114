"""The case and task services on the database: lifecycle, timers, corrections,
errors that write nothing."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django_fsm import TransitionNotAllowed

from govflow.audit.models import AuditEvent
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.cases.services import (
    case_answer_correction,
    case_create,
    case_save_draft,
    case_submit,
    case_withdraw,
    task_claim,
    task_handover,
)
from govflow.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from govflow.outbox.models import OutboxMessage
from govflow.timers.models import Timer
from tests.deciding import claim_and_complete

from .conftest import GOOD_DATA, decide, live_task

pytestmark = pytest.mark.django_db


def test_submit_creates_the_first_task_with_a_working_day_deadline(submitted_case, now):
    # Given a case submitted on Tuesday 2026-03-03
    case = Case.objects.get(pk=submitted_case.pk)
    # Then it is in review with the intake task due at office close two working days later
    assert case.status == CaseStatus.IN_REVIEW
    intake = live_task(case, "intake")
    assert intake.department.code == "market_regulation"
    assert intake.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # 17:00 Beijing
    kinds = sorted(Timer.objects.filter(case=case).values_list("kind", flat=True))
    # the intake's SLA, and the case's promise (time_limit) from its acceptance on submission
    assert kinds == ["case_promise", "case_promise_warning", "sla_breach", "sla_reminder"]
    promise = Timer.objects.get(case=case, kind="case_promise")
    assert promise.due_at == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)  # 20 working days, 17:00 Beijing
    assert OutboxMessage.objects.filter(topic="notify", payload__case=case.pk).count() == 1


def test_a_case_runs_to_approval_through_parallel_reviews(submitted_case, base_data, now):
    case = submitted_case
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    assert set(Task.objects.filter(case=case, status=TaskStatus.OPEN).values_list("node_id", flat=True)) == {
        "fire",
        "tax",
    }
    decide(case, "fire", base_data["fire_reviewer"], now=now)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_REVIEW
    decide(case, "tax", base_data["tax_reviewer"], now=now)

    case = Case.objects.get(pk=case.pk)
    assert case.status == CaseStatus.APPROVED
    assert case.completed_at == now
    assert not Timer.objects.filter(case=case, status=Timer.PENDING).exists()
    assert OutboxMessage.objects.filter(topic="certificate", payload__case=case.pk).count() == 1
    actions = list(AuditEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions.count("TASK_COMPLETED") == 3
    assert actions[-1] == "CASE_APPROVED"


def test_invalid_form_data_is_refused_and_the_draft_keeps_what_was_typed(review_template, applicant, now):
    typed = {**GOOD_DATA, "rep_id_number": "110105194912310021"}  # wrong check digit
    case = case_create(applicant=applicant, template_code="test_review", data=typed, now=now)

    with pytest.raises(FormInvalid) as caught:
        case_submit(case_id=case.pk, actor=applicant, now=now, language="en")

    assert "rep_id_number" in caught.value.fields
    stored = Case.objects.get(pk=case.pk)
    assert stored.status == CaseStatus.DRAFT
    assert stored.data == typed
    assert not Task.objects.filter(case=case).exists()


def test_a_return_pauses_the_sla_clock_and_the_answer_resumes_it(submitted_case, base_data, applicant, now):
    # Given the intake reviewer returns the case a working day after acceptance
    reviewer = base_data["market_regulation_reviewer"]
    decide(submitted_case, "intake", reviewer, outcome="return", opinion="请补充法定代表人身份证明", now=now)
    case = Case.objects.get(pk=submitted_case.pk)
    assert case.status == CaseStatus.AWAITING_CORRECTION
    assert case.clock_paused_at == now
    deadline = Timer.objects.get(case=case, kind="correction_deadline", status=Timer.PENDING)
    assert deadline.due_at == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 5 working days, office close

    # When the applicant answers three calendar days later (a weekend between)
    later = now + timedelta(days=6)  # Monday 2026-03-09 10:00 Beijing
    case_answer_correction(case_id=case.pk, actor=applicant, data={"area": 150}, now=later)

    # Then the case is back in review with a new intake task, the clock running,
    # and the paused office time recorded
    case = Case.objects.get(pk=case.pk)
    assert case.status == CaseStatus.IN_REVIEW
    assert case.data["area"] == 150
    assert case.clock_paused_at is None
    assert case.paused_seconds == 4 * 8 * 3600  # Tue 10:00 -> Mon 10:00 is four working days
    intake = live_task(case, "intake")
    assert intake.round == 2
    assert intake.due_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
    assert Timer.objects.get(pk=deadline.pk).status == Timer.CANCELLED


def test_sla_timers_of_other_departments_pause_while_the_case_is_with_the_applicant(
    submitted_case, base_data, applicant, now
):
    # Given the parallel reviews are open (tax due in 1 working day)
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    tax = live_task(submitted_case, "tax")
    assert tax.due_at == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    # When fire returns the case for correction at the same moment
    decide(
        submitted_case, "fire", base_data["fire_reviewer"], outcome="return", opinion="补充消防图纸", now=now
    )
    breach = Timer.objects.get(task=tax, kind="sla_breach")
    assert breach.status == Timer.PAUSED
    assert breach.remaining_seconds == 15 * 3600  # Tue 10:00-17:00 and all of Wednesday
    assert timers_fire_due(now=now + timedelta(days=30)) == 0  # nothing fires while paused

    # And the applicant answers on Monday: the deadline moves by the time paused
    case_answer_correction(case_id=submitted_case.pk, actor=applicant, data={}, now=now + timedelta(days=6))
    breach.refresh_from_db()
    assert breach.status == Timer.PENDING
    assert breach.due_at == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Monday 10:00 + 15 office hours
    tax.refresh_from_db()
    assert tax.due_at == breach.due_at


def test_due_timers_fire_once_and_silent_consent_records_its_legal_basis(submitted_case, base_data, now):
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    decide(submitted_case, "fire", base_data["fire_reviewer"], now=now)
    tax = live_task(submitted_case, "tax")

    # Nothing is due yet
    assert timers_fire_due(now=now) == 0
    # A week later the tax SLA (1 working day) has passed: silent consent
    fired = timers_fire_due(now=now + timedelta(days=7))
    assert fired == 1
    assert timers_fire_due(now=now + timedelta(days=7)) == 0

    tax.refresh_from_db()
    assert tax.status == TaskStatus.COMPLETED
    assert tax.outcome == "approve"
    assert tax.silent_consent is True
    assert "test rule 5" in tax.legal_basis
    assert Case.objects.get(pk=submitted_case.pk).status == CaseStatus.APPROVED
    assert AuditEvent.objects.filter(case=submitted_case, action="TASK_AUTO_DECIDED").count() == 1


def test_escalation_and_reminder_fire_in_due_order(submitted_case, now):
    # The intake task has a reminder at half its 2-day SLA and a breach timer.
    fired = timers_fire_due(now=now + timedelta(days=10))
    assert fired == 2
    intake = live_task(submitted_case, "intake")
    assert intake.escalated is True
    timer_events = list(
        AuditEvent.objects.filter(case=submitted_case, action="TIMER_FIRED")
        .order_by("id")
        .values_list("data", flat=True)
    )
    assert [e["kind"] for e in timer_events] == ["sla_reminder", "sla_breach"]
    notify_kinds = sorted(
        OutboxMessage.objects.filter(topic="notify", payload__case=submitted_case.pk).values_list(
            "payload__kind", flat=True
        )
    )
    assert notify_kinds == ["escalation", "reminder", "task_created"]


def test_withdraw_cancels_tasks_and_timers(submitted_case, applicant, now):
    case_withdraw(case_id=submitted_case.pk, actor=applicant, reason="不再需要", now=now)
    case = Case.objects.get(pk=submitted_case.pk)
    assert case.status == CaseStatus.WITHDRAWN
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()
    assert not Timer.objects.filter(case=case, status=Timer.PENDING).exists()


def test_illegal_lifecycle_moves_are_errors_not_silent_no_ops(submitted_case, applicant, base_data, now):
    case = Case.objects.get(pk=submitted_case.pk)
    with pytest.raises(TransitionNotAllowed):
        case.submit()
    with pytest.raises(AttributeError):
        case.status = CaseStatus.APPROVED  # protected: only transitions move it
    with pytest.raises(Conflict):
        case_submit(case_id=case.pk, actor=applicant, now=now)
    with pytest.raises(Conflict):
        case_save_draft(case_id=case.pk, actor=applicant, data={"area": 1})

    reviewer = base_data["market_regulation_reviewer"]
    task = live_task(case, "intake")
    claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approve", now=now)
    with pytest.raises(Conflict) as stale:
        claim_and_complete(task_id=task.pk, actor=reviewer, outcome="reject", opinion="迟到的决定", now=now)
    assert "already been decided" in stale.value.message
    assert Task.objects.get(pk=task.pk).outcome == "approve"


def test_reviewers_of_other_departments_and_applicants_cannot_decide(
    submitted_case, base_data, applicant, now
):
    task = live_task(submitted_case, "intake")
    with pytest.raises(NotFound):
        claim_and_complete(task_id=task.pk, actor=base_data["fire_reviewer"], outcome="approve", now=now)
    with pytest.raises(NotFound):
        claim_and_complete(task_id=task.pk, actor=applicant, outcome="approve", now=now)
    with pytest.raises(NotFound):
        case_withdraw(case_id=submitted_case.pk, actor=base_data["fire_reviewer"], now=now)
    assert live_task(submitted_case, "intake").pk == task.pk


def test_reject_and_return_need_an_opinion_and_unknown_outcomes_are_refused(submitted_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    task = live_task(submitted_case, "intake")
    with pytest.raises(InvalidInput) as no_opinion:
        claim_and_complete(task_id=task.pk, actor=reviewer, outcome="reject", opinion="  ", now=now)
    assert "opinion" in no_opinion.value.fields
    with pytest.raises(InvalidInput) as bad_outcome:
        claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approved", now=now)
    assert "outcome" in bad_outcome.value.fields
    # still the reviewer's, undecided
    task = live_task(submitted_case, "intake")
    assert (task.status, task.assignee, task.outcome) == (TaskStatus.CLAIMED, reviewer, "")


def test_claim_and_handover_within_the_department(submitted_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    head = base_data["market_regulation_head"]
    task = task_claim(task_id=live_task(submitted_case, "intake").pk, actor=reviewer, now=now)
    assert task.assignee == reviewer
    # The head may not decide a task a colleague holds...
    with pytest.raises(Conflict):
        claim_and_complete(task_id=task.pk, actor=head, outcome="approve", now=now)
    # ...but may reassign it, and then decide it
    task_handover(task_id=task.pk, actor=head, to_user=head, now=now)
    claim_and_complete(task_id=task.pk, actor=head, outcome="approve", now=now)
    other = live_task(submitted_case, "fire")
    with pytest.raises(InvalidInput):
        task_handover(task_id=other.pk, actor=base_data["fire_reviewer"], to_user=reviewer, now=now)
    own = case_create(applicant=reviewer, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=own.pk, actor=reviewer, now=now)
    own_intake = live_task(own, "intake")
    with pytest.raises(Forbidden):
        claim_and_complete(task_id=own_intake.pk, actor=reviewer, outcome="approve", now=now)


def test_the_audit_chain_links_every_event(submitted_case, base_data, now):
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    events = list(AuditEvent.objects.order_by("chain", "seq"))
    assert events, "services write audit events"
    assert events[0].seq == 1
    for before, after in itertools.pairwise(events):
        if after.chain != before.chain:  # the next chain starts at its genesis
            assert (after.seq, after.prev_hash) == (1, "0" * 64)
            continue
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
