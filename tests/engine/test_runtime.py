"""Unit tests of `step()` (govflow.engine.runtime): one behaviour per test.

Templates come from tests/data/workflows/valid where one fits, inline
otherwise. Every state the `Case` driver sees is round-tripped through
`dump_state`/`load_state` before the next event, as stored cases are.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from govflow.engine import (
    CompleteTask,
    Definition,
    FireTimer,
    IllegalEvent,
    NoBranchMatched,
    ServiceDone,
    Start,
    SubmitCorrection,
    Withdraw,
    dump_state,
    load_state,
    step,
)
from govflow.engine.runtime import (
    SCHEMA_VERSION,
    CaseCompleted,
    CertificateDue,
    ClockPaused,
    ClockResumed,
    NodeEntered,
    Notify,
    ServiceCall,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TimerCancelled,
    TimerStarted,
    copy_state,
)
from govflow.engine.state import StateVersionError

from .conftest import T0, load, load_valid


def of(effects: list[Any], kind: type) -> list[Any]:
    return [effect for effect in effects if isinstance(effect, kind)]


class Case:
    """One case driven through `step`, its state re-read from JSON after every event."""

    def __init__(self, definition: Definition, data: dict[str, Any] | None = None, now=T0) -> None:
        self.definition = definition
        self.now = now
        self.history: list[Any] = []
        self.state: dict[str, Any] = {}
        self._keep(step(definition, None, Start(data or {}), now))

    def _keep(self, result) -> list[Any]:
        stored = load_state(json.loads(dump_state(result.state)))
        assert stored == result.state
        self.state = stored
        self.effects = result.effects
        self.history += result.effects
        return result.effects

    def send(self, event, *, now=None) -> list[Any]:
        return self._keep(step(self.definition, self.state, event, now or self.now))

    # what is open ---------------------------------------------------------

    def tasks(self, node: str | None = None) -> dict[str, dict[str, Any]]:
        return {tid: t for tid, t in self.state["tasks"].items() if node is None or t["node"] == node}

    def task(self, node: str) -> str:
        [task_id] = self.tasks(node)
        return task_id

    def open_nodes(self) -> list[str]:
        return sorted(t["node"] for t in self.state["tasks"].values())

    def timers(self, kind: str | None = None, node: str | None = None) -> dict[str, dict[str, Any]]:
        return {
            mid: m
            for mid, m in self.state["timers"].items()
            if (kind is None or m["kind"] == kind) and (node is None or m["node"] == node)
        }

    def timer(self, kind: str, node: str | None = None) -> str:
        [timer_id] = self.timers(kind, node)
        return timer_id

    # events -----------------------------------------------------------------

    def complete(self, node: str, outcome: str = "approve", **kwargs: Any) -> list[Any]:
        return self.send(CompleteTask(self.task(node), outcome, **kwargs))

    def fire(self, kind: str, node: str | None = None) -> list[Any]:
        return self.send(FireTimer(self.timer(kind, node)))

    @property
    def status(self) -> tuple[str, str | None]:
        return self.state["status"], self.state["outcome"]

    def entered(self, node: str) -> int:
        return sum(1 for e in of(self.history, NodeEntered) if e.node == node)


# -- start ------------------------------------------------------------------


def test_start_builds_a_fresh_state_and_records_the_time():
    # Given a template whose first step is a review
    definition = load_valid("wait_node.yaml")

    # When a case starts
    result = step(definition, None, Start({"k": "v"}), T0)

    # Then one review task is open, created at the given time, with the data stored
    state = result.state
    assert state["schema_version"] == SCHEMA_VERSION
    assert state["status"] == "running"
    assert state["data"] == {"k": "v"}
    [task] = state["tasks"].values()
    assert task["node"] == "review"
    assert task["kind"] == "review"
    assert task["department"] == "natural_resources"
    assert task["created"] == T0.isoformat()
    assert [e.node for e in of(result.effects, NodeEntered)] == ["start", "review"]


# -- parallel -----------------------------------------------------------------

BRANCHES = ["fire_review", "eco_review", "land_review", "tax_review"]


@pytest.mark.parametrize("order", list(itertools.permutations(BRANCHES)), ids="-".join)
def test_parallel_join_fires_once_whatever_the_order(order: tuple[str, ...]):
    # Given a case inside a parallel block with a nested parallel block
    case = Case(load_valid("nested_parallel.yaml"))
    case.complete("intake")
    assert case.open_nodes() == sorted(BRANCHES)
    assert len(case.state["scopes"]) == 2

    # When the four branch tasks are approved in this order
    for index, node in enumerate(order):
        assert case.tasks("issue") == {}, f"join fired after only {index} approvals"
        case.complete(node)

    # Then the outer join fired exactly once, after the last one
    assert case.open_nodes() == ["issue"]
    assert case.entered("issue") == 1
    assert case.entered("outer_join") == 3
    assert case.entered("env_join") == 2
    assert case.state["scopes"] == {}
    assert len(case.state["tokens"]) == 1


def test_approved_end_issues_its_certificates():
    # Given a case waiting at its last task
    case = Case(load_valid("nested_parallel.yaml"))
    case.complete("intake")
    for node in BRANCHES:
        case.complete(node)

    # When it is approved
    effects = case.complete("issue")

    # Then the case is approved and the certificate is due once
    assert case.status == ("completed", "approved")
    assert of(effects, CertificateDue) == [CertificateDue("done", "business_licence", "market_regulation")]
    assert case.state["certificates"] == [
        {"type": "business_licence", "department": "market_regulation", "node": "done"}
    ]
    assert of(effects, CaseCompleted) == [CaseCompleted("approved", "done")]


def test_a_terminating_end_in_one_branch_cancels_the_others():
    # Given a case in the parallel block
    case = Case(load_valid("nested_parallel.yaml"))
    case.complete("intake")

    # When one branch rejects
    effects = case.complete("eco_review", "reject")

    # Then the case is rejected and every other task is cancelled, no scope left
    assert case.status == ("completed", "rejected")
    assert sorted(e.node for e in of(effects, TaskCancelled)) == ["fire_review", "land_review", "tax_review"]
    assert {e.reason for e in of(effects, TaskCancelled)} == {"ended"}
    assert case.state["tasks"] == {}
    assert case.state["tokens"] == {}
    assert case.state["scopes"] == {}


# -- inclusive ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "chosen"),
    [
        ({"floor_area": "600", "industry": "retail"}, ["fire_review"]),
        ({"floor_area": "600", "industry": "chemical"}, ["eco_review", "fire_review"]),
        ({"floor_area": "100", "industry": "chemical"}, ["eco_review"]),
        ({"floor_area": "100", "industry": "retail"}, ["archives_review"]),
    ],
)
def test_inclusive_join_waits_for_exactly_the_chosen_branches(data: dict[str, str], chosen: list[str]):
    # Given a case whose data selects some branches
    case = Case(load_valid("inclusive_default.yaml"), data)

    # Then only those branches (or the default alone) are open
    assert case.open_nodes() == chosen

    # When they are approved one by one, the case waits until the last
    for node in chosen[:-1]:
        case.complete(node)
        assert case.status == ("running", None)
    case.complete(chosen[-1])

    # Then the join fires and the case ends approved
    assert case.status == ("completed", "approved")
    assert case.entered("done") == 1


def test_inclusive_scope_expects_the_number_of_chosen_branches():
    # Given a case where two of three branches are chosen
    case = Case(load_valid("inclusive_default.yaml"), {"floor_area": "600", "industry": "chemical"})

    # Then the scope counts two arrivals, not three
    [scope] = case.state["scopes"].values()
    assert scope == {"join": "join", "expected": 2, "arrived": 0}

    # When one arrives
    case.complete("eco_review")

    # Then the scope has counted it and the join has not fired
    [scope] = case.state["scopes"].values()
    assert scope["arrived"] == 1
    assert case.entered("done") == 0


# -- exclusive ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capital", "outcome", "next_nodes", "status"),
    [
        ("500000", "approve", [], ("completed", "approved")),
        ("20000000", "approve", ["large"], ("running", None)),
        ("20000000", "return", ["intake"], ("running", None)),
        ("500000", "return", ["intake"], ("running", None)),
    ],
)
def test_exclusive_takes_the_first_true_branch_else_the_default(capital, outcome, next_nodes, status):
    # Given a case at the review before an exclusive gateway
    case = Case(load_valid("exclusive_loop.yaml"), {"capital": capital})
    case.complete("intake")

    # When the review decides
    case.complete("review", outcome)

    # Then the first branch whose condition holds is taken, or the default
    assert case.open_nodes() == next_nodes
    assert case.status == status


def test_exclusive_loop_starts_a_new_round_of_the_earlier_task():
    # Given a case sent back once
    case = Case(load_valid("exclusive_loop.yaml"), {"capital": "1"})
    case.complete("intake")
    case.complete("review", "return")

    # Then intake runs again as round 2, and its old decision is gone
    [task] = case.tasks("intake").values()
    assert task["round"] == 2
    assert "intake" not in case.state["decisions"]
    assert case.state["decisions"]["review"]["outcome"] == "return"

    # When both approve this time
    case.complete("intake")
    case.complete("review")

    # Then the loop is left by the default branch
    assert case.status == ("completed", "approved")
    assert case.entered("intake") == 2


TWO_WAY = """\
id: two-way
title: {zh: 分流, en: Two ways}
form:
  fields:
    - {id: x, type: number, label: {zh: 数, en: X}}
