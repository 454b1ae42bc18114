"""审批人去重 in the engine (issue 19): a countersign's signers are different
people by default; the engine refuses a second signature of one person in a
round unless the template opts out with `distinct_people: false`."""

import pytest

from govflow.engine import CompleteTask, Start, check_definition, step
from govflow.engine.effects import DecisionTakenBack
from govflow.engine.events import AddSigner, TakeBack
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


# A 票签 where fire's vote weighs as much as tax's and bank's together.
VOTE = ", pass_ratio: 2/3, weights: [2, 1, 1]"


def taken_back(definition, state, task_id):
    """Take back the decision of `task_id`: the state and the task given back."""
    result = step(definition, state, TakeBack(task_id), T0)
    (back,) = [e for e in result.effects if isinstance(e, DecisionTakenBack)]
    return result.state, back.again


def refusal(definition, state, event):
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, event, T0)
    return refused.value.code


def test_an_approval_held_for_a_signer_added_after_it_is_a_signature_of_the_round():
    # (found by the property test on the task_flow template: the approval
    # held for a 后加签 signer was not counted, so its signer signed again,
    # and the round ended with two signatures of one person)
    definition, state, (fire, tax, bank) = started("vote", VOTE)
    state = step(definition, state, CompleteTask(tax, "approve", actor="p1"), T0).state
    state = step(definition, state, CompleteTask(bank, "approve", actor="p2"), T0).state
    state = step(definition, state, AddSigner(fire, "natural_resources", "after"), T0).state
    # p1 takes back the tax signature and signs fire's, held until natural_resources approves
    state, tax = taken_back(definition, state, tax)
    state = step(definition, state, CompleteTask(fire, "approve", actor="p1"), T0).state
    assert list(state["tokens"]["k1"]["held"]) == [fire]

    # The tax signature given back is a second signature for p1 now
    assert refusal(definition, state, CompleteTask(tax, "approve", actor="p1")) == "distinct_people"

    # p3 signs it; the added signer approves, the held approval counts and decides the vote
    state = step(definition, state, CompleteTask(tax, "approve", actor="p3"), T0).state
    (added,) = state["tasks"]
    state = step(definition, state, CompleteTask(added, "approve", actor="p1"), T0).state
    signatures = state["decisions"]["sign"]["signatures"]
    assert [(s["department"], s["by"]) for s in signatures] == [("bank", "p2"), ("tax", "p3"), ("fire", "p1")]
    assert state["decisions"]["sign"]["outcome"] == "approve"


def test_a_held_approval_taken_back_frees_its_signer():
    definition, state, (fire, tax, _bank) = started("vote", VOTE)
    state = step(definition, state, AddSigner(fire, "natural_resources", "after"), T0).state
    state = step(definition, state, CompleteTask(fire, "approve", actor="p1"), T0).state
    assert refusal(definition, state, CompleteTask(tax, "approve", actor="p1")) == "distinct_people"
    state, _fire = taken_back(definition, state, fire)
    assert "held" not in state["tokens"]["k1"]
    state = step(definition, state, CompleteTask(tax, "approve", actor="p1"), T0).state
    assert [s["by"] for s in state["tokens"]["k1"]["signatures"]] == ["p1"]


def test_a_signature_signed_again_after_its_own_take_back_is_not_a_second_one():
    for mode, extra in (("all", ""), ("vote", VOTE)):
        definition, state, (_fire, tax, bank) = started(mode, extra)
        state = step(definition, state, CompleteTask(bank, "approve", actor="p2"), T0).state
        state = step(definition, state, CompleteTask(tax, "approve", actor="p1"), T0).state
        state, tax = taken_back(definition, state, tax)
        # the take-back removed p1's own signature only
        assert [s["by"] for s in state["tokens"]["k1"]["signatures"]] == ["p2"], mode
        assert refusal(definition, state, CompleteTask(tax, "approve", actor="p2")) == "distinct_people"
        state = step(definition, state, CompleteTask(tax, "approve", actor="p1"), T0).state
        assert sorted(s["by"] for s in state["tokens"]["k1"]["signatures"]) == ["p1", "p2"], mode


def test_signatures_without_an_actor_are_no_person():
    # (silent consent and the engine's own decisions carry no actor)
    definition, state, (first, second, _third) = started()
    state = step(definition, state, CompleteTask(first, "approve"), T0).state
    state = step(definition, state, CompleteTask(second, "approve"), T0).state
    assert state["status"] == "running"
