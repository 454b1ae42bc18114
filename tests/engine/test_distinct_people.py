"""审批人去重 in the engine (issue 19): a countersign's signers are different
people by default; the engine refuses a second signature of one person in a
round unless the template opts out with `distinct_people: false`."""

import pytest

from govflow.engine import CompleteTask, Start, check_definition, step
from govflow.engine.events import TakeBack
from govflow.engine.problems import IllegalEvent

from .conftest import DEPARTMENTS, T0

pytestmark = pytest.mark.operations

TEMPLATE = """
id: signers
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: sign}
  - id: sign
    title: {zh: 会签, en: Countersign}
    type: user_task
    countersign: {mode: %(mode)s, signers: [fire, tax, bank]%(extra)s}
    outcomes: {approve: after, reject: no}
  - {id: after, title: {zh: 复核, en: Check}, type: user_task, department: fire, outcomes: {approve: ok}}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
  - {id: no, type: end, title: {zh: 不通过, en: No}, outcome: rejected}
"""


def started(mode="all", extra=""):
    definition, problems = check_definition(
        TEMPLATE % {"mode": mode, "extra": extra}, departments=DEPARTMENTS
    )
    assert problems == [], problems
    state = step(definition, None, Start({"x": 1}), T0).state
    tasks = sorted(state["tasks"], key=lambda t: int(t[1:]))
    return definition, state, tasks


def test_by_default_one_person_cannot_sign_twice_in_a_round():
    definition, state, (first, second, third) = started()
    assert definition.nodes["sign"].countersign.distinct_people is True
    state = step(definition, state, CompleteTask(first, "approve", actor="u1"), T0).state
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, CompleteTask(second, "approve", actor="u1"), T0)
    assert refused.value.code == "distinct_people"
    assert refused.value.message.startswith("this countersign needs a different person for each signature")
    # other people sign, and the step is decided
    state = step(definition, state, CompleteTask(second, "approve", actor="u2"), T0).state
    state = step(definition, state, CompleteTask(third, "approve", actor="u3"), T0).state
    assert [s["by"] for s in state["decisions"]["sign"]["signatures"]] == ["u1", "u2", "u3"]
    # the next step is no signature: the same person may decide it
    after = next(iter(state["tasks"]))
    assert (
        step(definition, state, CompleteTask(after, "approve", actor="u1"), T0).state["status"] == "completed"
    )


def test_a_sequential_and_a_vote_countersign_refuse_it_too():
    for mode, extra in (("sequential", ""), ("vote", ", pass_ratio: 1")):
        definition, state, tasks = started(mode, extra)
        state = step(definition, state, CompleteTask(tasks[0], "approve", actor="u1"), T0).state
        following = sorted(state["tasks"], key=lambda t: int(t[1:]))[0]
        with pytest.raises(IllegalEvent) as refused:
            step(definition, state, CompleteTask(following, "approve", actor="u1"), T0)
        assert refused.value.code == "distinct_people", mode


def test_the_template_may_let_one_person_sign_twice():
    definition, state, (first, second, third) = started(extra=", distinct_people: false")
    for task in (first, second, third):
        state = step(definition, state, CompleteTask(task, "approve", actor="u1"), T0).state
    assert [s["by"] for s in state["decisions"]["sign"]["signatures"]] == ["u1", "u1", "u1"]


def test_a_signature_taken_back_no_longer_counts_and_its_signer_may_sign_another():
    definition, state, (first, second, _third) = started()
    state = step(definition, state, CompleteTask(first, "approve", actor="u1"), T0).state
    state = step(definition, state, TakeBack(first, actor="u1"), T0).state
    assert (
        step(definition, state, CompleteTask(second, "approve", actor="u1"), T0).state["status"] == "running"
    )


def test_signatures_without_an_actor_are_no_person():
    # (silent consent and the engine's own decisions carry no actor)
    definition, state, (first, second, _third) = started()
    state = step(definition, state, CompleteTask(first, "approve"), T0).state
    state = step(definition, state, CompleteTask(second, "approve"), T0).state
    assert state["status"] == "running"