nodes:
  - {id: start, type: start, next: intake}
  - {id: intake, type: user_task, title: {zh: 受理, en: Intake}, department: fire, outcomes: {approve: route}}
  - id: route
    type: %s
    branches:
      - {to: a, when: "x > 10"}
      - {to: b, when: "x > 20"}
  - {id: a, type: user_task, title: {zh: 甲, en: A}, department: tax, outcomes: {approve: %s}}
  - {id: b, type: user_task, title: {zh: 乙, en: B}, department: bank, outcomes: {approve: %s}}
  %s
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""
EXCLUSIVE_NO_DEFAULT = TWO_WAY % ("exclusive", "done", "done", "")
INCLUSIVE_NO_DEFAULT = TWO_WAY % ("inclusive", "join", "join", "- {id: join, type: inclusive, next: done}")


@pytest.mark.parametrize(
    "template", [EXCLUSIVE_NO_DEFAULT, INCLUSIVE_NO_DEFAULT], ids=["exclusive", "inclusive"]
)
@pytest.mark.parametrize("x", [5, "not a number"], ids=["no-condition-holds", "condition-fails"])
def test_no_branch_matched_without_a_default_leaves_the_state_alone(template: str, x: Any):
    # Given a case about to reach a gateway with no default where no condition will hold
    case = Case(load(template), {"x": x})
    before = copy_state(case.state)

    # When the step reaches the gateway
    with pytest.raises(NoBranchMatched) as caught:
        step(case.definition, case.state, CompleteTask(case.task("intake"), "approve"), T0)

    # Then it refuses with a stable code, and the input state is unchanged
    assert caught.value.code == "no_branch_matched"
    assert "route" in caught.value.message
    assert case.state == before


