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


# -- every operation, on docs/examples/operations.yaml ---------------------------------

EXAMPLE = Path(__file__).parent.parent.parent / "docs" / "examples" / "operations.yaml"


def example(decisions, durations=None):
    definition = load_definition(EXAMPLE.read_text(encoding="utf-8"))
    script = {"data": {"company_name": "甲"}, "decisions": decisions, "durations": durations or {}}
    return simulate(definition, script_from_mapping(script))


def entries(result, node):
    return [(d["outcome"], d["day"]) for d in result.decisions if d["node"] == node]


def test_unscripted_the_example_takes_every_limit_in_turn():
    result = example({})
    assert result.outcome == "approved"
    # intake 2, review 5, vote 3, inspection 4, sign-off 1
    assert result.working_days == 15


def test_a_consultation_answered_lets_the_reviewer_decide_within_the_steps_time():
    result = example({"review": ["consult:health+tax:4:2", "approve"]})
    assert entries(result, "review") == [
        ("consult:health+tax:4:2", 2.0),
        ("consult_answered", 4.0),
        ("approve", 7.0),  # the review's 5 days run from its creation on day 2
    ]
    answered = next(d for d in result.decisions if d["outcome"] == "consult_answered")
    assert answered["departments"] == ["health", "tax"]


def test_a_consultation_that_lapses_holds_the_decision_until_its_limit():
    result = example({"review": ["consult:health:7:lapse", "approve"]})
    assert entries(result, "review") == [
        ("consult:health:7:lapse", 2.0),
        ("consult_lapsed", 9.0),
        ("approve", 9.0),  # not before the limit, though the review's own time ended on day 7
    ]
    assert result.working_days == 17


def test_a_consultation_by_default_answers_at_its_three_day_limit():
    result = example({"review": ["consult:health", "approve"]})
    assert entries(result, "review")[1] == ("consult_answered", 5.0)


def test_a_delegation_comes_back_and_the_reviewer_decides():
    result = example({"review": ["delegate:2", "reject"]})
    assert entries(result, "review") == [("delegate:2", 2.0), ("delegate_answered", 4.0), ("reject", 7.0)]
    assert result.outcome == "rejected"
    # without days the colleague takes the step's time
    assert entries(example({"review": ["delegate", "approve"]}), "review")[1] == ("delegate_answered", 7.0)


def test_a_signer_added_after_is_removed_by_the_reviewer_and_never_signs():
    result = example({"review": ["add_signer:tax:after", "remove_signer:tax", "approve", "reject"]})
    # the fourth entry (which the added signer would have taken) is unused: the case is approved
    assert result.outcome == "approved"
    assert entries(result, "review") == [
        ("add_signer:tax:after", 2.0),
        ("remove_signer:tax", 2.0),
        ("approve", 7.0),
    ]


def test_an_added_signer_removed_before_acting_lets_the_approval_count():
    kept = example({"review": ["add_signer:tax:after", "approve", "reject"]})
    assert kept.outcome == "rejected"  # the added signer refuses
    removed = example({"review": ["add_signer:tax:after", "approve", "remove_signer"]})
    assert removed.outcome == "approved"
    assert ("remove_signer", 7.0) in entries(removed, "review")


def test_removing_a_signer_never_added_fails_the_run():
    with pytest.raises(SimulationError) as failed:
        example({"review": ["remove_signer:bank"]})
    assert "no such added signer" in failed.value.message


def test_a_transfer_passes_the_task_and_the_receiving_department_decides_within_its_time():
    # 转办 at once; the task's 5 days run on (as the live breach timer does): the
    # archives decide when they are up, not 5 days later
    result = example({"review": ["transfer:archives", "approve"]})
    assert entries(result, "review") == [("transfer:archives", 2.0), ("approve", 7.0)]
    assert result.working_days == example({"review": ["approve"]}).working_days


def test_vote_signatures_are_scripted_one_per_signer_and_the_vote_decides_early():
    # 票签 with a two-thirds pass ratio over tax, bank and archives
    passed = example({"vote": ["approve", "reject", "approve"]})
    assert passed.outcome == "approved"
    assert [o for o, _ in entries(passed, "vote")] == ["approve", "reject", "approve"]
    lost = example({"vote": ["reject", "reject", "approve"]})
    assert lost.outcome == "rejected"
    assert [o for o, _ in entries(lost, "vote")] == ["reject", "reject"]  # the third is cancelled
    early = example({"vote": ["approve", "approve", "reject"]})
    assert [o for o, _ in entries(early, "vote")] == ["approve", "approve"]


