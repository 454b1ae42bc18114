"""`signal`: the case waits for another system to tell it something (a
payment platform: the fee is paid; a registry: the seal is filed). The
message arrives as a `Signal` event (over the REST API:
`POST /api/v1/cases/{reference}/signals/{name}/`); its data becomes
`result.<node id>.<key>` for later conditions. An optional `deadline`
sends the case to `on_timeout` when the message does not come in time.

    - id: await_payment
      type: signal
      title: {zh: 等待缴费, en: Wait for the fee}
      signal: fee_paid
      next: issue
      deadline: {days: 10}
      on_timeout: unpaid
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import TimerCancelled
from ..loading.positions import key_pos, value_pos
from ..loading.primitives import DURATION_KEYS
from ..problems import Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader

# A signal's name: what the sending system puts in the address.
SIGNAL_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class SignalWait(NodeKind):
    type = "signal"
    keys = frozenset({"signal", "next", "deadline", "on_timeout"})
    waits = True
    has_results = True
    shape = "event"
    colours = ("#eef6fb", "#1f5f8b", "")
    caption = gettext_noop("waits for a message")
    bpmn_element = "intermediateCatchEvent"
    deadline_timer = "signal_deadline"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "signal" not in item:
            reader.err(
                (node.line, node.col),
                Message("{what} is missing required key 'signal' (the message's name)", what=what),
            )
        else:
            name = reader.ident(item, "signal", what, pattern=SIGNAL_RE)
            if name is not None:
                node.settings["signal"] = name
        self.read_flows(reader, node, item, what)

    def read_flows(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        """`next`, and the optional `deadline` with its `on_timeout`."""
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
                        "{what}: a {type} deadline needs 'on_timeout' (where the case goes "
                        "when it is missed)",
                        what=what,
                        type=self.type,
                    ),
                )
        if "on_timeout" in item:
            if "deadline" not in item:
                reader.err(
                    key_pos(item, "on_timeout"), Message("{what}: 'on_timeout' needs a 'deadline'", what=what)
                )
            node.on_timeout = reader.target(item, "on_timeout", what, node)

    def successors(self, node: Node) -> tuple[str, ...]:
        if node.on_timeout:
            return tuple(dict.fromkeys((*node.next, node.on_timeout)))
        return node.next

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        machine.state["results"].pop(node.id, None)
        if node.duration is not None:
            machine.start_timer_for(self.deadline_timer, node, token_id, None, node.duration)

    def receives(self, node: Node, name: str) -> bool:
        return node.settings.get("signal") == name

    def received(self, machine: Machine, token_id: str, node: Node, data: Mapping[str, Any]) -> None:
        state = machine.state
        for timer_id in [m for m, t in state["timers"].items() if t["token"] == token_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        state["results"][node.id] = dict(data)
        machine.move(token_id, node.next[0])

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # signal_deadline: the message did not come in time
        machine.move(timer["token"], node.on_timeout or "")