@pytest.mark.parametrize(
    "template", [EXCLUSIVE_NO_DEFAULT, INCLUSIVE_NO_DEFAULT], ids=["exclusive", "inclusive"]
)
def test_a_gateway_with_conditions_that_hold_moves_on(template: str, load_template):
    # Given the same templates with data that satisfies a condition
    case = Case(load_template(template), {"x": 30})

    # When intake approves
    case.complete("intake")

    # Then the exclusive takes the first true branch; the inclusive every true one
    expected = ["a"] if "type: exclusive" in template else ["a", "b"]
    assert case.open_nodes() == expected


def test_no_branch_matched_leaves_the_state_alone_unless_it_is_consumed_in_place():
    # Given a case about to reach a gateway where no condition holds
    case = Case(load(EXCLUSIVE_NO_DEFAULT), {"x": 5})
    state = case.state
    before = copy_state(state)

    # When the step is applied (not in place)
    with pytest.raises(NoBranchMatched):
        step(case.definition, state, CompleteTask(case.task("intake"), "approve"), T0)

    # Then nothing was changed; in place, the documented contract is that the
    # caller discards the state, which the services do (they never use in_place)
    assert state == before
    assert "discard" in step.__doc__


# -- decisions from an earlier round ------------------------------------------


@pytest.mark.parametrize(("second_x", "end"), [(5, "approved"), (20, "fire_approved")])
def test_a_split_clears_the_decisions_of_its_block(second_x: int, end: str):
    # Given a first round where fire approved and tax sent the case back for correction
    case = Case(load_valid("inclusive_rounds.yaml"), {"x": 20})
    case.complete("intake")
    assert case.open_nodes() == ["fire_review", "tax_review"]
    case.complete("fire_review", "approve")
    case.complete("tax_review", "return")
    assert case.open_nodes() == ["fix"]

    # When the applicant corrects x and the second round runs
    case.send(SubmitCorrection(case.task("fix"), {"x": second_x}))
    case.complete("intake")
    for node in case.open_nodes():
        case.complete(node, "approve")

    # Then a condition after the join sees only this round's decisions
    assert case.status == ("completed", "approved")
    assert of(case.effects, CaseCompleted)[0].node == end
    assert ("fire_review" in case.state["decisions"]) == (second_x > 10)


# -- countersign ------------------------------------------------------------------


def test_countersign_all_waits_for_every_signer():
    # Given a joint sign-off by three departments
    case = Case(load_valid("countersign.yaml"))
    tasks = case.tasks("joint")
    assert sorted(t["department"] for t in tasks.values()) == ["bank", "fire", "tax"]
    assert {t["kind"] for t in tasks.values()} == {"signature"}

    # When two sign
    for task_id in list(tasks)[:2]:
        case.send(CompleteTask(task_id, "approve", actor=f"user-{task_id}"))
        assert case.open_nodes()[0] == "joint"

    # Then the case waits; the third signature moves it on with all three recorded
    case.send(CompleteTask(list(tasks)[2], "approve"))
    assert case.open_nodes() == ["either", "either"]
    decision = case.state["decisions"]["joint"]
    assert decision["outcome"] == "approve"
    assert sorted(s["department"] for s in decision["signatures"]) == ["bank", "fire", "tax"]


def test_countersign_all_is_decided_by_one_rejection():
    # Given a joint sign-off
    case = Case(load_valid("countersign.yaml"))
    first, *others = case.tasks("joint")

    # When one signer rejects
    effects = case.send(CompleteTask(first, "reject"))

    # Then the others are cancelled and the case takes the reject flow
    assert sorted(e.task_id for e in of(effects, TaskCancelled)) == sorted(others)
    assert {e.reason for e in of(effects, TaskCancelled)} == {"decided"}
    assert case.status == ("completed", "rejected")


def test_countersign_any_is_decided_by_the_first_signer():
    # Given the 'any' sign-off after a completed joint one
    case = Case(load_valid("countersign.yaml"))
    for task_id in list(case.tasks("joint")):
        case.send(CompleteTask(task_id, "approve"))
    first, second = case.tasks("either")

    # When the first signer approves
    effects = case.send(CompleteTask(second, "approve"))

    # Then the other task is cancelled and the case moves on
    assert [e.task_id for e in of(effects, TaskCancelled)] == [first]
    assert case.open_nodes() == ["chain"]
    assert len(case.state["decisions"]["either"]["signatures"]) == 1


