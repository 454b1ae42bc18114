"""The designer's model: templates read as chains, operations on the YAML
text (comments and untouched lines kept), refusals that leave the text as
it was, problems put on the card whose text holds their line."""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.engine.loader import check_definition
from govflow.processes.designer import chain as chains
from govflow.processes.designer.checks import approve_all, problems_by_node
from govflow.processes.designer.document import load
from govflow.processes.designer.operations import BLOCK_KINDS, STEP_KINDS, apply

WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"
SHIPPED = sorted(p.name for p in WORKFLOWS.glob("*.yaml"))
FOOD = (WORKFLOWS / "food_business_licence.yaml").read_text(encoding="utf-8")


def _text(name: str) -> str:
    return (WORKFLOWS / name).read_text(encoding="utf-8")


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    pairs = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            pairs.append(("\n".join(old[i1:i2]), "\n".join(new[j1:j2])))
    return pairs


def _shape(items) -> list:
    out = []
    for item in items:
        if isinstance(item, chains.Block):
            out.append((item.id, item.join, [_shape(c.items) for c in item.columns]))
        else:
            out.append(item.id)
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_template_reads_as_a_chain(name):
    chain = chains.read(load(_text(name)))
    assert chain.representable, chain.problems()


def test_the_food_licence_chain_with_its_side_routes():
    chain = chains.read(load(FOOD))
    main = chain.processes[0]
    assert _shape(main.items) == [
        "start",
        "check_application",
        "check_gate",
        "accept",
        "review",
        "inspection",
        "decision",
        "end_approved",
    ]
    cards = {c.id: c for c in chains.walk(main.items)}
    routes = {(r.label, r.target, r.route) for r in cards["accept"].routes}
    assert routes == {("refuse", "end_not_accepted", "end"), ("notice", "supply", "detour")}
    loop = cards["check_gate"].routes[0]
    assert (loop.route, loop.through) == ("detour", ["fix_application"])


def test_parallel_and_inclusive_blocks_close_at_their_joins():
    chain = chains.read(load(_text("construction_permit.yaml")))
    stage_1 = next(p for p in chain.processes if p.key == "stage_1")
    block = next(i for i in stage_1.items if isinstance(i, chains.Block))
    assert (block.id, block.join, block.closes_into) == ("s1_split", "s1_join", "s1_planning_permit")
    assert [c.first for c in block.columns] == ["s1_project_filing", "s1_land_review"]
    stage_2 = next(p for p in chain.processes if p.key == "stage_2")
    inclusive = next(i for i in stage_2.items if isinstance(i, chains.Block))
    nested = inclusive.columns[1].items[1]
    assert isinstance(nested, chains.Block)
    assert (nested.id, nested.join, nested.closes_into) == ("s2_eia_gate", None, "s2_join")


def test_a_process_that_is_no_chain_is_named():
    # (a loop entered at two places, as an imported BPMN diagram may have)
    text = FOOD.replace(
        "      approve: inspection\n      reject: end_rejected",
        "      approve: inspection\n      reject: end_rejected\n      return: decision",
    ).replace(
        "      approve: end_approved\n      reject: end_rejected",
        "      approve: end_approved\n      reject: end_rejected\n      return: inspection",
    )
    chain = chains.read(load(text))
    assert not chain.representable
    node, message = chain.problems()[0]
    assert node in ("decision", "inspection", "fork")
    assert "chain" in str(message)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_no_op_leaves_the_text_byte_identical(name):
    text = _text(name)
    result = apply(text, {"op": "set", "node": "start", "values": {}})
    assert result.text == text
    assert not result.changed


def test_changing_one_sla_changes_only_that_line():
    result = apply(FOOD, {"op": "set", "node": "review", "values": {"sla_days": "4"}})
    assert result.changed
    assert result.refused is None
    assert _changed_lines(FOOD, result.text) == [
        ("    sla: {days: 3, remind_at: 0.66}", "    sla: {days: 4, remind_at: 0.66}")
    ]


def test_an_sla_written_in_block_style_with_a_trailing_blank_keeps_its_other_lines():
    text = _text("business_setup.yaml")
    assert "        sla: \n" in text  # the shipped text has a trailing blank there
    # a number keeps the limit's unit (office hours here); the unit changes with it
    result = apply(text, {"op": "set", "node": "housing_fund", "values": {"sla_days": "2"}})
    assert result.refused is None
    assert _changed_lines(text, result.text) == [("          hours: 4", "          hours: 2")]
    days = apply(text, {"op": "set", "node": "housing_fund", "values": {"sla_days": "2", "sla_unit": "days"}})
    assert _changed_lines(text, days.text) == [("          hours: 4", "          days: 2")]


