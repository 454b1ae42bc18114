"""The dashboard's facts are projected from the committed audit trail, after
the decision's transaction (govflow.insight.facts.facts_project): none is
written by the decision itself, none is lost or written twice, projecting
late gives the same rows as projecting at once, and the dashboard says how
far the facts reach."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.audit.models import AuditHead
from govflow.insight.facts import facts_catch_up, facts_project
from govflow.insight.models import CaseFact, FactsMark, TaskFact
from govflow.insight.selectors import Filters, dashboard_get, facts_freshness
from tests.insight.conftest import beijing

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _facts(case_ids: list[int] | None = None) -> dict:
    case_facts, task_facts = CaseFact.objects.all(), TaskFact.objects.all()
    if case_ids is not None:
        case_facts, task_facts = (
            case_facts.filter(case_id__in=case_ids),
            task_facts.filter(case_id__in=case_ids),
        )
    cases = {
        f.case_id: (f.outcome, f.working_seconds, f.limit_seconds, f.within_limit, f.completed_at)
        for f in case_facts
    }
    tasks = {
        f.task_id: (
            f.outcome,
            f.working_seconds,
            f.limit_seconds,
            f.within_limit,
            f.silent_consent,
            f.escalated,
        )
        for f in task_facts
    }
    return {"cases": cases, "tasks": tasks}


def _steps(driver) -> list:
    """The three hand-computed cases of test_statistics.py, plus one
    withdrawn while with the applicant, as steps (each a service call);
    the cases made are collected in `cases`."""
    from govflow.cases.services import case_withdraw

    cases: dict = {}

    def submit(name, at):
        return lambda: cases.__setitem__(name, driver.submit(at))

    def decide(name, node, outcome, at):
        return lambda: driver.decide(cases[name], node, outcome, at)

    return cases, [
        submit("with_holiday", beijing(2026, 2, 13, 10)),
        decide("with_holiday", "review_b", "approve", beijing(2026, 2, 14, 16)),
        decide("with_holiday", "review_a", "approve", beijing(2026, 2, 24, 12)),
        submit("late", beijing(2026, 3, 3, 10)),
        lambda: driver.sweep(beijing(2026, 3, 4, 17, 1)),
        lambda: driver.sweep(beijing(2026, 3, 5, 17, 1)),
        decide("late", "review_a", "approve", beijing(2026, 3, 6, 11)),
        submit("corrected", beijing(2026, 3, 9, 10)),
        decide("corrected", "review_b", "approve", beijing(2026, 3, 9, 15)),
        decide("corrected", "review_a", "return", beijing(2026, 3, 10, 10)),
        lambda: driver.correct(cases["corrected"], beijing(2026, 3, 12, 10)),
        decide("corrected", "review_a", "reject", beijing(2026, 3, 12, 16)),
        submit("withdrawn", beijing(2026, 3, 9, 10)),
        decide("withdrawn", "review_a", "return", beijing(2026, 3, 10, 10)),
        lambda: case_withdraw(
            case_id=cases["withdrawn"].pk, actor=driver.applicant, now=beijing(2026, 3, 11, 10)
        ),
    ]


STEPS = 15


def _scenario(driver) -> None:
    for run in _steps(driver)[1]:
        run()


def test_a_decision_writes_no_fact_and_the_projection_writes_it_once(driver):
    driver.projecting = False
    case = driver.submit(beijing(2026, 3, 9, 10))
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        driver.decide(case, "review_b", "approve", beijing(2026, 3, 9, 15))
    assert any('"cases_task"' in sql for sql in statements)  # the wrapper saw the decision's writes
    assert not [sql for sql in statements if "insight_" in sql]
    assert (CaseFact.objects.count(), TaskFact.objects.count()) == (0, 0)
    assert facts_freshness().waiting > 0

    read = facts_project()
    assert read > 0
    assert CaseFact.objects.get(case_id=case.pk).outcome == ""  # still open
    assert TaskFact.objects.get(case_id=case.pk).node_id == "review_b"
    assert facts_freshness().waiting == 0
    assert facts_freshness().current
    # Nothing new: nothing read, nothing written.
    before = _facts()
    assert facts_project() == 0
    assert _facts() == before


def test_projecting_once_at_the_end_equals_projecting_after_every_step(driver):
    """An open fact is later completed, a task fact is written the first
    time its task is seen decided: the order of projection does not matter."""
    _scenario(driver)
    driver.project()
    incremental = _facts()
    assert len(incremental["cases"]) == 4
    assert len(incremental["tasks"]) == 8

    CaseFact.objects.all().delete()
    TaskFact.objects.all().delete()
    FactsMark.objects.update(seq=0, event_at=None)
    facts_project(batch=3)  # small batches: the cases span several
    assert _facts() == incremental


def test_the_withdrawn_case_counts_its_pause_when_projected_late(driver):
    """Submitted Mon 03-09 10:00, returned Tue 10:00 (8 office hours; the
    clock stops), withdrawn Wed 10:00 while paused: 8 hours, not 16, also
    when the projector first sees the case after it ended."""
    from govflow.cases.services import case_withdraw

    driver.projecting = False
    case = driver.submit(beijing(2026, 3, 9, 10))
    driver.decide(case, "review_a", "return", beijing(2026, 3, 10, 10))
    case_withdraw(case_id=case.pk, actor=driver.applicant, now=beijing(2026, 3, 11, 10))
    facts_project()
    fact = CaseFact.objects.get(case_id=case.pk)
    assert (fact.outcome, fact.working_seconds) == ("withdrawn", 8 * 3600)


def test_a_failed_projection_moves_no_mark_and_writes_nothing(driver, monkeypatch):
    from govflow.insight import facts

    driver.projecting = False
    case = driver.submit(beijing(2026, 3, 9, 10))
    driver.decide(case, "review_b", "approve", beijing(2026, 3, 9, 15))
    marks = dict(FactsMark.objects.values_list("chain", "seq"))

    def broken(*args, **kwargs):
        raise RuntimeError("calendar service down")

    monkeypatch.setattr(facts, "_decided_task_facts", broken)
    with pytest.raises(RuntimeError):
        facts_project()
    assert dict(FactsMark.objects.values_list("chain", "seq")) == marks
    assert (CaseFact.objects.count(), TaskFact.objects.count()) == (0, 0)

    monkeypatch.undo()
    facts_project()
    assert TaskFact.objects.filter(case_id=case.pk).count() == 1


def test_the_mark_never_passes_the_chain_head(driver):
    driver.projecting = False
    for day in (9, 10, 11):
        driver.submit(beijing(2026, 3, day, 10))
    facts_project(batch=2)
    heads = dict(AuditHead.objects.values_list("chain", "last_seq"))
    marks = dict(FactsMark.objects.values_list("chain", "seq"))
    assert marks == heads
    assert CaseFact.objects.count() == 3


def test_a_request_catches_up_within_its_bound(driver, monkeypatch):
    from govflow.insight import facts

    driver.projecting = False
    for day in (9, 10, 11):
        driver.submit(beijing(2026, 3, day, 10))
    waiting = facts_freshness().waiting
    assert waiting >= 3
    monkeypatch.setattr(facts, "REQUEST_EVENTS", 1)
    assert facts_catch_up() == 1
    assert facts_freshness().waiting == waiting - 1


def test_the_dashboard_says_when_facts_lag(client, base_data, driver, monkeypatch):
    from govflow.insight import facts

    driver.projecting = False
    driver.submit(beijing(2026, 3, 9, 10))
    monkeypatch.setattr(facts, "REQUEST_EVENTS", 0)  # as if beat held every chain
    client.force_login(base_data["leader"])
    page = client.get("/insight/", {"from": "2026-03-01", "to": "2026-03-31"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert "以下统计尚未计入最近的" in page.content.decode()

    monkeypatch.undo()
    page = client.get("/insight/", {"from": "2026-03-01", "to": "2026-03-31"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "以下统计尚未计入最近的" not in page.content.decode()
    board = dashboard_get(filters=Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert board.totals.submitted == 1
    assert board.freshness.current


def test_a_fact_projected_into_a_rolled_month_is_counted(driver, probe):
    """The projector was down for more than a day across a month's end:
    March is rolled up before its last decision's facts are written. They
    take the rollup back, and the dashboard counts them."""
    from govflow.insight.rollup import rolled_until, rollup_advance

    driver.projecting = False
    case = driver.submit(beijing(2026, 3, 30, 10))
    driver.decide(case, "review_b", "approve", beijing(2026, 3, 30, 15))
    driver.decide(case, "review_a", "approve", beijing(2026, 3, 31, 16))
    rollup_advance(now=beijing(2026, 4, 10, 9))
    assert rolled_until() == date(2026, 4, 1)
    facts_project(now=beijing(2026, 4, 10, 9))
    assert rolled_until() == date(2026, 3, 1)
    board = dashboard_get(
        filters=Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)), now=beijing(2026, 4, 10, 9)
    )
    assert (board.totals.submitted, board.totals.approved) == (1, 1)


def test_an_ended_fact_is_never_overwritten_by_an_open_one(driver):
    """Two projectors can see one case at once (a sweep's transaction puts
    several cases' events in one chain): the one that read the case while
    it was open writes last, and the ended fact stays."""
    from govflow.insight.facts import case_facts_save

    driver.projecting = False
    case = driver.submit(beijing(2026, 3, 9, 10))
    facts_project()
    open_fact = CaseFact.objects.get(case_id=case.pk)
    driver.decide(case, "review_b", "approve", beijing(2026, 3, 9, 15))
    driver.decide(case, "review_a", "approve", beijing(2026, 3, 10, 11))
    facts_project()
    ended = _facts()["cases"][case.pk]
    assert ended[0] == "approved"

    case_facts_save([open_fact])  # the slower projector's stale row
    assert _facts()["cases"][case.pk] == ended


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    after=st.lists(st.booleans(), min_size=STEPS, max_size=STEPS),
    batch=st.integers(min_value=1, max_value=40),
)
def test_the_facts_do_not_depend_on_when_or_how_much_the_projector_reads(driver, after, batch):
    """Projections after any subset of the steps, in batches of any size,
    end with the facts computed once from the final rows."""
    from govflow.insight.facts import _facts_for, _submitted_cases
    from govflow.insight.rollup import rollup_retract

    driver.projecting = False
    cases, steps = _steps(driver)
    assert len(steps) == STEPS
    for run, project in zip(steps, after, strict=True):
        run()
        if project:
            facts_project(batch=batch)
    facts_project(batch=batch)
    ids = [case.pk for case in cases.values()]
    projected = _facts(ids)
    assert len(projected["cases"]) == 4
    assert len(projected["tasks"]) == 8

    CaseFact.objects.filter(case_id__in=ids).delete()
    TaskFact.objects.filter(case_id__in=ids).delete()
    rollup_retract(since=None)
    _facts_for(list(_submitted_cases().filter(pk__in=ids)), now=beijing(2026, 3, 20, 9))
    assert _facts(ids) == projected


def test_freshness_does_not_claim_a_reach_for_a_chain_never_counted(driver):
    driver.projecting = False
    driver.submit(beijing(2026, 3, 9, 10))
    facts_project()
    assert facts_freshness().current
    FactsMark.objects.update(seq=0, event_at=None)  # as if no chain had been counted
    fresh = facts_freshness()
    assert fresh.waiting > 0
    assert fresh.reach is None
