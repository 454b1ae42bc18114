"""The node lists of the process and its sub-processes. What is common to
every node (id, type, title, description, no timer where none may stand) is
read here; the rest by the node's kind (`govflow.engine.kinds`)."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from ..definition import MAIN, Node
from ..kinds import KINDS
from ..problems import Message
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
            item = self.mapping(raw, item_pos(items, index, pos), Message("a node"))
            if item is None:
                continue
            node = self.read_node(item, process)
            if node is None:
                continue
            if node.id in seen:
                line, _col = seen[node.id]
                self.err(
                    (node.line, node.col),
                    Message(
                        "duplicate node id '{node}' (first defined at line {line})", node=node.id, line=line
                    ),
                )
                continue
            seen[node.id] = (node.line, node.col)
            nodes[node.id] = node
            if node.type == "start":
                starts.append(node)
        where = (
            Message("the process") if process == MAIN else Message("sub-process '{process}'", process=process)
        )
        if not starts:
            self.err(pos, Message("{where} has no start node", where=where))
            return None
        for extra in starts[1:]:
            self.err(
                (extra.line, extra.col),
                Message(
                    "{where} has more than one start node ('{starts}' and '{extra}')",
                    where=where,
                    starts=starts[0].id,
                    extra=extra.id,
                ),
            )
        return starts[0].id

    def read_node(self, item: CommentedMap, process: str) -> Node | None:
        node_id = self.ident(item, "id", "node") if "id" in item else None
        if "id" not in item:
            self.err(pos_of(item), "node is missing required key 'id'")
        node_type = item.get("type")
        what = Message("node '{node_id}'", node_id=node_id) if node_id else "node"
        if "type" not in item:
            self.err(pos_of(item), Message("{what} is missing required key 'type'", what=what))
            return None
        kind = KINDS.get(node_type) if isinstance(node_type, str) else None
        if kind is None:
            self.err(
                value_pos(item, "type"),
                Message(
                    "unknown node type {node_type} in {what} (known: {KINDS})",
                    node_type=repr(node_type),
                    what=what,
                    KINDS=", ".join(KINDS),
                ),
            )
            return None
        allowed = COMMON_NODE_KEYS | kind.keys
        for key in TIMER_KEYS:
            if key in item and key not in allowed:
                self.err(
                    key_pos(item, key),
                    Message(
                        "a timer ('{key}') cannot stand on {article} {node_type} node: only "
                        "user tasks take an SLA, wait nodes take days or hours, and "
                        "corrections take a deadline",
                        key=key,
                        article=kind.article,
                        node_type=node_type,
                    ),
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
            self.err(pos_of(item), Message("{what} is missing required key 'outcomes'", what=what))
            return {}
        mapping = self.mapping(
            item["outcomes"], value_pos(item, "outcomes"), Message("{what} outcomes", what=what)
        )
        if mapping is None:
            return {}
        result: dict[str, str] = {}
        for key in mapping:
            if key not in allowed:
                self.err(
                    key_pos(mapping, key),
                    Message(
                        "unknown outcome {key} in {what} (allowed: {allowed})",
                        key=repr(key),
                        what=what,
                        allowed=", ".join(allowed),
                    ),
                )
                continue
            target = self.target(mapping, key, Message("{what} outcome", what=what), node)
            if target is not None:
                result[str(key)] = target
        if required not in mapping:
            self.err(
                value_pos(item, "outcomes"),
                Message("{what} outcomes must include '{required}'", what=what, required=required),
            )
        return result
