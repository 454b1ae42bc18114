"""The soundness rules one by one (docs/process-language.md, "Soundness:
what validation guarantees"): what each refuses, where it points, and what
it deliberately still accepts. tests/data/workflows/invalid/ holds one file
per refusal; these tests cover the keys and the cases a file cannot show."""

from __future__ import annotations

import pytest

from govflow.engine import CompleteTask, Problem, Start, check_definition, step
from govflow.engine.runtime import CaseCompleted, TaskCancelled, TaskCreated

from .conftest import DEPARTMENTS, HANDLERS, T0, load

HEAD = """\
id: demo
title: {zh: 演示, en: Demo}
form:
  fields:
    - {id: x, type: number, label: {zh: x, en: x}}
nodes:
  - {id: start, type: start, next: split}
"""
DONE = "  - {id: done, type: end, title: {zh: 通过, en: Approved}, outcome: approved}\n"
REFUSED = "  - {id: refused, type: end, title: {zh: 否决, en: Refused}, outcome: rejected}\n"


def document(nodes: str, tail: str = "", *, head: str = HEAD) -> str:
    """The template: `nodes` after the start, then the ends they name."""
    return head + nodes + DONE + (REFUSED if "refused" in nodes else "") + tail


def check(nodes: str, tail: str = "", *, head: str = HEAD) -> list[str]:
    _definition, problems = check_definition(
        document(nodes, tail, head=head), departments=DEPARTMENTS, handlers=HANDLERS
    )
    return [f"{p.line}:{p.col}: {p.message}" for p in problems]


def messages(nodes: str, tail: str = "", *, head: str = HEAD) -> list[str]:
    return [line.split(": ", 1)[1] for line in check(nodes, tail, head=head)]


def task(node_id: str, department: str, outcomes: str) -> str:
    return (
        f"  - {{id: {node_id}, type: user_task, title: {{zh: {node_id}, en: {node_id}}}, "
        f"department: {department}, outcomes: {{{outcomes}}}}}\n"
    )


BLOCK = "  - {id: split, type: parallel, next: [a, b]}\n  - {id: join, type: parallel, next: done}\n"


# -- countersign: distinct people ------------------------------------------------


def test_signers_are_distinct_people_unless_the_template_opts_out():
    # Given a countersign naming one department twice: by default, and with the opt-out
    twice = "  - {id: split, type: user_task, title: {zh: s, en: s}, outcomes: {approve: done},\n"
    default = twice + "     countersign: {mode: all, signers: [market_regulation, market_regulation]}}\n"
    opted_out = twice + (
        "     countersign: {mode: all, distinct_people: false,\n"
        "                   signers: [market_regulation, market_regulation]}}\n"
    )

    # When both are checked
    definition = load(document(default))
    refused = check(opted_out)

    # Then the default asks for two different people; the opt-out may not name it twice
    sign = definition.nodes["split"].countersign
    assert sign is not None
    assert (sign.signers, sign.distinct_people) == (("market_regulation", "market_regulation"), True)
    assert refused == [
        "10:49: node 'split' countersign names department 'market_regulation' twice with "
        "distinct_people: false; one person could sign both, so drop the opt-out (two different "
        "people of the department then sign) or name the department once"
    ]
    other = load(document(opted_out.replace("market_regulation]", "tax]"))).nodes["split"].countersign
    assert other is not None
    assert other.distinct_people is False


def test_distinct_people_must_be_true_or_false():
    nodes = (
        "  - {id: split, type: user_task, title: {zh: s, en: s}, outcomes: {approve: done},\n"
        "     countersign: {mode: all, distinct_people: 'yes', signers: [fire, tax]}}\n"
    )
    assert check(nodes) == [
        "9:48: node 'split' countersign 'distinct_people' must be true or false, not text"
    ]


