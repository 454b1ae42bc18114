"""`inclusive`: every branch whose condition holds runs (the default when
none does), and the matching join waits for exactly those."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..definition import Node
from ..problems import Message, NoBranchMatched
from .gateway import Gateway

if TYPE_CHECKING:
    from .base import Machine


class Inclusive(Gateway):
    type = "inclusive"
    article = "an"
    symbol = "○"
    bpmn_element = "inclusiveGateway"

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        if node.is_join:
            machine.arrive(token_id, token, node)
        elif node.is_split:
            context = machine.context()
            chosen = [
                b.target for b in node.branches if not b.default and machine.holds(node, b.condition, context)
            ]
            if not chosen:
                chosen = [b.target for b in node.branches if b.default]
            if not chosen:
                raise NoBranchMatched(
                    Message(
                        "no condition of gateway '{node}' holds and it has no default branch", node=node.id
                    )
                )
            machine.split(token_id, token, node, chosen)
        else:
            machine.move(token_id, node.next[0])
