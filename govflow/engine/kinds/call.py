"""`call`: runs a sub-process in a frame of its own; the caller moves on by
the sub-process's outcome (or its whole process ends with that outcome when
no flow is given for it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import CASE_OUTCOMES, Node
from ..loading.positions import value_pos
from ..problems import Message
from .base import NodeKind

if TYPE_CHECKING:
    from .base import Machine, Reader


class Call(NodeKind):
    type = "call"
    keys = frozenset({"process", "outcomes"})
    decides = True
    colours = ("#eef2f6", "#33475b", "")
    bpmn_element = "callActivity"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "process" not in item:
            reader.err((node.line, node.col), Message("{what} is missing required key 'process'", what=what))
        else:
            node.calls = reader.ident(item, "process", what)
            reader.call_positions[node.id] = value_pos(item, "process")
        node.outcomes = reader.outcomes(node, item, what, CASE_OUTCOMES, "approved")

    def successors(self, node: Node) -> tuple[str, ...]:
        return tuple(dict.fromkeys(node.outcomes.values()))

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        frame_id = machine.new_id("f")
        process = node.calls or ""
        machine.state["frames"][frame_id] = {"call": node.id, "token": token_id, "process": process}
        child = machine.new_token(machine.definition.processes[process].start, [], frame_id)
        machine.queue.append(child)

    def subprocess_ended(self, machine: Machine, caller: dict, node: Node, outcome: str) -> None:
        token_id = caller["token"]
        machine.state["decisions"][node.id] = {"outcome": outcome, "at": machine.now}
        target = node.outcomes.get(outcome)
        if target is None:
            # No flow for this outcome: the whole calling process ends with it.
            frame = machine.state["tokens"][token_id]["frame"]
            machine.finish(frame, outcome, node.id)
            return
        machine.move(token_id, target)
