"""`wait`: holds the case for a span of working time (a public-notice
period), then moves on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..loading.primitives import DURATION_KEYS
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader


class Wait(NodeKind):
    type = "wait"
    keys = frozenset({*DURATION_KEYS, "next"})
    waits = True
    colours = ("#f3eefa", "#5e3a8c", "")
    caption = gettext_noop("waiting period")
    bpmn_element = "intermediateCatchEvent"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        node.duration = reader.duration(item, what)
        reader.single_next(node, item, what)

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        duration = node.duration
        assert duration is not None
        machine.start_timer_for("wait", node, token_id, None, duration)

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        machine.move(timer["token"], node.next[0])
