"""Cross-references that need the whole document: the data conditions
name, the fields clearances name, the sub-processes calls name."""

from __future__ import annotations

from ..definition import MAIN, Node
from ..kinds import KINDS
from ..problems import Message
from .primitives import Primitives


class Checks(Primitives):
    def check_conditions(self, nodes: dict[str, Node]) -> None:
        for expression, pos, _node_id in self.conditions:
            for name in sorted(expression.names):
                problem = self.name_problem(name, nodes)
                if problem:
                    self.err(pos, problem)

    def name_problem(self, name: str, nodes: dict[str, Node]) -> str | None:
        parts = name.split(".")
        head = parts[0]
        if head not in self.fields and head in self.declared_fields:
            return None  # the field itself was refused; that problem is reported already
        if head in self.fields:
            spec = self.fields[head]
            if len(parts) == 1:
                return None
            if spec.type == "table" and len(parts) == 2 and any(c.id == parts[1] for c in spec.columns):
                return None
            return Message("condition names unknown field '{name}'", name=name)
        if head == "decision":
            if len(parts) == 2 and parts[1] in nodes and KINDS[nodes[parts[1]].type].decides:
                return None
            return Message(
                "condition names unknown decision '{name}' (use decision.<user task or call node id>)",
                name=name,
            )
        if head == "result":
            if len(parts) >= 2 and parts[1] in nodes and KINDS[nodes[parts[1]].type].has_results:
                return None
            return Message(
                "condition names unknown result '{name}' (use result.<service or user task id>.<key>)",
                name=name,
            )
        return Message("condition names unknown field '{name}'", name=name)

    def check_return_targets(self, nodes: dict[str, Node]) -> None:
        for node_id, targets in self.return_positions.items():
            process = nodes[node_id].process if node_id in nodes else None
            for target, pos in targets.items():
                other = nodes.get(target)
                if (
                    other is None
                    or other.type != "user_task"
                    or other.process != process
                    or target == node_id
                ):
                    self.err(
                        pos,
                        Message(
                            "node '{node_id}' return_to names '{target}', which is no other user "
                            "task of its process",
                            node_id=node_id,
                            target=target,
                        ),
                    )

    def check_clearance(self, nodes: dict[str, Node]) -> None:
        positions = self.clearance_positions
        for node_id, fields in positions.items():
            for field_id, pos in fields.items():
                table_id, _, column_id = field_id.partition(".")
                spec = self.fields.get(table_id)
                if spec is not None and column_id:
                    spec = (
                        next((c for c in spec.columns if c.id == column_id), None)
                        if spec.type == "table"
                        else None
                    )
                if spec is None:
                    self.err(
                        pos,
                        Message(
                            "node '{node_id}' clearance names unknown field '{field_id}'",
                            node_id=node_id,
                            field_id=field_id,
                        ),
                    )
                elif spec.sensitivity != "secret":
                    self.err(
                        pos,
                        Message(
                            "node '{node_id}' clearance names '{field_id}', which is not a secret field",
                            node_id=node_id,
                            field_id=field_id,
                        ),
                    )
        calls = self.call_positions
        for node_id, pos in calls.items():
            node = nodes.get(node_id)
            if node is None or node.calls is None:
                continue
            if node.calls not in {n.process for n in nodes.values()} or node.calls == MAIN:
                self.err(
                    pos,
                    Message(
                        "node '{node_id}' calls unknown sub-process '{calls}'",
                        node_id=node_id,
                        calls=node.calls,
                    ),
                )