def test_inserting_a_step_keeps_comments_and_reroutes_one_flow():
    result = apply(FOOD, {"op": "insert_step", "at": "after:review", "kind": "user_task"})
    assert result.refused is None
    assert result.focus == "review_2"
    assert "  # 现场核查: two inspectors of the department, each signing the record.\n  - id: inspection" in (
        result.text
    )
    chain = chains.read(load(result.text))
    assert _shape(chain.processes[0].items)[4:7] == ["review", "review_2", "inspection"]
    assert check_definition(result.text)[1] == []


def test_a_branch_block_inserted_and_its_columns_removed():
    result = apply(FOOD, {"op": "insert_block", "at": "after:inspection", "kind": "parallel", "columns": 3})
    assert result.refused is None
    block = chains.read(load(result.text)).processes[0].items[6]
    assert isinstance(block, chains.Block)
    assert len(block.columns) == 3
    assert block.join == "parallel_join"
    fewer = apply(result.text, {"op": "remove_column", "node": "parallel", "column": 0})
    assert fewer.refused is None
    one = apply(fewer.text, {"op": "remove_column", "node": "parallel", "column": 0})
    shape = _shape(chains.read(load(one.text)).processes[0].items)
    assert shape[5:8] == ["inspection", "review_4", "decision"]  # the block is gone, its last column stays
    assert check_definition(one.text)[1] == []


def test_exclusive_block_columns_get_a_switched_off_condition_and_a_default():
    result = apply(FOOD, {"op": "insert_block", "at": "after:review", "kind": "exclusive", "columns": 2})
    assert result.refused is None
    assert '- {to: review_2, when: "false"}' in result.text
    assert "- {to: review_3, default: true}" in result.text


def test_move_copy_delete():
    moved = apply(FOOD, {"op": "move", "node": "inspection", "direction": "up"})
    assert _shape(chains.read(load(moved.text)).processes[0].items)[4:6] == ["inspection", "review"]
    copied = apply(FOOD, {"op": "copy", "node": "inspection"})
    assert copied.focus == "inspection_2"
    assert _shape(chains.read(load(copied.text)).processes[0].items)[5:7] == ["inspection", "inspection_2"]
    deleted = apply(FOOD, {"op": "delete", "node": "inspection"})
    assert "id: inspection\n" not in deleted.text
    assert check_definition(deleted.text)[1] == []


def test_a_refused_operation_leaves_the_text_unchanged_and_says_why():
    for op in (
        {"op": "delete", "node": "start"},
        {"op": "move", "node": "check_application", "direction": "up"},  # past the start
        {"op": "insert_step", "at": "after:end_approved", "kind": "user_task"},
        {"op": "insert_block", "at": "after:review", "kind": "parallel", "columns": 1},
        {"op": "set", "node": "review", "values": {"sla_days": "0"}},
        {"op": "set", "node": "nowhere", "values": {"sla_days": "3"}},
        {"op": "frobnicate"},
    ):
        result = apply(FOOD, op)
        assert result.text == FOOD, op
        assert not result.changed, op
        assert result.refused, op


def test_a_condition_naming_an_unknown_field_lands_on_its_card():
    result = apply(FOOD, {"op": "set", "node": "check_gate", "values": {"condition:0": "shoe_size > 40"}})
    assert result.changed  # a property is set, and its problem shown
    on_cards = problems_by_node(result.text, result.problems)
    assert list(on_cards) == ["check_gate"]
    assert "shoe_size" in str(on_cards["check_gate"][0].message)


def test_the_approve_all_path_against_the_promise():
    definition = check_definition(FOOD)[0]
    run = approve_all(definition, today=date(2026, 3, 2))
    assert run.time_limit_days == 10
    assert run.outcome == "approved"
    assert run.working_days <= 10
    assert run.within


# -- property: random operations keep the template valid, or change nothing ----

NODE_OPS = ("move_up", "move_down", "copy", "delete", "add_column", "remove_column", "sla", "title")


def _cards(text: str) -> list[str]:
    chain = chains.read(load(text))
    return [c.id for p in chain.processes for c in chains.walk(p.items)]


