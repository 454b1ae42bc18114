"""The node-kind registry (govflow.engine.kinds) and the runtime's event
table; and the example of docs/extending.md, a kind added from outside the
engine, read, checked, run and exported without touching anything else."""

from __future__ import annotations

import typing

import pytest

from govflow.engine import IllegalEvent, InvalidDefinition, Start, step
from govflow.engine.definition import Node
from govflow.engine.events import Event
from govflow.engine.kinds import KINDS, NodeKind, register
from govflow.engine.kinds.base import gettext_noop
from govflow.engine.loading.positions import key_pos, value_pos
from govflow.engine.loading.primitives import ID_RE
from govflow.engine.runtime import EVENT_HANDLERS, CompleteTask, ServiceDone

from .conftest import T0, load

BUILT_IN = (
    "start",
    "end",
    "user_task",
    "service_task",
    "parallel",
    "exclusive",
    "inclusive",
    "wait",
    "signal",
    "correction",
    "call",
    "publicity",
    "applicant_task",
    "fee",
    "acceptance",
    "bundle",
)


def test_every_built_in_kind_is_registered_under_its_type():
    assert tuple(KINDS) == BUILT_IN
    for node_type, kind in KINDS.items():
        assert kind.type == node_type
        assert kind.shape in ("event", "gateway", "task")
        assert kind.bpmn_element
        assert kind.lane in ("department", "applicant", "process")


def test_every_event_but_start_has_a_handler_in_the_table():
    events = set(typing.get_args(Event))
    assert set(EVENT_HANDLERS) == events - {Start}


def test_an_event_for_a_task_of_another_kind_is_refused_by_the_table():
    definition = load(
        """
        id: demo
        title: {zh: 演示, en: Demo}
        nodes:
          - {id: start, type: start, next: review}
          - id: review
            type: user_task
            title: {zh: 审查, en: Review}
            department: market_regulation
            outcomes: {approve: done}
          - {id: done, type: end, title: {zh: 结束, en: Done}, outcome: approved}
        """
    )
    state = step(definition, None, Start({}), T0).state
    (task_id,) = state["tasks"]
    # When a service result arrives for a review task
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, ServiceDone(task_id, {}), T0)
    # Then the user task kind has no reaction to it
    assert refused.value.code == "wrong_task_kind"
    assert step(definition, state, CompleteTask(task_id, "approve"), T0).state["status"] == "completed"


# -- the example of docs/extending.md ----------------------------------------


class Assign(NodeKind):
    """`assign`: records fixed values (`values: {fee_class: b}`) that later
    conditions read as `result.<node id>.<key>`, and moves on at once."""

    type = "assign"
    keys = frozenset({"values", "next"})
    has_results = True  # conditions may name result.<id>.<key>
    colours = ("#f6f6f6", "#555555", "")
    caption = gettext_noop("records values")
    bpmn_element = "scriptTask"

    def read(self, reader, node: Node, item, what: str) -> None:
        if "values" not in item:
            reader.err((node.line, node.col), f"{what} is missing required key 'values'")
        else:
            values = reader.mapping(item["values"], value_pos(item, "values"), f"{what} values") or {}
            for key, value in values.items():
                if not isinstance(key, str) or not ID_RE.match(key) or not isinstance(value, str | int):
                    reader.err(key_pos(values, key), f"{what} values map names to text or numbers")
                else:
                    node.settings[str(key)] = value if isinstance(value, bool | int) else str(value)
        reader.single_next(node, item, what)

    def enter(self, machine, token_id: str, token: dict, node: Node) -> None:
        machine.state["results"][node.id] = dict(node.settings)
        machine.move(token_id, node.next[0])


@pytest.fixture
def assign_kind():
    register(Assign)
    yield KINDS["assign"]
    del KINDS["assign"]


FEES = """
    id: fees
    title: {zh: 收费, en: Fees}
    nodes:
      - {id: start, type: start, next: classify}
      - id: classify
        type: assign
        title: {zh: 定档, en: Classify}
        values: {fee_class: b}
        next: route
      - id: route
        type: exclusive
        branches:
          - {to: cheap, when: 'result.classify.fee_class == "b"'}
          - {to: dear, default: true}
      - {id: cheap, type: end, title: {zh: 低档, en: Low}, outcome: approved}
      - {id: dear, type: end, title: {zh: 高档, en: High}, outcome: rejected}
"""


def test_a_kind_registered_from_outside_is_read_checked_and_run(assign_kind):
    # Given a template using the new kind
    definition = load(FEES)
    # When a case runs through it
    result = step(definition, None, Start({}), T0)
    # Then its values are there for the condition after it
    assert result.state["results"]["classify"] == {"fee_class": "b"}
    assert result.state["outcome"] == "approved"


def test_a_registered_kind_reports_its_problems_with_positions(assign_kind):
    with pytest.raises(InvalidDefinition) as invalid:
        load(FEES.replace("values: {fee_class: b}", "values: [b]"))
    assert [(p.line, p.col, p.message) for p in invalid.value.problems] == [
        (9, 13, "node 'classify' values must be a mapping, not a list")
    ]


def test_without_registering_the_type_is_unknown():
    with pytest.raises(InvalidDefinition) as invalid:
        load(FEES)
    assert any(
        p.message.startswith("unknown node type 'assign' in node 'classify'") for p in invalid.value.problems
    )


def test_a_registered_kind_is_exported_to_bpmn_with_its_settings(assign_kind):
    from govflow.bpmn.exporter import export_bpmn  # pure: lxml and the engine

    xml = export_bpmn(FEES.replace("\n    ", "\n")).decode("utf-8")
    assert '<bpmn:scriptTask id="classify"' in xml
    assert '"type": "assign"' in xml
    assert '"values": {"fee_class": "b"}' in xml