def test_a_take_back_with_an_outcome_decides_and_takes_it_back():
    result = example({"review": ["take_back:approve", "reject"]})
    assert result.outcome == "rejected"
    # the task given back keeps its time limit (day 7): it is decided again at once
    assert entries(result, "review") == [("take_back:approve", 7.0), ("reject", 7.0)]
    # a decision that ends the case cannot be taken back: the run says so
    with pytest.raises(SimulationError) as failed:
        example({"sign_off": ["take_back:reject"]})
    assert "ended the case" in failed.value.message
    assert failed.value.script == ("decisions", "sign_off", 0)


def test_the_decision_that_ended_the_sub_process_is_taken_back_and_the_sign_off_keeps_its_entry():
    result = example({"inspect": ["take_back", "approve"], "sign_off": ["reject"]})
    assert entries(result, "inspect") == [("take_back", 14.0), ("approve", 14.0)]
    # the sign-off the take-back cancelled never decided: its entry went to the next one
    assert entries(result, "sign_off") == [("reject", 15.0)]
    assert result.trace.count("check_done") == 2


def test_a_return_from_after_the_call_runs_the_path_again():
    result = example({"sign_off": ["return:review", "approve"]})
    assert result.trace.count("inspect") == 2
    assert result.outcome == "approved"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("consult:Health", "names the departments"),
        ("consult:health:31", "from 1 to 30"),
        ("consult:health:3:5", "give 0 to the limit 3"),
        ("consult:health+health", "names a department twice"),
        ("delegate:soon", "gives no number of working days"),
        ("take_back:maybe", "not offered"),
        ("add_signer:tax:during", "'before' or 'after'"),
        ("consult", "names no department"),
    ],
)
def test_an_operation_that_cannot_be_read_fails_at_its_entry(entry, says):
    with pytest.raises(SimulationError) as failed:
        example({"review": [entry]})
    assert says in failed.value.message
    assert failed.value.script == ("decisions", "review", 0)


def test_the_dry_run_allows_the_consultation_limits_the_service_allows():
    from govflow.collab import services
    from govflow.engine import simulate as dry_run

    assert (dry_run.DEFAULT_CONSULT_DAYS, dry_run.MAX_CONSULT_DAYS) == (
        services.DEFAULT_CONSULT_DAYS,
        services.MAX_CONSULT_DAYS,
    )


# -- the dry run's time matches the live system's -----------------------------------


def test_a_signer_added_before_decides_within_the_reviewers_time():
    # review: created day 2, 5 days; tax added before decides on day 7 (its own 5 days),
    # and the reviewer's time has run on meanwhile: the review decides on day 7, not 12
    result = example({"review": ["add_signer:tax:before", "approve", "approve"]})
    assert entries(result, "review") == [("add_signer:tax:before", 2.0), ("approve", 7.0), ("approve", 7.0)]
    assert result.working_days == 15  # as unscripted: the added signer cost no extra time
    # a signer who takes longer than the reviewer's time holds the decision until it signs
    slow = example({"review": ["add_signer:tax:before", "approve", "approve"]}, {"review": 8})
    assert entries(slow, "review")[1:] == [("approve", 10.0), ("approve", 10.0)]


def test_a_signer_added_before_and_removed_by_a_head_lets_the_reviewer_decide_in_time():
    result = example({"review": ["add_signer:tax:before", "approve", "remove_signer"]})
    assert entries(result, "review") == [
        ("add_signer:tax:before", 2.0),
        ("remove_signer", 2.0),  # removed at once, before it acted
        ("approve", 7.0),  # the reviewer's own time, not 5 days after the removal
    ]


def test_a_timeout_entry_of_a_task_cancelled_by_a_take_back_is_handed_on():
    # intake's approval creates the review, whose entry is 'timeout'; the take-back cancels
    # the review before it decided, so the review created by the second approval times out
    definition = load_definition(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "sla: {days: 5}\n", "sla: {days: 5, on_breach: reject, legal_basis: 逾期}\n", 1
        )
    )
    decisions = {"intake": ["take_back", "approve"], "review": ["timeout"]}
    script = {"data": {"company_name": "甲"}, "decisions": decisions}
    result = simulate(definition, script_from_mapping(script))
    assert result.outcome == "rejected"
    assert [d for d in result.decisions if d["node"] == "review"] == [
        {"node": "review", "outcome": "reject", "day": 7.0, "silent_consent": True, "legal_basis": "逾期"}
    ]


def test_a_timeout_after_a_take_back_falls_due_when_the_task_first_was():
    definition = load_definition(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "sla: {days: 2}\n", "sla: {days: 2, on_breach: reject, legal_basis: 逾期}\n", 1
        )
    )
    script = {"data": {"company_name": "甲"}, "decisions": {"intake": ["take_back", "timeout"]}}
    result = simulate(definition, script_from_mapping(script))
    assert result.outcome == "rejected"
    assert result.working_days == 2  # the intake's 2 days from day 0, not 2 more after the take-back