@st.composite
def operation(draw, text: str):
    cards = _cards(text)
    node = draw(st.sampled_from(cards))
    what = draw(st.sampled_from(("insert_step", "insert_block", *NODE_OPS)))
    if what == "insert_step":
        return {"op": what, "at": f"after:{node}", "kind": draw(st.sampled_from(STEP_KINDS))}
    if what == "insert_block":
        return {
            "op": what,
            "at": f"after:{node}",
            "kind": draw(st.sampled_from(BLOCK_KINDS)),
            "columns": draw(st.integers(2, 4)),
        }
    if what.startswith("move_"):
        return {"op": "move", "node": node, "direction": what[5:]}
    if what == "remove_column":
        return {"op": what, "node": node, "column": draw(st.integers(0, 3))}
    if what == "sla":
        return {"op": "set", "node": node, "values": {"sla_days": str(draw(st.integers(1, 30)))}}
    if what == "title":
        return {"op": "set", "node": node, "values": {"title_zh": draw(st.sampled_from(("复核", "核查")))}}
    return {"op": what, "node": node}


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_operations_keep_the_template_valid_or_change_nothing(name, data):
    text = _text(name)
    for _ in range(3):
        op = data.draw(operation(text))
        result = apply(text, op)
        if result.refused:
            assert result.text == text, op
            assert not result.changed, op
            continue
        assert check_definition(result.text)[1] == [], (op, result.text)
        assert chains.read(load(result.text)).representable, op
        text = result.text


def test_every_kind_of_step_can_be_inserted():
    for kind in STEP_KINDS:
        if kind in ("call", "end"):
            continue  # the food licence has no sub-process; an end is below
        result = apply(FOOD, {"op": "insert_step", "at": "after:review", "kind": kind})
        assert result.refused is None, (kind, result.refused)
        assert check_definition(result.text)[1] == [], kind
    # business setup's sub-processes are the bundle's items: calling one too is the validator's refusal
    setup = _text("business_setup.yaml")
    call = apply(setup, {"op": "insert_step", "at": "after:accept", "kind": "call"})
    assert "is an item of bundle 'items'" in str(call.refused)
    assert call.text == setup


def test_deleting_a_card_takes_the_ends_only_it_led_to():
    result = apply(FOOD, {"op": "delete", "node": "check_gate"})
    assert result.refused is None
    for gone in ("check_gate", "fix_application", "end_withdrawn"):
        assert f"id: {gone}\n" not in result.text
    assert "  # 受理: accept, refuse to accept, or one consolidated correction notice.\n  - id: accept" in (
        result.text
    )
    assert check_definition(result.text)[1] == []


def test_an_acceptance_length_and_a_correction_deadline():
    longer = apply(FOOD, {"op": "set", "node": "accept", "values": {"days": "4"}})
    assert _changed_lines(FOOD, longer.text) == [("    days: 5", "    days: 4")]
    deadline = apply(FOOD, {"op": "set", "node": "fix_application", "values": {"deadline_days": "7"}})
    assert _changed_lines(FOOD, deadline.text) == [("    deadline: {days: 5}", "    deadline: {days: 7}")]
    new = apply(FOOD, {"op": "set", "node": "supply", "values": {"deadline_days": "10"}})
    title = "    title: {zh: 按一次性告知补正材料, en: Supply what the correction notice lists}\n"
    assert title + "    deadline: {days: 10}\n" in new.text
    # a deadline needs a route for when it is missed: the problem is on the card until it has one
    assert list(problems_by_node(new.text, new.problems)) == ["supply"]
    routed = apply(new.text, {"op": "set", "node": "supply", "values": {"route:on_timeout": "end_withdrawn"}})
    assert check_definition(routed.text)[1] == []
    kept = apply(FOOD, {"op": "set", "node": "fix_application", "values": {"deadline_days": ""}})
    assert kept.refused  # it has a route for a missed deadline
    assert apply(FOOD, {"op": "set", "node": "review", "values": {"days": "3"}}).refused


def test_a_public_notice_comes_with_its_objection_review():
    result = apply(FOOD, {"op": "insert_step", "at": "after:inspection", "kind": "publicity"})
    assert result.refused is None
    assert result.focus == "notice"
    assert check_definition(result.text)[1] == []
    chain = chains.read(load(result.text))
    assert _shape(chain.processes[0].items)[5:8] == ["inspection", "notice", "decision"]
    notice = next(c for c in chains.walk(chain.processes[0].items) if c.id == "notice")
    # the objection goes to its review, drawn as the notice's detour: dismissed resumes the notice
    assert [(r.label, r.target, r.route) for r in notice.routes] == [
        ("objection", "objection_review", "detour")
    ]
    added = (
        "\n  - id: notice\n    type: publicity\n    title: {zh: 公示, en: Public notice}\n    days: 5\n"
        "    objection: objection_review\n    next: decision\n\n"
        "  - id: objection_review\n    type: user_task\n"
        "    title: {zh: 异议审查, en: Review of the objection}\n"
        "    department: market_regulation\n    sla: {days: 3}\n    outcomes:\n"
        "      approve: notice\n      reject: end_rejected\n"
    )
    assert added in result.text
    # besides the two new nodes, only the inspection's approval changed
    restored = result.text.replace(added, "", 1).replace(
        "      approve: notice\n", "      approve: decision\n", 1
    )
    assert restored == FOOD
    # the notice's length is a property like an acceptance's
    longer = apply(result.text, {"op": "set", "node": "notice", "values": {"days": "7"}})
    assert _changed_lines(result.text, longer.text) == [("    days: 5", "    days: 7")]


