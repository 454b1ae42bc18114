"""`correction`: the case goes back to the applicant, with the statutory
clock paused; an optional deadline sends it elsewhere (`on_timeout`) when
the applicant does not answer in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import TaskCancelled, TaskCompleted, TimerCancelled
from ..events import SubmitCorrection
from ..loading.positions import key_pos, value_pos
from ..loading.primitives import DURATION_KEYS
from ..notices import changed_fields, take_notice
from ..problems import Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader


class Correction(NodeKind):
    type = "correction"
    keys = frozenset({"deadline", "next", "on_timeout", "max_rounds"})
    waits = True
    colours = ("#fff3e0", "#9a5b00", "5 3")
    caption = gettext_noop("applicant corrects")
    bpmn_element = "userTask"
    lane = "applicant"
    events = {SubmitCorrection: "submit"}

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        reader.single_next(node, item, what)
        if "deadline" in item:
            deadline = reader.mapping(
                item["deadline"], value_pos(item, "deadline"), Message("{what} deadline", what=what)
            )
            if deadline is not None:
                reader.keys(deadline, DURATION_KEYS, (), Message("{what} deadline", what=what))
                node.duration = reader.duration(deadline, Message("{what} deadline", what=what))
            if "on_timeout" not in item:
                reader.err(
                    key_pos(item, "deadline"),
                    Message(
                        "{what}: a correction deadline needs 'on_timeout' (where the case goes "
                        "when it is missed)",
                        what=what,
                    ),
                )
        if "on_timeout" in item:
            if "deadline" not in item:
                reader.err(
                    key_pos(item, "on_timeout"), Message("{what}: 'on_timeout' needs a 'deadline'", what=what)
                )
            node.on_timeout = reader.target(item, "on_timeout", what, node)
        if "max_rounds" in item:
            # How often reviewers may send the case here (govflow.engine.notices.check_rounds).
            cap = reader.integer(item, "max_rounds", what, minimum=1, maximum=20)
            if cap is not None:
                node.settings["max_rounds"] = cap

    def successors(self, node: Node) -> tuple[str, ...]:
        if node.on_timeout:
            return tuple(dict.fromkeys((*node.next, node.on_timeout)))
        return node.next

    def holds_clock(self, node: Node) -> bool:
        return True

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        round_ = machine.next_round(node.id)
        task_id = machine.create_task(
            token_id, node, "correction", None, round_, None, notice=take_notice(machine)
        )
        token["tasks"] = [task_id]
        if node.duration is not None:
            machine.start_timer_for("correction_deadline", node, token_id, task_id, node.duration)
        machine.pause(node.id)

    def submit(self, machine: Machine, event: SubmitCorrection, task: dict, node: Node) -> None:
        state = machine.state
        del state["tasks"][event.task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == event.task_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        machine.effects.append(TaskCompleted(event.task_id, node.id, "corrected"))
        data = state["data"]
        changed = changed_fields(data, event.data)
        data.update(event.data)
        token = state["tokens"][task["token"]]
        token.pop("tasks", None)
        machine.resume(node.id)
        machine.move(task["token"], recheck_from(machine, node, changed) or node.next[0])

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # correction_deadline: the applicant did not answer in time
        task_id = timer["task"]
        machine.state["tasks"].pop(task_id, None)
        machine.effects.append(TaskCancelled(task_id, node.id, "deadline_missed"))
        machine.state["tokens"][timer["token"]].pop("tasks", None)
        machine.resume(node.id)
        machine.move(timer["token"], node.on_timeout or "")


def recheck_from(machine: Machine, node: Node, changed: set[str]) -> str | None:
    """The automated step to run again after a correction that changed
    `changed`: the first (in the template's order) service task of the same
    process and block that has run in this case and names a changed field
    among its `inputs`; None when there is none (the case goes to `next`).
    From there the case takes its way again, through the gateways after
    the check, so a correction cannot carry a taken company name straight
    back to the reviewer."""
    if not changed:
        return None
    nodes, rounds = machine.nodes, machine.state["rounds"]
    here = _blocks(nodes, node.id)
    found = [
        other
        for other in nodes.values()
        if other.type == "service_task"
        and other.process == node.process
        and rounds.get(other.id, 0) > 0
        and changed.intersection(other.settings.get("inputs", ()))
        and _blocks(nodes, other.id) == here
    ]
    if not found:
        return None
    return min(found, key=lambda other: (other.line, other.col)).id


def _blocks(nodes: dict[str, Node], node_id: str) -> frozenset[str]:
    """The splits whose block holds the node (a token's scopes there)."""
    return frozenset(split.id for split in nodes.values() if node_id in split.block)
