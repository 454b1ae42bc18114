"""seed_history: counts, marking, plausibility, and consistency with what
the services would have written."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command

from govflow.cases.models import Case, Task, TaskStatus
from govflow.insight.models import CaseFact, TaskFact
from govflow.insight.seeding import seed_history

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)


def test_seeded_history_is_plausible(base_data):
    result = seed_history(cases=300, seed=11, since=date(2025, 1, 2), now=NOW, batch=120)
    seeded = Case.objects.filter(reference__startswith="HIS")
    assert seeded.count() == result.cases == 300
    assert CaseFact.objects.filter(seeded=True).count() == 300
    assert set(seeded.values_list("template__code", flat=True)) == {"business_setup", "construction_permit"}
    outcomes = result.by_outcome
    assert outcomes["approved"] > outcomes.get("rejected", 0) > 0
    assert sum(outcomes.values()) == 300
    for case in seeded.exclude(completed_at=None):
        assert case.submitted_at < case.completed_at <= NOW
        assert case.created_at < case.submitted_at  # historical timestamps, not the moment of seeding
    facts = CaseFact.objects.filter(seeded=True, outcome__in=["approved", "rejected"])
    days = {
        code: sorted(
            f.working_seconds / 28800 for f in facts.filter(template__code=code).exclude(working_seconds=None)
        )
        for code in ("business_setup", "construction_permit")
    }
    # Business setup takes days at most; construction approval weeks to months.
    assert statistics.median(days["business_setup"]) < 5 < statistics.median(days["construction_permit"])
    assert TaskFact.objects.filter(seeded=True, silent_consent=True).exists()
    assert TaskFact.objects.filter(seeded=True, escalated=True).exists()
    assert TaskFact.objects.filter(seeded=True, within_limit=False).exists()
    assert not TaskFact.objects.filter(working_seconds__lt=0).exists()


def test_business_setup_gets_faster_over_the_period(base_data):
    seed_history(cases=400, seed=5, since=date(2025, 1, 2), now=NOW)
    facts = CaseFact.objects.filter(seeded=True, template__code="business_setup", outcome="approved")
    early = [f.working_seconds for f in facts.filter(submitted_at__lt=datetime(2025, 4, 1, tzinfo=UTC))]
    late = [f.working_seconds for f in facts.filter(submitted_at__gte=datetime(2026, 1, 1, tzinfo=UTC))]
    assert early
    assert late
    assert statistics.median(early) > 4 * statistics.median(late)
    assert statistics.median(late) <= 8 * 3600  # about one working day, as the seed article reports


def test_seeded_rows_are_consistent_for_reconcile_and_the_audit_chain(base_data):
    from govflow.audit.verification import audit_verify
    from govflow.cases.reconcile import reconcile

    seed_history(cases=150, seed=3, since=date(2025, 6, 2), now=NOW)
    problems = [p for p in reconcile(now=NOW) if "HIS" in p]
    assert problems == []
    assert audit_verify() is None
    # Every open seeded case holds live tasks that match its engine state.
    for case in Case.objects.filter(
        reference__startswith="HIS", status__in=["in_review", "awaiting_correction"]
    ):
        live = set(
            Task.objects.filter(case=case, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).values_list(
                "engine_id", flat=True
            )
        )
        assert live == set(case.state["tasks"])


def test_seeded_tasks_carry_their_timers_dates_as_live_ones_do(base_data):
    """Seeded rows come from the bridge the services use: a live task's due
    and reminder dates are its SLA timers' (the inbox sorts and filters on
    them), and every decided review has its decider and opinion."""
    from govflow.timers.models import Timer

    seed_history(cases=80, seed=5, since=date(2025, 6, 2), now=NOW)
    timers = Timer.objects.filter(
        case__reference__startswith="HIS",
        kind__in=["sla_breach", "sla_reminder"],
        status=Timer.PENDING,
        task__status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED],
    ).select_related("task")
    kinds = {timer.kind for timer in timers}
    assert kinds == {"sla_breach", "sla_reminder"}
    for timer in timers:
        field = "due_at" if timer.kind == "sla_breach" else "remind_at"
        assert getattr(timer.task, field) == timer.due_at, (timer.task, field)
    decided = Task.objects.filter(
        case__reference__startswith="HIS", kind="review", status=TaskStatus.COMPLETED, silent_consent=False
    )
    assert decided.exists()
    assert not decided.filter(opinion="").exists()
    assert not decided.filter(completed_at=None).exists()


def test_same_seed_same_history_and_runs_add_up(base_data):
    first = seed_history(cases=30, seed=9, since=date(2025, 3, 3), now=NOW)
    second = seed_history(cases=30, seed=9, since=date(2025, 3, 3), now=NOW)
    assert first.by_outcome == second.by_outcome
    assert first.tasks == second.tasks
    assert Case.objects.filter(reference__startswith="HIS").count() == 60  # additive


@time_machine.travel(datetime(2026, 10, 1, 4, 0, tzinfo=UTC), tick=False)
def test_command(base_data, capsys):
    call_command("seed_history", "--cases", "12", "--seed", "1", "--since", "2026-01-05")
    assert "added 12 cases" in capsys.readouterr().out
    assert CaseFact.objects.filter(seeded=True).count() == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cases", "-1"], "zero or more"),
        (["--cases", "5", "--since", "2025-02-30"], "YYYY-MM-DD"),
        (["--cases", "5", "--since", "2030-01-01"], "no time before today"),
        (["--cases", "5", "--since", "2019-01-01"], "calendar"),
    ],
)
@time_machine.travel(NOW, tick=False)  # 2030-01-01 is in the future whatever the machine's clock says
def test_command_refuses_bad_input(args, message, base_data):
    with pytest.raises(CommandError) as raised:
        call_command("seed_history", *args)
    assert message in str(raised.value)
    assert not Case.objects.filter(reference__startswith="HIS").exists()


def _marks_at_heads() -> bool:
    from govflow.audit.models import AuditHead
    from govflow.insight.models import FactsMark

    marks = dict(FactsMark.objects.values_list("chain", "seq"))
    return all(marks.get(chain) == head for chain, head in AuditHead.objects.values_list("chain", "last_seq"))


def test_seeding_leaves_the_facts_mark_at_the_chain_head(driver):
    """seed_history writes its facts itself: no projector (beat, or a
    dashboard request catching up) reads its events again, and the events
    other writers left unprojected before it are projected with its first
    batch."""
    from govflow.insight.facts import facts_project
    from govflow.insight.selectors import facts_freshness

    driver.projecting = False
    waiting = driver.submit(datetime(2026, 6, 29, 2, 0, tzinfo=UTC))
    assert not CaseFact.objects.filter(case=waiting).exists()
    assert facts_freshness().waiting > 0

    seed_history(cases=90, seed=4, since=date(2026, 1, 5), now=NOW, batch=40)

    assert _marks_at_heads()
    assert facts_freshness().current
    assert CaseFact.objects.filter(case=waiting).exists()
    assert CaseFact.objects.filter(seeded=True).count() == 90
    assert facts_project() == 0


def test_a_mark_far_behind_is_left_to_the_projector(driver, monkeypatch):
    from govflow.insight import facts
    from govflow.insight.selectors import facts_freshness

    driver.projecting = False
    driver.submit(datetime(2026, 6, 29, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(facts, "PROJECT_BATCH", 0)  # any gap is too far

    seed_history(cases=30, seed=4, since=date(2026, 1, 5), now=NOW)
    assert not _marks_at_heads()
    counts = CaseFact.objects.count(), TaskFact.objects.count()
    waiting = facts_freshness().waiting

    monkeypatch.undo()
    assert facts.facts_project() == waiting
    assert _marks_at_heads()
    # the seeded cases' facts were there: the projector added only the waiting case's
    assert CaseFact.objects.count() == counts[0] + 1
    assert TaskFact.objects.count() == counts[1]