def test_an_end_is_inserted_where_what_follows_stays_reachable():
    # in the main chain, an end would cut off what follows: refused
    cut = apply(FOOD, {"op": "insert_step", "at": "after:inspection", "kind": "end"})
    assert "'decision' cannot be reached from the start" in str(cut.refused)
    assert cut.text == FOOD
    # at the bottom of a condition column, the column ends the case
    block = apply(FOOD, {"op": "insert_block", "at": "after:review", "kind": "exclusive", "columns": "2"})
    ended = apply(block.text, {"op": "insert_step", "at": "after:review_2", "kind": "end"})
    assert ended.refused is None
    assert ended.focus == "end_rejected_2"
    assert check_definition(ended.text)[1] == []
    assert _changed_lines(block.text, ended.text)[0] == (
        "      approve: condition_join",
        "      approve: end_rejected_2",
    )
    # an end's outcome is a property: one line
    approved = apply(ended.text, {"op": "set", "node": "end_rejected_2", "values": {"outcome": "withdrawn"}})
    assert _changed_lines(ended.text, approved.text) == [("    outcome: rejected", "    outcome: withdrawn")]
    assert apply(ended.text, {"op": "set", "node": "end_rejected_2", "values": {"outcome": "lost"}}).refused


def test_a_route_to_a_new_end():
    result = apply(FOOD, {"op": "set", "node": "decision", "values": {"route:reject": "new_end:withdrawn"}})
    assert result.refused is None
    assert check_definition(result.text)[1] == []
    changed = _changed_lines(FOOD, result.text)
    assert changed[0] == ("      reject: end_rejected", "      reject: end_withdrawn_2")
    assert changed[1][1].endswith(
        "  - id: end_withdrawn_2\n    type: end\n"
        "    title: {zh: 视为撤回, en: Withdrawn}\n    outcome: withdrawn"
    )
    assert len(changed) == 2
    assert apply(FOOD, {"op": "set", "node": "decision", "values": {"route:reject": "new_end:lost"}}).refused


def _set(text: str, node: str, **values: str):
    result = apply(text, {"op": "set", "node": node, "values": values})
    assert result.refused is None, result.refused
    return result


@pytest.mark.parametrize(
    ("node", "values", "lines"),
    [
        # an SLA in office hours or calendar days: the unit's key takes the old one's place
        ("review", {"sla_days": "12", "sla_unit": "hours"}, [("{days: 3, ", "{hours: 12, ")]),
        ("review", {"sla_unit": "calendar_days"}, [("{days: 3, ", "{calendar_days: 3, ")]),
        ("review", {"sla_days": "2.5", "sla_unit": "hours"}, [("{days: 3, ", "{hours: 2.5, ")]),
        # 延期: days and how often, 'none' forbids it
        ("decision", {"extension": "3"}, [("{days: 5, max: 1}", "{days: 3, max: 1}")]),
        ("decision", {"extension_max": "2"}, [("{days: 5, max: 1}", "{days: 5, max: 2}")]),
        ("decision", {"extension": "none"}, [("{days: 5, max: 1}", "none")]),
        (
            "review",
            {"extension": "10", "extension_max": "2"},
            [("extension: none", "extension: {days: 10, max: 2}")],
        ),
        # a countersign's mode; a vote's pass ratio and weights
        ("inspection", {"mode": "any"}, [("mode: all", "mode: any")]),
        # certificates: a field of the first, a second one appended after it
        (
            "end_approved",
            {"certificate:0:department": "tax"},
            [("department: market_regulation", "department: tax")],
        ),
    ],
)
def test_a_panel_property_changes_only_its_lines(node, values, lines):
    result = _set(FOOD, node, **values)
    changed = _changed_lines(FOOD, result.text)
    assert len(changed) == len(lines), changed
    for (old, new), (want_old, want_new) in zip(changed, lines, strict=True):
        assert want_old in old
        assert old.replace(want_old, want_new) == new
    assert check_definition(result.text)[1] == []