def test_a_countersign_of_one_department_twice_creates_one_task_per_signer():
    # Given two signers of one department who must be different people
    definition = load(
        document(
            "  - {id: split, type: user_task, title: {zh: s, en: s},\n"
            "     outcomes: {approve: done, reject: refused},\n"
            "     countersign: {mode: all, distinct_people: true, signers: [fire, fire]}}\n"
        )
    )
    # When the case starts
    result = step(definition, None, Start({}), T0)
    # Then there are two signature tasks of the fire department (who signs is the services' business)
    created = [e for e in result.effects if isinstance(e, TaskCreated)]
    assert [(e.department, e.signer) for e in created] == [("fire", 0), ("fire", 1)]


# -- blocks -----------------------------------------------------------------------


def test_a_veto_inside_a_block_is_valid_and_ends_the_case_at_once():
    # Given a block where either department may refuse (一票否决)
    definition = load(
        document(
            BLOCK + task("a", "fire", "approve: join, reject: refused") + task("b", "tax", "approve: join")
        )
    )
    state = step(definition, None, Start({"x": 1}), T0).state
    fire = next(t for t, v in state["tasks"].items() if v["node"] == "a")

    # When the fire department refuses
    result = step(definition, state, CompleteTask(fire, "reject"), T0)

    # Then the case is rejected and the tax review is cancelled
    assert result.state["outcome"] == "rejected"
    assert [e.node for e in result.effects if isinstance(e, TaskCancelled)] == ["b"]
    assert [e.outcome for e in result.effects if isinstance(e, CaseCompleted)] == ["rejected"]


def test_an_approving_end_reached_straight_from_the_split_is_an_error():
    nodes = (
        "  - {id: split, type: parallel, next: [a, b, done]}\n"
        + task("a", "fire", "approve: join")
        + task("b", "tax", "approve: join")
        + "  - {id: join, type: parallel, next: done}\n"
    )
    assert messages(nodes) == [
        "end 'done' approves the case but is reached from 'split' inside the block of parallel gateway "
        "'split': the case would end while other branches are still undecided; inside a block only an end "
        "that refuses (rejected or withdrawn: one department's veto) may stand, approval goes through "
        "the join 'join'"
    ]


def test_an_inclusive_branch_may_end_the_case_straight_away_but_not_a_parallel_one():
    # Given a split with a third branch that leads straight to the refusal
    rest = task("a", "fire", "approve: join") + task("b", "tax", "approve: join")
    inclusive = (
        "  - {id: split, type: inclusive, branches: [{to: a, when: 'true'}, {to: b, when: x > 1},\n"
        "                                             {to: refused, when: x > 99}]}\n"
        "  - {id: join, type: inclusive, next: done}\n"
    )
    parallel = (
        "  - {id: split, type: parallel, next: [a, b, refused]}\n  - {id: join, type: parallel, next: done}\n"
    )

    # Then only the inclusive one, a conditional refusal, is valid: the parallel one always refuses
    assert check(inclusive + rest) == []
    assert messages(parallel + rest) == [
        "the branch of parallel gateway 'split' starting at 'refused' never reaches the join 'join': every "
        "path from it ends the case, so the join could never fire and what follows it could never run"
    ]


def test_a_problem_with_one_flow_points_at_that_flow():
    # Given a branch whose return leaves the block, written on its own line
    nodes = (
        BLOCK + "  - id: a\n    type: user_task\n    title: {zh: a, en: a}\n    department: fire\n"
        "    outcomes:\n      approve: join\n      return: after\n" + task("b", "tax", "approve: join")
    ).replace("next: done}", "next: after}") + task("after", "bank", "approve: done")

    # When it is checked
    lines = check(nodes)

    # Then the problem is at the value of `return` (line 16), not at the node
    assert len(lines) == 1
    assert lines[0].startswith(
        "16:15: a branch of parallel gateway 'split' leaves its block: 'a' leads to 'after'"
    )


def test_loops_inside_one_branch_and_around_the_whole_block_are_valid():
    # A return to a correction and back inside branch a, an exclusive loop
    # inside branch b, and a return after the join back to before the split.
    nodes = (
        "  - {id: merge, type: exclusive, next: split}\n"
        "  - {id: split, type: parallel, next: [a, b]}\n"
        + task("a", "fire", "approve: join, return: fix")
        + "  - {id: fix, type: correction, title: {zh: f, en: f}, next: a}\n"
        + task("b", "tax", "approve: gate")
        + "  - {id: gate, type: exclusive, branches: [{to: b, when: x > 5}, {to: join, default: true}]}\n"
        + "  - {id: join, type: parallel, next: final}\n"
        + task("final", "bank", "approve: done, return: again")
        + "  - {id: again, type: correction, title: {zh: g, en: g}, next: merge}\n"
    )
    assert check(nodes, head=HEAD.replace("next: split}", "next: merge}")) == []


