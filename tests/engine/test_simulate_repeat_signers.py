"""simulate_process scripts 审批人去重 (issue 19): `signers` names who takes
each node's tasks; the template's `repeat_signer` then approves a step at once
in the name of who decided an earlier one, or fails the run at the entry
where it wants a different person."""

from pathlib import Path

import pytest

from govflow.engine import load_definition
from govflow.engine.repeat_signers import approvable_automatically
from govflow.engine.simulate import SimulationError, script_from_mapping, simulate

pytestmark = pytest.mark.operations

TEMPLATE = """
id: test_repeat_signer
title: {zh: 测试审批人去重, en: Test repeat signers}
%(rule)s
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: first}
  - id: first
    type: user_task
    title: {zh: 初审, en: First review}
    department: market_regulation
    sla: {days: 2}
    outcomes: {approve: middle, reject: rejected}
  - id: middle
    type: user_task
    title: {zh: 消防审查, en: Fire review}
    department: fire
    sla: {days: 3}
    outcomes: {approve: second, reject: rejected}
  - id: second
    type: user_task
    title: {zh: 复审, en: Second review}
    department: market_regulation
    sla: {days: 4}
    outcomes: {approve: sign, reject: rejected}
  - id: sign
    type: user_task
    title: {zh: 双人审核, en: Two-person check}
    countersign: {mode: all, signers: [market_regulation, market_regulation]}
    sla: {days: 1}
    outcomes: {approve: approved, reject: rejected}
  - {id: approved, type: end, title: {zh: 准予许可, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予许可, en: Rejected}, outcome: rejected}
"""


def run(signers, rule="", decisions=None):
    definition = load_definition(TEMPLATE % {"rule": rule})
    script = {"data": {"company_name": "甲"}, "signers": signers, "decisions": decisions or {}}
    return simulate(definition, script_from_mapping(script))


def test_unscripted_every_step_has_a_person_of_its_own():
    result = run({})
    assert result.working_days == 10  # 2 + 3 + 4 + 1
    assert not [d for d in result.decisions if "repeat_signer" in d]


def test_auto_approve_approves_the_same_persons_later_step_at_once():
    result = run({"first": "wang", "second": "wang"}, "repeat_signer: auto_approve", {"second": ["reject"]})
    # the scripted rejection is never used: the step is approved in wang's name on day 5
    assert result.outcome == "approved"
    assert {"node": "second", "outcome": "approve", "day": 5.0, "repeat_signer": "first"} in result.decisions
    assert result.working_days == 6  # the second review took no time


def test_consecutive_only_right_after_the_persons_own_decision():
    rule = "repeat_signer: auto_approve_consecutive"
    assert run({"first": "wang", "second": "wang"}, rule).working_days == 10  # fire decided between
    after = run({"middle": "wang", "second": "wang"}, rule)
    assert {"node": "second", "outcome": "approve", "day": 5.0, "repeat_signer": "middle"} in after.decisions


def test_a_two_person_check_and_refuse_fail_the_run_at_the_signers_entry():
    with pytest.raises(SimulationError) as failed:
        run({"first": "wang", "sign": ["li", "wang"]})
    assert "has already decided 'first'" in failed.value.message
    assert failed.value.script == ("signers", "sign", 1)
    for rule in ("", "repeat_signer: refuse"):  # refuse is the default
        with pytest.raises(SimulationError) as refused:
            run({"first": "wang", "second": "wang"}, rule)
        assert refused.value.script == ("signers", "second", None)
    assert run({"first": "wang", "second": "wang"}, "repeat_signer: allow").working_days == 10


def test_a_step_given_back_by_a_take_back_keeps_its_person_and_is_no_repeat():
    result = run({"first": "wang"}, decisions={"first": ["take_back", "approve"]})
    assert result.outcome == "approved"
    assert not [d for d in result.decisions if "repeat_signer" in d]


def test_the_shipped_templates_run_as_before_unscripted():
    root = Path(__file__).resolve().parents[2] / "workflows"
    for path in sorted(root.glob("*.yaml")):
        definition = load_definition(path.read_text(encoding="utf-8"))
        result = simulate(definition, script_from_mapping({}))
        assert not [d for d in result.decisions if "repeat_signer" in d], path.name


FOOD = (
    Path(__file__).resolve().parents[1] / "data" / "workflows" / "valid" / "food_licence_notice.yaml"
).read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", ["auto_approve", "auto_approve_consecutive"])
def test_an_objection_review_is_never_approved_in_the_name_of_an_earlier_signer(rule):
    """公示异议: the review weighs what the public raised, which no earlier
    signature has seen; the scripted rejection is the one that counts."""
    definition = load_definition(FOOD.replace("repeat_signer: allow", f"repeat_signer: {rule}"))
    assert not approvable_automatically(definition, definition.nodes["objection_review"])
    assert approvable_automatically(definition, definition.nodes["review"])
    script = {
        "signers": {"inspection": "wang", "objection_review": "wang"},
        "decisions": {"notice": "objection", "objection_review": "reject"},
    }
    result = simulate(definition, script_from_mapping(script))
    assert result.outcome == "rejected"
    assert not [d for d in result.decisions if "repeat_signer" in d]