def test_clock_exclusion_is_one_line_and_the_validator_says_what_it_needs():
    excluded = _set(FOOD, "decision", clock="excluded")
    diff = [line for line in difflib.ndiff(FOOD.splitlines(), excluded.text.splitlines()) if line[0] in "+-"]
    assert diff == ["+     clock: excluded"]
    # an excluded step cannot have an SLA: shown on the card, as any property problem
    assert "excluded from the clock cannot have an SLA" in str([p.message for p in excluded.problems])
    fixed = _set(excluded.text, "decision", sla_days="", extension="")
    assert check_definition(fixed.text)[1] == []
    back = _set(excluded.text, "decision", clock="counted")
    assert back.text == FOOD
    assert apply(FOOD, {"op": "set", "node": "accept", "values": {"clock": "excluded"}}).refused
    assert apply(FOOD, {"op": "set", "node": "review", "values": {"clock": "sometimes"}}).refused


def test_copies_to_roles_take_the_long_form_of_cc():
    roles = _set(FOOD, "decision", cc_roles="leader, department_head")
    assert "    cc:\n      roles: [leader, department_head]\n" in roles.text
    assert check_definition(roles.text)[1] == []
    both = _set(roles.text, "decision", cc="tax")
    assert "    cc:\n      roles: [leader, department_head]\n      departments: [tax]\n" in both.text
    assert check_definition(both.text)[1] == []
    assert _set(_set(both.text, "decision", cc_roles="").text, "decision", cc="").text == FOOD
    assert apply(FOOD, {"op": "set", "node": "decision", "values": {"cc_roles": "mayor"}}).refused


def test_a_vote_with_its_ratio_and_weights():
    vote = _set(FOOD, "inspection", mode="vote")
    assert '      mode: vote\n      pass_ratio: "2/3"\n' in vote.text
    assert check_definition(vote.text)[1] == []
    weighted = _set(vote.text, "inspection", pass_ratio="50%", weights="2, 1")
    diff = [
        line for line in difflib.ndiff(vote.text.splitlines(), weighted.text.splitlines()) if line[0] in "+-"
    ]
    assert diff == ['-       pass_ratio: "2/3"', '+       pass_ratio: "50%"', "+       weights: [2, 1]"]
    assert "weights: [2, 1]" in weighted.text
    assert check_definition(weighted.text)[1] == []
    assert _set(weighted.text, "inspection", mode="all").text == FOOD
    for bad in ({"pass_ratio": "two thirds"}, {"weights": "2, 0"}, {"mode": "majority"}):
        assert apply(vote.text, {"op": "set", "node": "inspection", "values": bad}).refused
    assert apply(FOOD, {"op": "set", "node": "decision", "values": {"mode": "vote"}}).refused


def test_several_certificates_at_an_end():
    two = _set(
        FOOD,
        "end_approved",
        **{
            "certificate:1:type": "food_business_notice",
            "certificate:1:department": "market_regulation",
            "certificate:1:title_zh": "告知书",
            "certificate:1:title_en": "Notice",
        },
    )
    added = (
        "        title: {zh: 食品经营许可证, en: Food business licence}\n"
        "      - type: food_business_notice\n        department: market_regulation\n"
        "        title: {zh: 告知书, en: Notice}\n"
    )
    assert added in two.text
    assert check_definition(two.text)[1] == []
    assert _set(two.text, "end_approved", **{"certificate:1:type": ""}).text == FOOD
    # the panel's older names still set the first one
    renamed = _set(FOOD, "end_approved", certificate_title_en="Food licence")
    assert _changed_lines(FOOD, renamed.text) == [
        (
            "        title: {zh: 食品经营许可证, en: Food business licence}",
            "        title: {zh: 食品经营许可证, en: Food licence}",
        )
    ]
    assert apply(FOOD, {"op": "set", "node": "end_approved", "values": {"certificate:5:type": "x"}}).refused


def test_a_public_notice_just_before_the_end_stays_a_card_of_the_chain():
    from govflow.processes.designer.skeleton import skeleton

    text = skeleton(code="shop", title_zh="店", title_en="Shop", department="market_regulation")
    result = apply(text, {"op": "insert_step", "at": "after:review", "kind": "publicity"})
    assert result.refused is None
    chain = chains.read(load(result.text))
    # the notice goes on to the approving end; its objection review is its detour, not the whole process
    assert _shape(chain.processes[0].items) == ["start", "acceptance", "review", "notice", "end_approved"]
    notice = chain.processes[0].items[3]
    assert [(r.label, r.target, r.route) for r in notice.routes] == [
        ("objection", "objection_review", "detour")
    ]
