"""The engine's task-flow operations without a database (issue 19, part A):
票签, 加签/减签, 退回 with 回到我 and inside a branch, 撤回, 转办, and the
template keys they read."""

import pytest

from govflow.engine import CompleteTask, Start, check_definition, step
from govflow.engine.events import AddSigner, RemoveSigner, ReturnTask, TakeBack, TransferTask
from govflow.engine.operations import can_take_back, return_targets
from govflow.engine.problems import IllegalEvent

from .conftest import DEPARTMENTS, T0

pytestmark = pytest.mark.operations

HEAD = """
id: ops
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: a}
"""
TAIL = """
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
  - {id: no, type: end, title: {zh: 不通过, en: No}, outcome: rejected}
"""


def load(body: str):
    definition, problems = check_definition(HEAD + body + TAIL, departments=DEPARTMENTS)
    assert problems == [], problems
    return definition


def problems_of(body: str) -> list[str]:
    return [p.message for p in check_definition(HEAD + body + TAIL, departments=DEPARTMENTS)[1]]


def task_at(state, node, department=None):
    return next(
        t
        for t, task in sorted(state["tasks"].items())
        if task["node"] == node and (department is None or task["department"] == department)
    )


def run(definition, *events):
    state = step(definition, None, Start({"x": 1}), T0).state
    for make in events:
        state = step(definition, state, make(state), T0).state
    return state


VOTE = """
  - id: a
    type: user_task
    title: {zh: 票签, en: Vote}
    countersign: {mode: vote, signers: [fire, tax, bank], pass_ratio: 2/3, weights: [2, 1, 1]}
    outcomes: {approve: ok, reject: no}
"""


def test_a_vote_decides_as_soon_as_the_weight_is_certain():
    definition = load(VOTE)
    # fire weighs 2 of 4: its approval alone is not 2/3; tax's approval makes 3 of 4
    state = run(definition, lambda s: CompleteTask(task_at(s, "a", "fire"), "approve"))
    assert state["status"] == "running"
    state = step(definition, state, CompleteTask(task_at(state, "a", "tax"), "approve"), T0).state
    assert state["outcome"] == "approved"
    # fire against: 2 of 4 can no longer reach 2/3, decided at once
    state = run(definition, lambda s: CompleteTask(task_at(s, "a", "fire"), "reject"))
    assert state["outcome"] == "rejected"


def test_a_vote_needs_a_ratio_and_a_reject_outcome():
    broken = VOTE.replace("pass_ratio: 2/3, ", "").replace("reject: no", "return: a")
    messages = problems_of(broken)
    assert any("pass_ratio" in m for m in messages)
    assert any("'reject' outcome" in m for m in messages)
    assert any("pass_ratio" in m for m in problems_of(VOTE.replace("2/3", "3/2")))
    assert any("weights" in m for m in problems_of(VOTE.replace("[2, 1, 1]", "[2, 1]")))


CHAIN = """
  - id: a
    type: user_task
    title: {zh: 甲, en: A}
    department: market_regulation
    outcomes: {approve: b, reject: no}
  - {id: b, type: user_task, title: {zh: 乙, en: B}, department: tax, outcomes: {approve: c, reject: no}}
  - id: c
    type: user_task
    title: {zh: 丙, en: C}
    department: fire
    outcomes: {approve: ok, reject: no}
"""


def test_a_return_with_come_back_skips_the_steps_between():
    definition = load(CHAIN)
    state = run(
        definition,
        lambda s: CompleteTask(task_at(s, "a"), "approve"),
        lambda s: CompleteTask(task_at(s, "b"), "approve"),
    )
    assert return_targets(definition, state, task_at(state, "c")) == ["a", "b"]
    state = step(definition, state, ReturnTask(task_at(state, "c"), "a", come_back=True), T0).state
    state = step(definition, state, CompleteTask(task_at(state, "a"), "approve"), T0).state
    assert [t["node"] for t in state["tasks"].values()] == ["c"]
    assert "b" in state["decisions"]  # b was not on the way back; its decision stands


def test_return_to_limits_the_targets_and_none_forbids():
    definition = load(CHAIN.replace("department: fire\n", "department: fire\n    return_to: [b]\n"))
    state = run(
        definition,
        lambda s: CompleteTask(task_at(s, "a"), "approve"),
        lambda s: CompleteTask(task_at(s, "b"), "approve"),
    )
    assert return_targets(definition, state, task_at(state, "c")) == ["b"]
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, ReturnTask(task_at(state, "c"), "a"), T0)
    assert refused.value.code == "return_target_not_allowed"
    assert problems_of(CHAIN.replace("department: fire\n", "department: fire\n    return_to: [ok]\n"))