def test_a_sub_process_issuing_its_permit_from_inside_a_callers_block_is_valid():
    # Each stage's licence is a decision of its own (section 11): a call inside
    # a block may reach a sub-process end that issues certificates.
    nodes = (
        BLOCK
        + "  - {id: a, type: call, title: {zh: a, en: a}, process: stage, outcomes: {approved: join}}\n"
        + task("b", "tax", "approve: join, reject: refused")
    )
    tail = """\
subprocesses:
  stage:
    title: {zh: 阶段, en: Stage}
    nodes:
      - {id: s_start, type: start, next: s_review}
      - id: s_review
        type: user_task
        title: {zh: r, en: r}
        department: fire
        outcomes: {approve: s_done, reject: s_no}
      - id: s_done
        type: end
        title: {zh: 发证, en: Permit}
        outcome: approved
        certificates: [{type: stage_permit, department: fire, title: {zh: 证, en: Permit}}]
      - {id: s_no, type: end, title: {zh: 否, en: No}, outcome: rejected}
"""
    assert check(nodes, tail) == []


def test_a_withdrawal_by_a_missed_deadline_inside_a_block_is_valid():
    nodes = (
        BLOCK
        + task("a", "fire", "approve: join, return: fix")
        + "  - {id: fix, type: correction, title: {zh: f, en: f}, next: a,\n"
        "     deadline: {days: 5}, on_timeout: lapsed}\n"
        + task("b", "tax", "approve: join")
        + "  - {id: lapsed, type: end, title: {zh: 撤回, en: Withdrawn}, outcome: withdrawn}\n"
    )
    assert check(nodes) == []


def test_an_on_timeout_to_an_approving_end_inside_a_block_is_an_error():
    nodes = (
        BLOCK
        + task("a", "fire", "approve: join, return: fix")
        + "  - {id: fix, type: correction, title: {zh: f, en: f}, next: a,\n"
        "     deadline: {days: 5}, on_timeout: done}\n" + task("b", "tax", "approve: join")
    )
    assert [m.split(":")[0] for m in messages(nodes)] == [
        "end 'done' approves the case but is reached from 'fix' inside the block of parallel gateway 'split'"
    ]


# -- splits without a join ----------------------------------------------------------


OPEN = "  - {id: split, type: parallel, next: [a, b]}\n"
SIDE_END = "  - {id: filed, type: end, title: {zh: 备案, en: Filed}, outcome: approved, terminate: false}\n"


def test_a_side_path_that_cannot_end_the_case_may_be_cut_short_by_the_approval():
    nodes = (
        OPEN
        + task("a", "archives", "approve: filed")
        + SIDE_END
        + task("b", "tax", "approve: done, reject: refused")
    )
    assert check(nodes) == []


def test_side_paths_may_nest_their_own_split_without_a_join():
    nodes = (
        OPEN
        + "  - {id: a, type: parallel, next: [c, d]}\n"
        + task("c", "archives", "approve: filed")
        + task("d", "bank", "approve: filed2")
        + SIDE_END
        + SIDE_END.replace("filed", "filed2")
        + task("b", "tax", "approve: done, reject: refused")
    )
    assert check(nodes) == []


def test_a_side_path_whose_call_can_refuse_may_not_be_cut_short():
    nodes = (
        OPEN
        + "  - {id: a, type: call, title: {zh: a, en: a}, process: stage, outcomes: {approved: filed}}\n"
        + SIDE_END
        + task("b", "tax", "approve: done")
    )
    tail = """\
subprocesses:
  stage:
    title: {zh: 阶段, en: Stage}
    nodes:
      - {id: s_start, type: start, next: s_review}
      - id: s_review
        type: user_task
        title: {zh: r, en: r}
        department: fire
        outcomes: {approve: s_done, reject: s_no}
      - {id: s_done, type: end, title: {zh: 过, en: Ok}, outcome: approved}
      - {id: s_no, type: end, title: {zh: 否, en: No}, outcome: rejected}
"""
    found = messages(nodes, tail)
    assert len(found) == 1
    assert "can still end it (when sub-process 'stage' of 'a' ends rejected)" in found[0]