def _to_chain(case: Case) -> None:
    for node in ("joint", "either"):
        case.send(CompleteTask(next(iter(case.tasks(node))), "approve"))
        for task_id in list(case.tasks(node)):
            case.send(CompleteTask(task_id, "approve"))


def test_countersign_sequential_asks_one_signer_after_another():
    # Given the sequential sign-off
    case = Case(load_valid("countersign.yaml"))
    _to_chain(case)
    signers = []

    # When each signer approves in turn
    while case.tasks("chain"):
        [task] = case.tasks("chain").values()
        signers.append((task["signer"], task["department"]))
        case.complete("chain")

    # Then they were asked one at a time, in the template's order, and the case ends approved
    assert signers == [(0, "market_regulation"), (1, "tax"), (2, "archives")]
    assert case.status == ("completed", "approved")
    assert [s["signer"] for s in case.state["decisions"]["chain"]["signatures"]] == [0, 1, 2]


def test_countersign_sequential_stops_at_a_rejection():
    # Given the sequential sign-off, first signer approved
    case = Case(load_valid("countersign.yaml"))
    _to_chain(case)
    case.complete("chain")

    # When the second rejects
    case.complete("chain", "reject")

    # Then the third is never asked
    assert case.status == ("completed", "rejected")
    assert not any(e.department == "archives" for e in of(case.history, TaskCreated))


def test_countersign_return_starts_a_new_round_with_fresh_signatures():
    # Given a sequential sign-off returned by its first signer
    case = Case(load_valid("countersign.yaml"))
    _to_chain(case)
    case.complete("chain", "return")
    case.complete("start_over")

    # Then the joint sign-off runs again as round 2 with three new signature tasks
    assert sorted({t["round"] for t in case.tasks("joint").values()}) == [2]
    assert len(case.tasks("joint")) == 3
    [token] = case.state["tokens"].values()
    assert token["signatures"] == []


# -- SLA timers -------------------------------------------------------------------


def test_sla_starts_a_reminder_and_a_breach_timer():
    # Given a task with a 5-day SLA and a reminder at 60 %
    case = Case(load_valid("sla_breach.yaml"))
    task_id = case.task("escalating")

    # Then both timers were started for that task
    started = sorted(of(case.effects, TimerStarted), key=lambda e: e.kind)
    assert [(e.kind, e.task_id, e.days, e.hours, e.fraction) for e in started] == [
        ("sla_breach", task_id, 5, None, 1.0),
        ("sla_reminder", task_id, 5, None, 0.6),
    ]


def test_reminder_notifies_and_changes_nothing_else():
    # Given a task with a pending reminder
    case = Case(load_valid("sla_breach.yaml"))
    task_id = case.task("escalating")

    # When the reminder fires
    effects = case.fire("sla_reminder")

    # Then the department is reminded; the task and its breach timer are still there
    assert effects == [Notify("reminder", "escalating", task_id, "market_regulation")]
    assert case.tasks("escalating")[task_id]["escalated"] is False
    assert list(case.timers()) == [case.timer("sla_breach", "escalating")]


def test_breach_with_escalate_keeps_the_task_open():
    # Given a task whose SLA escalates
    case = Case(load_valid("sla_breach.yaml"))
    task_id = case.task("escalating")
    case.fire("sla_reminder")

    # When the breach timer fires
    effects = case.fire("sla_breach")

    # Then the task stays open, is flagged, and the department's head is notified
    assert Notify("escalation", "escalating", task_id, "market_regulation") in effects
    assert case.state["tasks"][task_id]["escalated"] is True
    assert case.state["timers"] == {}
    assert case.status == ("running", None)

    # And the task can still be decided
    case.complete("escalating")
    assert case.open_nodes() == ["consenting"]


def test_breach_with_approve_is_silent_consent():
    # Given the task whose SLA approves on breach (16 working hours)
    case = Case(load_valid("sla_breach.yaml"))
    case.complete("escalating")
    task_id = case.task("consenting")
    [timer] = of(case.effects, TimerStarted)
    assert (timer.kind, timer.days, timer.hours) == ("sla_breach", None, 16.0)

    # When the breach timer fires
    effects = case.fire("sla_breach")

    # Then the task is decided 'approve' as silent consent with its legal basis, and the token moves on
    basis = "地方规定：逾期未答复视为同意"
    assert TaskCompleted(task_id, "consenting", "approve", True, basis) in effects
    decision = case.state["decisions"]["consenting"]
    assert decision["outcome"] == "approve"
    assert decision["silent_consent"] is True
    assert decision["legal_basis"] == basis
    assert decision["by"] is None
    assert case.open_nodes() == ["strict"]


def test_breach_with_reject_refuses():
    # Given the task whose SLA rejects on breach
    case = Case(load_valid("sla_breach.yaml"))
    case.complete("escalating")
    case.fire("sla_breach", "consenting")

    # When its breach timer fires
    case.fire("sla_breach", "strict")

    # Then the case is refused, recorded as an automatic decision
    assert case.status == ("completed", "rejected")
    assert case.state["decisions"]["strict"]["outcome"] == "reject"
    assert case.state["decisions"]["strict"]["silent_consent"] is True