def test_a_signer_added_before_must_approve_first_and_can_be_removed():
    definition = load(CHAIN)
    state = run(definition, lambda s: AddSigner(task_at(s, "a"), "fire", "before"))
    owner = task_at(state, "a", "market_regulation")
    with pytest.raises(IllegalEvent):
        step(definition, state, CompleteTask(owner, "approve"), T0)
    removed = step(definition, state, RemoveSigner(owner, task_at(state, "a", "fire")), T0).state
    assert step(definition, removed, CompleteTask(owner, "approve"), T0).state["tasks"]
    signed = step(definition, state, CompleteTask(task_at(state, "a", "fire"), "approve"), T0).state
    after = step(definition, signed, CompleteTask(owner, "approve"), T0).state
    assert [t["node"] for t in after["tasks"].values()] == ["b"]


def test_a_signer_added_after_holds_the_approval_and_its_refusal_decides():
    definition = load(CHAIN)
    state = run(
        definition,
        lambda s: AddSigner(task_at(s, "a"), "fire", "after"),
        lambda s: CompleteTask(task_at(s, "a"), "approve"),
    )
    assert [t["department"] for t in state["tasks"].values()] == ["fire"]
    approved = step(definition, state, CompleteTask(task_at(state, "a"), "approve"), T0).state
    assert [t["node"] for t in approved["tasks"].values()] == ["b"]
    refused = step(definition, state, CompleteTask(task_at(state, "a"), "reject"), T0).state
    assert refused["outcome"] == "rejected"


def test_a_take_back_restores_the_task_and_closes_once_the_next_step_decides():
    definition = load(CHAIN)
    state = run(definition, lambda s: CompleteTask(task_at(s, "a"), "approve"))
    decided = next(iter(state["undo"]))
    back = step(definition, state, TakeBack(decided), T0).state
    assert [t["node"] for t in back["tasks"].values()] == ["a"]
    assert back["rounds"] == {"a": 1}
    moved = step(definition, state, CompleteTask(task_at(state, "b"), "approve"), T0).state
    assert not can_take_back(moved, decided)
    with pytest.raises(IllegalEvent):
        step(definition, moved, TakeBack(decided), T0)


QUICK_VOTE = """
  - id: a
    type: user_task
    title: {zh: 票签, en: Vote}
    countersign: {mode: vote, signers: [fire, tax, bank], pass_ratio: 1/3}
    outcomes: {approve: b, reject: no}
  - {id: b, type: user_task, title: {zh: 乙, en: B}, department: tax, outcomes: {approve: ok, reject: no}}
"""


def test_a_take_back_gives_back_an_added_signer_as_added():
    """A vote decided by one signature while a signer added before another
    was still out; taking the decision back gives every task back, the added
    one still added (for the reviewer's new task), its approval no vote."""
    definition = load(QUICK_VOTE)
    state = run(
        definition,
        lambda s: AddSigner(task_at(s, "a", "fire"), "natural_resources", "before"),
        lambda s: CompleteTask(task_at(s, "a", "tax"), "approve"),
    )
    assert [t["node"] for t in state["tasks"].values()] == ["b"]
    decided = next(iter(state["undo"]))
    back = step(definition, state, TakeBack(decided), T0).state
    fire, added = task_at(back, "a", "fire"), task_at(back, "a", "natural_resources")
    assert back["tasks"][added]["added"] == {"for": fire, "position": "before"}
    assert back["tasks"][fire]["waiting"] == [added]
    with pytest.raises(IllegalEvent):  # the signer added before still has to approve first
        step(definition, back, CompleteTask(fire, "approve"), T0)
    signed = step(definition, back, CompleteTask(added, "approve"), T0).state
    assert signed["tokens"][signed["tasks"][fire]["token"]]["signatures"] == []
    voted = step(definition, signed, CompleteTask(fire, "approve"), T0).state
    assert [t["node"] for t in voted["tasks"].values()] == ["b"]


def test_a_transfer_changes_the_department_only():
    definition = load(CHAIN)
    state = run(definition, lambda s: TransferTask(task_at(s, "a"), "bank"))
    (task,) = state["tasks"].values()
    assert (task["node"], task["department"]) == ("a", "bank")
    forbidding = load(CHAIN.replace("department: fire\n", "department: fire\n    transfer: none\n"))
    state = run(
        forbidding,
        lambda s: CompleteTask(task_at(s, "a"), "approve"),
        lambda s: CompleteTask(task_at(s, "b"), "approve"),
    )
    with pytest.raises(IllegalEvent):
        step(forbidding, state, TransferTask(task_at(state, "c"), "bank"), T0)
