"""`service_task`: an automated step that calls a registered Python handler
(never code from the YAML) and moves on when the handler reports back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import ServiceCall, TaskCompleted
from ..events import ServiceDone
from ..loading.positions import item_pos, value_pos
from ..problems import Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader


class ServiceTask(NodeKind):
    type = "service_task"
    keys = frozenset({"handler", "next", "inputs"})
    waits = True
    has_results = True
    colours = ("#eaf5ea", "#2e6b30", "")
    caption = gettext_noop("automated")
    bpmn_element = "serviceTask"
    events = {ServiceDone: "done"}

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        handler = reader.ident(item, "handler", what) if "handler" in item else None
        if "handler" not in item:
            reader.err((node.line, node.col), Message("{what} is missing required key 'handler'", what=what))
        elif handler is not None and reader.handlers is not None and handler not in reader.handlers:
            reader.err(
                value_pos(item, "handler"),
                Message(
                    "unknown service handler '{handler}' (registered: {handlers})",
                    handler=handler,
                    handlers=", ".join(sorted(reader.handlers)),
                ),
            )
        node.handler = handler
        reader.single_next(node, item, what)
        if "inputs" in item:
            # The form fields the handler reads: a correction that changes one
            # of them runs the step again (kinds/correction.py).
            raw = (
                reader.seq(item["inputs"], value_pos(item, "inputs"), Message("{what} inputs", what=what))
                or []
            )
            inputs = []
            for index, value in enumerate(raw):
                if not isinstance(value, str) or value not in reader.fields:
                    reader.err(
                        item_pos(raw, index, value_pos(item, "inputs")),
                        Message(
                            "{what} inputs names {value}, which is no field of the form",
                            what=what,
                            value=repr(value),
                        ),
                    )
                else:
                    inputs.append(str(value))
            node.settings["inputs"] = tuple(inputs)

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        machine.state["results"].pop(node.id, None)
        round_ = machine.next_round(node.id)
        task_id = machine.create_task(token_id, node, "service", None, round_, None)
        token["tasks"] = [task_id]
        machine.effects.append(ServiceCall(task_id, node.id, node.handler or ""))

    def done(self, machine: Machine, event: ServiceDone, task: dict, node: Node) -> None:
        state = machine.state
        del state["tasks"][event.task_id]
        machine.effects.append(TaskCompleted(event.task_id, node.id, "done"))
        state["results"][node.id] = dict(event.data)
        token = state["tokens"][task["token"]]
        token.pop("tasks", None)
        machine.move(task["token"], node.next[0])