def test_deciding_a_task_cancels_its_sla_timers():
    # Given a task with both SLA timers pending
    case = Case(load_valid("sla_breach.yaml"))
    pending = set(case.timers())

    # When it is decided by a person
    effects = case.complete("escalating", actor="li", opinion="ok")

    # Then both timers are cancelled and the decision names the person
    assert {e.timer_id for e in of(effects, TimerCancelled)} == pending
    assert not pending & set(case.timers())
    assert case.state["decisions"]["escalating"]["by"] == "li"
    assert "silent_consent" not in case.state["decisions"]["escalating"]


# -- corrections and the clock ------------------------------------------------------


def test_correction_pauses_the_clock_and_resumes_on_submission():
    # Given a case sent back for correction
    case = Case(load_valid("correction_deadline.yaml"), {"company_name": "old"})
    effects = case.complete("intake", "return")
    [task] = case.tasks("fix").values()
    assert task["kind"] == "correction"
    assert ClockPaused("fix") in effects
    assert case.state["paused"] == 1
    deadline = case.timer("correction_deadline", "fix")

    # When the applicant submits the correction
    effects = case.send(SubmitCorrection(case.task("fix"), {"company_name": "new"}, actor="applicant"))

    # Then the clock resumes, the deadline is cancelled, the data is updated and intake runs again
    assert ClockResumed("fix") in effects
    assert TimerCancelled(deadline) in effects
    assert case.state["paused"] == 0
    assert case.state["data"] == {"company_name": "new"}
    assert case.state["timers"] == {}
    [task] = case.tasks("intake").values()
    assert task["round"] == 2


def test_missed_correction_deadline_goes_to_on_timeout():
    # Given a case waiting for a correction
    case = Case(load_valid("correction_deadline.yaml"))
    case.complete("intake", "return")
    task_id = case.task("fix")

    # When the deadline passes
    effects = case.fire("correction_deadline")

    # Then the correction is cancelled, the clock resumes and the case lapses
    assert TaskCancelled(task_id, "fix", "deadline_missed") in effects
    assert ClockResumed("fix") in effects
    assert case.state["paused"] == 0
    assert case.status == ("completed", "withdrawn")
    assert of(effects, CaseCompleted) == [CaseCompleted("withdrawn", "lapsed")]


def test_a_clock_excluded_step_pauses_and_resumes():
    # Given a case at the review before the expert panel
    case = Case(load_valid("clock_excluded.yaml"))

    # When the review approves
    effects = case.complete("review")

    # Then the expert step, the only live branch, stops the clock (per
    # branch: no case-wide pause is counted) and has no timer
    assert ClockPaused("experts") in effects
    assert case.state["paused"] == 0
    assert case.state["held"] is True
    assert case.timers(node="experts") == {}

    # When the experts approve, the clock resumes
    effects = case.complete("experts")
    assert ClockResumed("experts") in effects
    assert case.state["paused"] == 0
    assert "held" not in case.state
    assert case.status == ("completed", "approved")


