"""The typed events the services and the bridge record on a change set, and
who hears of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govflow.audit.actions import Action
from govflow.cases import bridge, events
from govflow.cases.automation import timers_fire_due
from govflow.cases.bridge import Changes
from govflow.cases.models import TaskKind, TaskStatus
from govflow.cases.services import case_answer_correction, case_create, case_withdraw

from .conftest import GOOD_DATA, decide

ALL = (
    events.CaseSubmitted,
    events.CaseAccepted,
    events.CaseCorrectionRequested,
    events.CaseCorrected,
    events.CaseReviewResumed,
    events.CaseEnded,
    events.TaskCreated,
    events.TaskDecided,
    events.TaskEscalated,
    events.ClockPaused,
    events.ClockResumed,
    events.CertificateDue,
    events.TaskReturned,
    events.DecisionTakenBack,
    events.TaskTransferred,
    events.SignerChanged,
    events.TaskExtended,
    events.CaseLimitPassed,
    events.BundleItemEnded,
)


class Recorder:
    def __init__(self):
        self.flushes: list[list] = []

    def __call__(self, changes, happened):
        self.flushes.append(list(happened))

    def last(self) -> list:
        return self.flushes[-1]

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.last()]


@pytest.fixture
def heard():
    recorder = Recorder()
    events.subscribe(recorder, *ALL)
    yield recorder
    events.unsubscribe(recorder)


def test_every_event_type_is_in_the_union():
    assert set(ALL) == set(events.DomainEvent.__args__)


def test_a_submission_is_told_with_the_task_it_opens(review_template, applicant, now, heard):
    # When the applicant submits
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case = case_submit_for(case, applicant, now)

    # Then subscribers hear of the submission, then of the intake task (its row)
    assert heard.kinds() == ["CaseSubmitted", "CaseAccepted", "TaskCreated"]
    submitted, accepted, created = heard.last()
    assert submitted.case is case
    assert submitted.actor_id == applicant.pk
    assert created.task.node_id == "intake"
    assert accepted.at == now  # no acceptance node: accepted on submission
    assert accepted.node is None
    assert created.task.status == TaskStatus.OPEN


def case_submit_for(case, applicant, now):
    from govflow.cases.services import case_submit

    return case_submit(case_id=case.pk, actor=applicant, now=now)


def test_decisions_and_the_end_are_told_with_who_decided(submitted_case, base_data, now, heard):
    # Given intake approved and fire approved
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    decided = heard.last()[0]
    assert isinstance(decided, events.TaskDecided)
    assert (decided.node, decided.outcome, decided.opinion) == ("intake", "approve", "同意")
    assert decided.actor_id == base_data["market_regulation_reviewer"].pk
    assert decided.task is not None
    assert decided.task.department_id == decided.department_id
    assert not decided.silent_consent
    assert [e.task.node_id for e in heard.last()[1:]] == ["fire", "tax"]
    decide(submitted_case, "fire", base_data["fire_reviewer"], now=now)

    # When tax approves, the last review
    decide(submitted_case, "tax", base_data["tax_reviewer"], now=now)

    # Then the decision, the certificate due and the case's end are told
    assert heard.kinds() == ["TaskDecided", "CertificateDue", "CaseEnded"]
    _decided, certificate, ended = heard.last()
    assert (certificate.node, certificate.type) == ("approved", "test_licence")
    assert (ended.outcome, ended.previous, ended.paused_since) == ("approved", "in_review", None)


def test_a_return_and_its_answer(submitted_case, base_data, applicant, now, heard):
    # When intake returns the case
    decide(
        submitted_case,
        "intake",
        base_data["market_regulation_reviewer"],
        outcome="return",
        opinion="补",
        now=now,
    )

    # Then
    assert heard.kinds() == ["TaskDecided", "TaskCreated", "ClockPaused", "CaseCorrectionRequested"]
    assert heard.last()[1].task.kind == TaskKind.CORRECTION

    # When the applicant answers
    case_answer_correction(case_id=submitted_case.pk, actor=applicant, data={"area": 150}, now=now)

    # Then the case is back in review with a new intake task
    assert heard.kinds() == ["ClockResumed", "TaskCreated", "CaseReviewResumed", "CaseCorrected"]
    assert heard.last()[1].task.round == 2
    assert heard.last()[-1].fields == ("area",)


def test_silent_consent_is_a_decision_without_a_person(submitted_case, base_data, now, heard):
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    decide(submitted_case, "fire", base_data["fire_reviewer"], now=now)

    timers_fire_due(now=now + timedelta(days=7))

    decided = next(e for e in heard.last() if isinstance(e, events.TaskDecided))
    assert decided.silent_consent
    assert decided.node == "tax"
    assert decided.outcome == "approve"
    assert "test rule 5" in decided.legal_basis
    assert decided.actor_id is None
    assert decided.task is None
    assert isinstance(heard.last()[-1], events.CaseEnded)


def test_an_escalation_is_told(submitted_case, now, heard):
    timers_fire_due(now=now + timedelta(days=10))

    escalated = [e for flush in heard.flushes for e in flush if isinstance(e, events.TaskEscalated)]
    assert [(e.case.pk, e.node) for e in escalated] == [(submitted_case.pk, "intake")]


def test_an_end_while_the_clock_is_paused_tells_the_pause_still_running(submitted_case, now):
    # Given a case whose clock was paused an hour ago (an excluded step)
    case = submitted_case
    case.clock_paused_at = now - timedelta(hours=1)
    changes = Changes(now=now)

    # When the engine says it ended
    bridge._sync_status(case, {"status": "completed", "outcome": "rejected"}, changes, None)

    # Then its end carries the pause its paused_seconds does not count, and the clock stops
    ended = changes.events[-1]
    assert isinstance(ended, events.CaseEnded)
    assert (ended.outcome, ended.previous) == ("rejected", "in_review")
    assert ended.paused_since == now - timedelta(hours=1)
    assert case.clock_paused_at is None
    assert [p.action for p in changes.audit] == [Action.CASE_REJECTED]


def test_a_withdrawn_draft_ends_from_draft(review_template, applicant, now, heard):
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)

    case_withdraw(case_id=case.pk, actor=applicant, now=now)

    assert heard.kinds() == ["CaseEnded"]
    assert (heard.last()[0].outcome, heard.last()[0].previous) == ("withdrawn", "draft")


def test_a_subscriber_hears_only_of_its_types_and_is_not_called_without_them(review_template, applicant, now):
    # Given a subscriber to certificates only (subscribed twice: no matter)
    calls = []

    def certificates(changes, happened):
        calls.append(happened)

    events.subscribe(certificates, events.CertificateDue)
    events.subscribe(certificates, events.CertificateDue)
    try:
        # When a case is submitted (no certificate is due)
        case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
        case_submit_for(case, applicant, now)
    finally:
        events.unsubscribe(certificates)

    # Then it was not called
    assert calls == []
    assert all(handler is not certificates for _types, handler in events.subscriptions())


def test_the_apps_subscribe_to_events_not_to_strings():
    from govflow.catalog.publishing import stage_catalog
    from govflow.webhooks.events import case_events

    table = {handler: types for types, handler in events.subscriptions()}
    assert table[case_events] == {
        events.CaseSubmitted,
        events.TaskDecided,
        events.TaskCreated,
        events.CaseEnded,
        events.TaskReturned,
        events.DecisionTakenBack,
        events.TaskTransferred,
        events.SignerChanged,
        events.TaskExtended,
        events.CaseLimitPassed,
        events.BundleItemEnded,
    }
    # The dashboard's facts are projected after commit (govflow.insight.facts).
    assert not any(handler.__module__.startswith("govflow.insight") for handler in table)
    assert table[stage_catalog] == {
        events.CaseSubmitted,
        events.CaseCorrected,
        events.CaseEnded,
        events.CertificateDue,
        events.BundleItemEnded,
    }
