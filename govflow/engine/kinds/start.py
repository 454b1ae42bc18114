"""`start`: where a process (the main one or a sub-process) begins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from .base import NodeKind

if TYPE_CHECKING:
    from .base import Machine, Reader


class Start(NodeKind):
    type = "start"
    keys = frozenset({"next"})
    titled = False
    shape = "event"
    bpmn_element = "startEvent"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        reader.single_next(node, item, what)

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        machine.move(token_id, node.next[0])
