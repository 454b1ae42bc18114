"""simulate_process decision files script the task-flow operations (issue 19, part A):
`return:<step>[:come_back]`, `take_back`, `transfer:<department>`,
`add_signer:<department>:<before|after>`."""

from pathlib import Path

import pytest

from govflow.engine import load_definition
from govflow.engine.simulate import SimulationError, script_from_mapping, simulate

pytestmark = pytest.mark.operations

REVIEW = Path(__file__).parent.parent / "data" / "services" / "review.yaml"
DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}


def run(decisions):
    definition = load_definition(REVIEW.read_text(encoding="utf-8"))
    return simulate(definition, script_from_mapping({"data": DATA, "decisions": decisions}))


def test_a_scripted_return_runs_the_block_again():
    result = run({"fire": ["return:intake", "approve"], "intake": ["approve", "approve"]})
    assert result.outcome == "approved"
    assert result.trace.count("intake") == 2
    assert result.trace.count("split") == 2
    assert {"node": "fire", "outcome": "return:intake", "day": 5.0} in result.decisions


def test_a_scripted_take_back_decides_the_step_again():
    result = run({"intake": ["take_back", "reject"]})
    assert result.outcome == "rejected"
    assert [d["outcome"] for d in result.decisions if d["node"] == "intake"] == ["take_back", "reject"]


def test_scripted_transfer_and_added_signers_are_decided_by_the_next_entries():
    assert run({"fire": ["transfer:bank", "approve"]}).outcome == "approved"
    after = run({"intake": ["add_signer:fire:after", "approve", "reject"]})
    assert after.outcome == "rejected"  # the signer added after refuses
    before = run({"intake": ["add_signer:bank:before", "approve", "approve"]})
    assert before.outcome == "approved"


def test_a_return_to_a_step_not_offered_fails_the_run():
    with pytest.raises(SimulationError) as failed:
        run({"intake": ["return:fire"]})
    assert "cannot send the case back" in failed.value.message