def test_a_loop_back_before_a_split_without_a_join_is_an_error():
    nodes = (
        OPEN
        + task("a", "archives", "approve: filed")
        + SIDE_END
        + task("b", "tax", "approve: done, return: fix")
        + "  - {id: fix, type: correction, title: {zh: f, en: f}, next: pre}\n"
        + task("pre", "bank", "approve: split")
    )
    assert messages(nodes, head=HEAD.replace("next: split}", "next: pre}")) == [
        "a branch of 'split' flows back to it; a loop must close outside the split and its join"
    ]


# -- dead branches ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branches", "expected"),
    [
        (
            "[{to: a, when: '1 < 2'}, {to: b, when: x > 3}]",
            "the branch to 'b' is never taken: the condition '1 < 2' of the branch to 'a' before it "
            "always holds",
        ),
        (
            "[{to: a, when: 'len(\"ab\") == 2'}, {to: b, default: true}]",
            "the default branch to 'b' is never taken: the condition 'len(\"ab\") == 2' of the branch to 'a' "
            "always holds",
        ),
        (
            "[{to: a, when: '1 / 0 > 1'}, {to: b, default: true}]",
            "condition '1 / 0 > 1' can never be evaluated",
        ),
    ],
)
def test_a_branch_a_constant_condition_rules_out_is_an_error(branches: str, expected: str):
    nodes = (
        f"  - {{id: split, type: exclusive, branches: {branches}}}\n"
        + task("a", "fire", "approve: done")
        + task("b", "tax", "approve: done")
    )
    found = messages(nodes)
    assert len(found) == 1
    assert expected in found[0]


def test_a_branch_switched_off_with_false_is_valid_unless_it_is_a_loops_way_out():
    # Given a branch switched off by a condition that never holds (as the BPMN
    # importer stands in for a condition an admin must still write)
    off = "  - {id: split, type: exclusive, branches: [{to: a, when: 'false'}, {to: done, default: true}]}\n"
    # And a correction loop whose only way out is such a branch
    loop = (
        "  - {id: split, type: correction, title: {zh: f, en: f}, next: gate}\n"
        "  - {id: gate, type: exclusive, branches: [{to: done, when: 'false'}, {to: split, default: true}]}\n"
    )

    # Then the first is valid (the switched-off node simply never runs), the second is not
    assert check(off + task("a", "fire", "approve: done")) == []
    assert check(loop) == [
        "9:5: gateway 'gate' can never lead the case to an end: the way out, the branch to 'done', has "
        "the condition 'false', which never holds"
    ]


def test_inclusive_branches_that_always_hold_all_run_but_rule_out_the_default():
    always = "  - {id: split, type: inclusive, branches: [{to: a, when: 'true'}, {to: b, when: 'true'}]}\n"
    with_default = always.replace("]}", ", {to: c, default: true}]}")
    rest = (
        task("a", "fire", "approve: join")
        + task("b", "tax", "approve: join")
        + "  - {id: join, type: inclusive, next: done}\n"
    )
    assert check(always + rest) == []
    assert messages(with_default + rest + task("c", "bank", "approve: join")) == [
        "node 'split': the default branch to 'c' is never taken: the condition 'true' of the branch "
        "to 'a' always holds"
    ]


def test_every_problem_has_a_line_and_column_inside_the_text():
    nodes = (
        OPEN
        + task("a", "fire", "approve: after")
        + task("b", "tax", "approve: after")
        + task("after", "bank", "approve: done")
    )
    text = document(nodes)
    _definition, problems = check_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)
    assert problems
    assert all(isinstance(p, Problem) and 1 <= p.line <= len(text.splitlines()) for p in problems)
