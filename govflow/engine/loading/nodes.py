"""The node lists of the process and its sub-processes. What is common to
every node (id, type, title, description, no timer where none may stand) is
read here; the rest by the node's kind (`govflow.engine.kinds`)."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from ..definition import MAIN, Node
from ..kinds import KINDS
from .positions import Pos, item_pos, key_pos, pos_of, value_pos
from .primitives import Primitives

COMMON_NODE_KEYS = {"id", "type", "title", "description"}
TIMER_KEYS = ("sla", "deadline", "days", "hours", "calendar_days")


class NodeReader(Primitives):
    def read_nodes(
        self, value: Any, pos: Pos, process: str, nodes: dict[str, Node], seen: dict[str, Pos]
    ) -> str | None:
        items = self.seq(value, pos, "nodes")
        if items is None:
            return None
        if not items:
            self.err(pos, "nodes must not be empty")
            return None
        starts: list[Node] = []
        for index, raw in enumerate(items):
            item = self.mapping(raw, item_pos(items, index, pos), "a node")
            if item is None:
                continue
            node = self.read_node(item, process)
            if node is None:
                continue
            if node.id in seen:
                line, _col = seen[node.id]
                self.err(
                    (node.line, node.col), f"duplicate node id '{node.id}' (first defined at line {line})"
                )
                continue
            seen[node.id] = (node.line, node.col)
            nodes[node.id] = node
            if node.type == "start":
                starts.append(node)
        where = "the process" if process == MAIN else f"sub-process '{process}'"
        if not starts:
            self.err(pos, f"{where} has no start node")
            return None
        for extra in starts[1:]:
            self.err(
                (extra.line, extra.col),
                f"{where} has more than one start node ('{starts[0].id}' and '{extra.id}')",
            )
        return starts[0].id

    def read_node(self, item: CommentedMap, process: str) -> Node | None:
        node_id = self.ident(item, "id", "node") if "id" in item else None
        if "id" not in item:
            self.err(pos_of(item), "node is missing required key 'id'")
        node_type = item.get("type")
        what = f"node '{node_id}'" if node_id else "node"
        if "type" not in item:
            self.err(pos_of(item), f"{what} is missing required key 'type'")
            return None
        kind = KINDS.get(node_type) if isinstance(node_type, str) else None
        if kind is None:
            self.err(
                value_pos(item, "type"),
                f"unknown node type {node_type!r} in {what} (known: {', '.join(KINDS)})",
            )
            return None
        allowed = COMMON_NODE_KEYS | kind.keys
        for key in TIMER_KEYS:
            if key in item and key not in allowed:
                self.err(
                    key_pos(item, key),
                    f"a timer ('{key}') cannot stand on {kind.article} {node_type} node: "
                    "only user tasks take an SLA, "
                    "wait nodes take days or hours, and corrections take a deadline",
                )
        self.keys(item, allowed, ("id", "type"), what, reported=TIMER_KEYS)
        line, col = pos_of(item)
        title = self.label(item, "title", what, required=kind.titled)
        if node_id is None:
            return None
        description = self.label(item, "description", what, required=False)
        node = Node(
            id=node_id,
            type=kind.type,
            process=process,
            title=title,
            description=description,
            line=line,
            col=col,
        )
        kind.read(self, node, item, what)
        return node

    def outcomes(
        self, node: Node, item: CommentedMap, what: str, allowed: tuple[str, ...], required: str
    ) -> dict[str, str]:
        if "outcomes" not in item:
            self.err(pos_of(item), f"{what} is missing required key 'outcomes'")
            return {}
        mapping = self.mapping(item["outcomes"], value_pos(item, "outcomes"), f"{what} outcomes")
        if mapping is None:
            return {}
        result: dict[str, str] = {}
        for key in mapping:
            if key not in allowed:
                self.err(
                    key_pos(mapping, key),
                    f"unknown outcome {key!r} in {what} (allowed: {', '.join(allowed)})",
                )
                continue
            target = self.target(mapping, key, f"{what} outcome", node)
            if target is not None:
                result[str(key)] = target
        if required not in mapping:
            self.err(value_pos(item, "outcomes"), f"{what} outcomes must include '{required}'")
        return result
