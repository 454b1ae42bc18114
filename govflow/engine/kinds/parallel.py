"""`parallel`: splits into every branch (`next` is a list), and joins when
all of them have arrived."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..definition import Node
from .gateway import Gateway

if TYPE_CHECKING:
    from .base import Machine


class Parallel(Gateway):
    type = "parallel"
    keys = frozenset({"next"})
    symbol = "+"
    bpmn_element = "parallelGateway"

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        if node.is_join:
            machine.arrive(token_id, token, node)
        elif node.is_split:
            machine.split(token_id, token, node, node.next)
        else:
            machine.move(token_id, node.next[0])
