"""`exclusive`: the first branch whose condition holds wins, else the
default; as a join it passes every arriving token on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..definition import Node
from ..problems import Message, NoBranchMatched
from .gateway import Gateway

if TYPE_CHECKING:
    from .base import Machine


class Exclusive(Gateway):
    type = "exclusive"
    article = "an"
    symbol = "×"
    bpmn_element = "exclusiveGateway"

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        if not node.is_split:
            machine.move(token_id, node.next[0])
            return
        context = machine.context()
        default = None
        for branch in node.branches:
            if branch.default:
                default = branch.target
            elif machine.holds(node, branch.condition, context):
                machine.move(token_id, branch.target)
                return
        if default is None:
            raise NoBranchMatched(
                Message("no condition of gateway '{node}' holds and it has no default branch", node=node.id)
            )
        machine.move(token_id, default)