TWO_CORRECTIONS = """\
id: two-corrections
title: {zh: 两处补正, en: Two corrections}
nodes:
  - {id: start, type: start, next: split}
  - {id: split, type: parallel, next: [fix_a, fix_b]}
  - {id: fix_a, type: correction, title: {zh: 甲, en: A}, next: join}
  - {id: fix_b, type: correction, title: {zh: 乙, en: B}, next: join}
  - {id: join, type: parallel, next: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""


def test_overlapping_pauses_resume_the_clock_only_when_the_last_ends():
    # Given two corrections open at the same time
    case = Case(load(TWO_CORRECTIONS))
    assert of(case.effects, ClockPaused) == [ClockPaused("fix_a")]
    assert case.state["paused"] == 2

    # When the first is submitted
    effects = case.send(SubmitCorrection(case.task("fix_a")))

    # Then the clock stays paused until the second is
    assert of(effects, ClockResumed) == []
    effects = case.send(SubmitCorrection(case.task("fix_b")))
    assert of(effects, ClockResumed) == [ClockResumed("fix_b")]
    assert case.status == ("completed", "approved")


# -- waits, services and sub-processes ------------------------------------------------


def test_wait_node_moves_on_when_its_timer_fires():
    # Given a case after the review, in its public-notice period
    case = Case(load_valid("wait_node.yaml"))
    effects = case.complete("review")
    [started] = of(effects, TimerStarted)
    assert (started.kind, started.node, started.task_id, started.days) == ("wait", "notice", None, 7)
    assert case.state["tasks"] == {}

    # When the notice timer fires, then the short pause's
    case.fire("wait", "notice")
    [started] = of(case.effects, TimerStarted)
    assert (started.node, started.days, started.hours) == ("short_pause", None, 4.0)
    case.fire("wait", "short_pause")

    # Then the case is approved
    assert case.status == ("completed", "approved")


@pytest.mark.parametrize(("available", "outcome"), [(True, "approved"), (False, "rejected")])
def test_service_tasks_call_their_handler_and_store_the_result(available: bool, outcome: str):
    # Given a case that starts with an automated name check
    case = Case(load_valid("service_tasks.yaml"), {"company_name": "甲公司"})
    [call] = of(case.effects, ServiceCall)
    assert (call.node, call.handler) == ("name_check", "company_name_check")

    # When the handlers report
    case.send(ServiceDone(call.task_id, {"available": available}))
    case.send(ServiceDone(case.task("id_check"), {}))
    if available:
        case.complete("review")
        case.send(ServiceDone(case.task("assign_code"), {"code": "91110000MA00000000"}))

    # Then the result decided the route
    assert case.status == ("completed", outcome)
    assert case.state["results"]["name_check"] == {"available": available}


def test_call_runs_the_sub_process_in_a_frame():
    # Given a staged project
    case = Case(load_valid("subprocess_call.yaml"))
    [frame] = case.state["frames"].values()
    assert frame["process"] == "planning"
    caller = case.state["tokens"][frame["token"]]
    assert caller["node"] == "planning_stage"

    # When both stages approve
    case.complete("p_review")
    assert [f["process"] for f in case.state["frames"].values()] == ["construction"]
    case.complete("c_review")

    # Then the case is approved and the stages' outcomes are recorded as decisions
    assert case.status == ("completed", "approved")
    assert case.state["frames"] == {}
    assert case.state["decisions"]["planning_stage"]["outcome"] == "approved"
    assert case.state["decisions"]["construction_stage"]["outcome"] == "approved"


def test_an_unmapped_sub_process_rejection_ends_the_caller():
    # Given the planning stage, which maps only 'approved'
    case = Case(load_valid("subprocess_call.yaml"))

    # When planning rejects
    effects = case.complete("p_review", "reject")

    # Then the whole case is rejected at the call node
    assert case.status == ("completed", "rejected")
    assert of(effects, CaseCompleted) == [CaseCompleted("rejected", "planning_stage")]
    assert case.entered("construction_stage") == 0
    assert case.state["tokens"] == {}
    assert case.state["frames"] == {}


def test_a_mapped_sub_process_rejection_follows_its_flow():
    # Given the construction stage, which maps 'rejected'
    case = Case(load_valid("subprocess_call.yaml"))
    case.complete("p_review")

    # When construction rejects
    effects = case.complete("c_review", "reject")

    # Then the caller's 'refused' end is reached
    assert of(effects, CaseCompleted) == [CaseCompleted("rejected", "refused")]


# -- ends in an open split -----------------------------------------------------------


def test_non_terminating_end_lets_the_other_branch_finish():
    # Given a split without a join
    case = Case(load_valid("open_split.yaml"))
    assert case.open_nodes() == ["archive_copy", "main_review"]

    # When the archive copy ends first
    effects = case.complete("archive_copy")

    # Then the case goes on; the main review decides it
    assert of(effects, CaseCompleted) == []
    assert case.status == ("running", None)
    case.complete("main_review", "reject")
    assert case.status == ("completed", "rejected")


def test_terminating_end_cancels_a_branch_still_open():
    # Given a split without a join
    case = Case(load_valid("open_split.yaml"))

    # When the main review ends the case first
    effects = case.complete("main_review")

    # Then the archive copy is cancelled
    assert case.status == ("completed", "approved")
    assert [(e.node, e.reason) for e in of(effects, TaskCancelled)] == [("archive_copy", "ended")]


# -- withdraw ----------------------------------------------------------------------


def test_withdraw_cancels_every_task_and_timer():
    # Given a case with a correction open (paused, with a deadline) on one branch and a review on another
    template = TWO_CORRECTIONS.replace(
        "{id: fix_b, type: correction, title: {zh: 乙, en: B}, next: join}",
        "{id: fix_b, type: user_task, title: {zh: 乙, en: B}, department: tax, outcomes: {approve: join},"
        " sla: {days: 5, remind_at: 0.5}}",
    ).replace(
        "{id: fix_a, type: correction, title: {zh: 甲, en: A}, next: join}",
        "{id: fix_a, type: correction, title: {zh: 甲, en: A}, next: join,"
        " deadline: {days: 10}, on_timeout: lapsed}\n"
        "  - {id: lapsed, type: end, title: {zh: 撤, en: Lapsed}, outcome: withdrawn}",
    )
    case = Case(load(template))
    tasks, timers = set(case.state["tasks"]), set(case.state["timers"])
    assert len(tasks) == 2
    assert len(timers) == 3

    # When the applicant withdraws
    effects = case.send(Withdraw(actor="applicant", reason="changed my mind"))

    # Then everything open is cancelled, the clock resumes, and the case ends withdrawn
    assert {e.task_id for e in of(effects, TaskCancelled)} == tasks
    assert {e.reason for e in of(effects, TaskCancelled)} == {"withdrawn"}
    assert {e.timer_id for e in of(effects, TimerCancelled)} == timers
    assert of(effects, ClockResumed) == [ClockResumed("fix_a")]
    assert of(effects, CaseCompleted) == [CaseCompleted("withdrawn", None)]
    assert case.status == ("completed", "withdrawn")
    for key in ("tasks", "timers", "tokens", "scopes", "frames"):
        assert case.state[key] == {}, key
    assert case.state["paused"] == 0


def test_withdraw_reaches_into_sub_processes():
    # Given a case inside a sub-process
    case = Case(load_valid("subprocess_call.yaml"))
    task_id = case.task("p_review")

    # When it is withdrawn
    effects = case.send(Withdraw())

    # Then the sub-process's task and frame are gone
    assert [e.task_id for e in of(effects, TaskCancelled)] == [task_id]
    assert case.state["frames"] == {}
    assert case.status == ("completed", "withdrawn")


# -- illegal events ------------------------------------------------------------------


def _correction_case() -> Case:
    case = Case(load_valid("correction_deadline.yaml"))
    case.complete("intake", "return")
    return case


def _ended_case() -> Case:
    case = Case(load_valid("wait_node.yaml"))
    case.complete("review", "reject")
    return case


def _review_case() -> Case:
    return Case(load_valid("wait_node.yaml"))


ILLEGAL = [
    pytest.param(_review_case, lambda c: CompleteTask("t999", "approve"), "task_not_open", id="unknown-task"),
    pytest.param(
        _review_case,
        lambda c: CompleteTask(c.task("review"), "approved"),
        "outcome_not_offered",
        id="outcome-not-offered",
    ),
    pytest.param(
        _review_case,
        lambda c: CompleteTask(c.task("review"), "return"),
        "outcome_not_offered",
        id="outcome-not-on-this-node",
    ),
    pytest.param(_ended_case, lambda c: CompleteTask("t2", "approve"), "case_ended", id="case-ended"),
    pytest.param(_ended_case, lambda c: Withdraw(), "case_ended", id="withdraw-ended-case"),
    pytest.param(_review_case, lambda c: FireTimer("m999"), "timer_not_pending", id="unknown-timer"),
    pytest.param(
        _correction_case,
        lambda c: CompleteTask(c.task("fix"), "approve"),
        "wrong_task_kind",
        id="decide-a-correction",
    ),
    pytest.param(
        _review_case, lambda c: SubmitCorrection(c.task("review")), "wrong_task_kind", id="correct-a-review"
    ),
    pytest.param(
        _review_case,
        lambda c: ServiceDone(c.task("review")),
        "wrong_task_kind",
        id="service-done-on-a-review",
    ),
]


@pytest.mark.parametrize(("make_case", "make_event", "code"), ILLEGAL)
@pytest.mark.parametrize("in_place", [False, True], ids=["copy", "in-place"])
def test_illegal_events_raise_and_change_nothing(make_case, make_event, code: str, in_place: bool):
    # Given a case and an event that does not apply to it
    case = make_case()
    event = make_event(case)
    before = copy_state(case.state)

    # When it is applied
    with pytest.raises(IllegalEvent) as caught:
        step(case.definition, case.state, event, T0, in_place=in_place)

    # Then it is refused with its stable code and the state is exactly as it was
    assert caught.value.code == code
    assert case.state == before


def test_a_task_cannot_be_completed_twice():
    # Given a task that was just decided
    case = Case(load_valid("exclusive_loop.yaml"), {"capital": "1"})
    task_id = case.task("intake")
    case.complete("intake")
    before = copy_state(case.state)

    # When the same decision arrives again (a double click, a retried request)
    with pytest.raises(IllegalEvent) as caught:
        case.send(CompleteTask(task_id, "approve"))

    # Then it is refused as not open
    assert caught.value.code == "task_not_open"
    assert case.state == before


def test_a_timer_cannot_fire_twice():
    # Given a wait timer that has fired
    case = Case(load_valid("wait_node.yaml"))
    case.complete("review")
    timer_id = case.timer("wait", "notice")
    case.send(FireTimer(timer_id))

    # When it fires again (two sweepers)
    with pytest.raises(IllegalEvent) as caught:
        case.send(FireTimer(timer_id))

    # Then it is refused
    assert caught.value.code == "timer_not_pending"


@pytest.mark.parametrize(
    ("state", "event", "code"),
    [
        (None, CompleteTask("t1", "approve"), "not_started"),
        ({"schema_version": 0, "status": "running"}, Withdraw(), "schema_version"),
    ],
)
def test_events_on_a_missing_or_old_state_are_refused(state, event, code: str):
    # Given no state, or one stored by an older engine and not migrated
    definition = load_valid("wait_node.yaml")

    # When an event arrives
    with pytest.raises(IllegalEvent) as caught:
        step(definition, state, event, T0)

    # Then it is refused with its code
    assert caught.value.code == code


def test_start_on_a_running_case_is_refused():
    # Given a running case
    case = Case(load_valid("wait_node.yaml"))

    # When it is started again
    with pytest.raises(IllegalEvent) as caught:
        step(case.definition, case.state, Start({}), T0)

    # Then it is refused
    assert caught.value.code == "already_started"


# -- purity of step ---------------------------------------------------------------------


def test_step_does_not_touch_its_input():
    # Given a running case
    case = Case(load_valid("nested_parallel.yaml"))
    state = case.state
    before = copy_state(state)

    # When an event is applied (and the result is then modified)
    result = step(case.definition, state, CompleteTask(case.task("intake"), "approve"), T0)
    result.state["data"]["x"] = 1
    for token in result.state["tokens"].values():
        token["scopes"].append("mutated")

    # Then the input is as it was and shares nothing with the result
    assert state == before
    assert result.state is not state


def test_step_in_place_updates_the_given_state():
    # Given a running case
    case = Case(load_valid("nested_parallel.yaml"))
    state = case.state

    # When an event is applied in place
    result = step(case.definition, state, CompleteTask(case.task("intake"), "approve"), T0, in_place=True)

    # Then the very same dict holds the new state
    assert result.state is state
    assert sorted(t["node"] for t in state["tasks"].values()) == sorted(BRANCHES)


def test_now_is_recorded_not_read():
    # Given a case started at T0
    case = Case(load_valid("exclusive_loop.yaml"), {"capital": "1"})
    later = T0 + timedelta(days=3, hours=2)

    # When a decision is made at a later time
    case.send(CompleteTask(case.task("intake"), "approve"), now=later)

    # Then that time is recorded on the decision and on the new task
    assert case.state["decisions"]["intake"]["at"] == later.isoformat()
    [task] = case.tasks("review").values()
    assert task["created"] == later.isoformat()


def test_step_is_deterministic():
    # Given the same definition, state and event twice
    definition = load_valid("nested_parallel.yaml")
    first = step(definition, None, Start({}), T0)
    second = step(definition, None, Start({}), T0)

    # Then the results are equal, effects included
    assert first.state == second.state
    assert first.effects == second.effects


# -- stored state ------------------------------------------------------------------------


def test_a_version_0_state_is_migrated_and_runs_on():
    # Given a running case stored by a development build (schema 0: no pause counter, no certificates)
    case = Case(load_valid("wait_node.yaml"))
    old = json.loads(dump_state(case.state))
    old["schema_version"] = 0
    del old["paused"], old["certificates"]

    # When it is loaded and the review approves
    state = load_state(json.dumps(old))
    result = step(case.definition, state, CompleteTask(case.task("review"), "approve"), T0)

    # Then it was lifted to the current schema and the case moves on
    assert state["schema_version"] == SCHEMA_VERSION
    assert state["paused"] == 0
    assert state["certificates"] == []
    assert [t["kind"] for t in result.state["timers"].values()] == ["wait"]


@pytest.mark.parametrize(
    "version",
    [
        SCHEMA_VERSION + 1,
        "1",
        None,
        -1,
        True,  # JSON true is not schema version 1, although bool is an int
    ],
)
def test_a_state_from_an_unknown_schema_is_refused(version: Any):
    # Given a stored state whose schema this engine does not know
    raw = dump_state({**Case(load_valid("wait_node.yaml")).state, "schema_version": version})

    # When it is loaded
    with pytest.raises(StateVersionError) as caught:
        load_state(raw)

    # Then it is refused with a stable code
    assert caught.value.code == "state_version"


# -- names written in quotes ----------------------------------------------------------------

QUOTED = """\
id: quoted
title: {zh: 引号, en: Quoted}
nodes:
  - {id: start, type: start, next: %(next)s}
  - id: review
    type: user_task
    title: {zh: 审, en: Review}
    department: %(department)s
    outcomes: {approve: %(target)s}
  - id: joint
    type: user_task
    title: {zh: 会签, en: Joint}
    countersign: {mode: all, signers: [%(signer)s, tax]}
    outcomes: {approve: done}
  - id: done
    type: end
    title: {zh: 完, en: Done}
    outcome: approved
    certificates:
      - {type: permit, department: %(cert)s, title: {zh: 证, en: Permit}}
