"""`correction`: the case goes back to the applicant, with the statutory
clock paused; an optional deadline sends it elsewhere (`on_timeout`) when
the applicant does not answer in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import TaskCancelled, TaskCompleted, TimerCancelled
from ..events import SubmitCorrection
from ..loading.positions import key_pos, value_pos
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader


class Correction(NodeKind):
    type = "correction"
    keys = frozenset({"deadline", "next", "on_timeout"})
    waits = True
    colours = ("#fff3e0", "#9a5b00", "5 3")
    caption = gettext_noop("applicant corrects")
    bpmn_element = "userTask"
    lane = "applicant"
    events = {SubmitCorrection: "submit"}

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        reader.single_next(node, item, what)
        if "deadline" in item:
            deadline = reader.mapping(item["deadline"], value_pos(item, "deadline"), f"{what} deadline")
            if deadline is not None:
                reader.keys(deadline, ("days", "hours"), (), f"{what} deadline")
                node.duration = reader.duration(deadline, f"{what} deadline")
            if "on_timeout" not in item:
                reader.err(
                    key_pos(item, "deadline"),
                    f"{what}: a correction deadline needs 'on_timeout' "
                    "(where the case goes when it is missed)",
                )
        if "on_timeout" in item:
            if "deadline" not in item:
                reader.err(key_pos(item, "on_timeout"), f"{what}: 'on_timeout' needs a 'deadline'")
            node.on_timeout = reader.target(item, "on_timeout", what, node)

    def successors(self, node: Node) -> tuple[str, ...]:
        if node.on_timeout:
            return tuple(dict.fromkeys((*node.next, node.on_timeout)))
        return node.next

    def holds_clock(self, node: Node) -> bool:
        return True

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        round_ = machine.next_round(node.id)
        task_id = machine.create_task(token_id, node, "correction", None, round_, None)
        token["tasks"] = [task_id]
        if node.duration is not None:
            machine.start_timer(
                "correction_deadline", node, token_id, task_id, node.duration.days, node.duration.hours, 1.0
            )
        machine.pause(node.id)

    def submit(self, machine: Machine, event: SubmitCorrection, task: dict, node: Node) -> None:
        state = machine.state
        del state["tasks"][event.task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == event.task_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        machine.effects.append(TaskCompleted(event.task_id, node.id, "corrected"))
        state["data"].update(event.data)
        token = state["tokens"][task["token"]]
        token.pop("tasks", None)
        machine.resume(node.id)
        machine.move(task["token"], node.next[0])

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # correction_deadline: the applicant did not answer in time
        task_id = timer["task"]
        machine.state["tasks"].pop(task_id, None)
        machine.effects.append(TaskCancelled(task_id, node.id, "deadline_missed"))
        machine.state["tokens"][timer["token"]].pop("tasks", None)
        machine.resume(node.id)
        machine.move(timer["token"], node.on_timeout or "")