"""
PLAIN_NAMES = {"next": "review", "department": "fire", "target": "joint", "signer": "fire", "cert": "fire"}


def _strings_in(value: Any, path: str = "") -> list[tuple[str, type]]:
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings_in(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings_in(item, f"{path}[{index}]")]
    return [(path, type(value))] if isinstance(value, str) else []


def _run_to_end(definition: Definition) -> dict[str, Any]:
    """Approve everything, on the states step() returns (no JSON round trip in between)."""
    result = step(definition, None, Start({}), T0)
    for _ in range(4):
        if result.state["status"] != "running":
            break
        task_id = min(result.state["tasks"])
        result = step(definition, result.state, CompleteTask(task_id, "approve"), T0)
    return result.state


def test_plain_names_give_a_state_of_plain_strings():
    # Given the template with every name unquoted
    definition = load(QUOTED % PLAIN_NAMES)

    # When it runs to the end
    state = _run_to_end(definition)

    # Then it is approved and the state holds only plain str values
    assert (state["status"], state["outcome"]) == ("completed", "approved")
    assert {kind for _path, kind in _strings_in(state)} == {str}


@pytest.mark.parametrize("key", sorted(PLAIN_NAMES))
def test_quoted_names_in_a_template_do_not_leak_into_the_state(key: str):
    # Given the same template with one name written in quotes (ruamel's quoted-string
    # subclasses once reached the state, and copy_state()'s marshal refused them)
    names = dict(PLAIN_NAMES, **{key: f'"{PLAIN_NAMES[key]}"'})
    definition = load(QUOTED % names)

    # When it runs to the end
    state = _run_to_end(definition)

    # Then quoting changed nothing
    assert (state["status"], state["outcome"]) == ("completed", "approved")
    assert {kind for _path, kind in _strings_in(state)} == {str}
