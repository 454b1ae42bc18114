"""An SVG diagram of a process, drawn on the server from its definition.

Layout is layered left to right: a node's column is the longest path to it
from the start over forward flows (flows that go back, such as a correction
returning to its review, are drawn below the diagram, dashed), and nodes in a
column keep the order a breadth-first walk meets them. The main process comes
first, then each sub-process under it. Text is escaped; nothing from the
template reaches the SVG unescaped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _

from govflow.engine.definition import MAIN, Definition, Node, node_departments
from govflow.engine.kinds import KINDS

NODE_W, NODE_H = 156, 60
GAP_X, GAP_Y = 56, 22
MARGIN = 20
HEADING = 28
GATEWAY = 44
CIRCLE_R = 18
FONT = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"

# A node's shape, box colours, gateway sign and caption are data on its kind
# (govflow.engine.kinds); only the events are drawn specially here.
END_COLOURS = {"approved": "#2e6b30", "rejected": "#b3261e", "withdrawn": "#5f6368"}


@dataclass
class _Placed:
    node: Node
    layer: int
    row: int
    cx: float = 0.0
    cy: float = 0.0

    @property
    def half_width(self) -> float:
        shape = KINDS[self.node.type].shape
        if shape == "event":
            return CIRCLE_R
        if shape == "gateway":
            return GATEWAY / 2
        return NODE_W / 2


def _units(char: str) -> int:
    return 2 if ord(char) > 0x2E7F else 1


def wrap(text: str, max_units: int = 21, max_lines: int = 3) -> list[str]:
    """Break a label into lines of about `max_units` (a CJK character counts 2)."""
    lines: list[str] = []
    current, width = "", 0
    for char in text:
        if width + _units(char) > max_units:
            lines.append(current)
            current, width = "", 0
            if len(lines) == max_lines:
                break
        current += char
        width += _units(char)
    else:
        if current:
            lines.append(current)
        return lines
    lines[-1] = lines[-1][:-1] + "…"
    return lines


def _outcome_label(outcome: str) -> str:
    return {
        "approve": _("approve"),
        "reject": _("reject"),
        "return": _("return"),
        "approved": _("approved"),
        "rejected": _("rejected"),
        "withdrawn": _("withdrawn"),
    }.get(outcome, outcome)


def _edge_labels(node: Node) -> dict[str, tuple[str, str]]:
    """target -> (short label, full text) for a node's outgoing flows."""
    labels: dict[str, tuple[str, str]] = {}
    for outcome, target in node.outcomes.items():
        text = _outcome_label(outcome)
        previous = labels.get(target)
        labels[target] = (f"{previous[0]}/{text}", "") if previous else (text, "")
    for branch in node.branches:
        if branch.default:
            labels[branch.target] = (_("default"), "")
        elif branch.condition is not None:
            source = branch.condition.source
            if source.strip() != "true":
                labels[branch.target] = (source if len(source) <= 22 else source[:21] + "…", source)
    if node.type == "correction" and node.on_timeout:
        labels[node.on_timeout] = (_("not corrected in time"), "")
    return labels


def _layout(definition: Definition, process_id: str) -> tuple[list[_Placed], set[tuple[str, str]]]:
    nodes = {n.id: n for n in definition.nodes.values() if n.process == process_id}
    start = definition.processes[process_id].start
    # Back edges: flows to a node on the current depth-first path.
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    order: list[str] = []

    def visit(root: str) -> None:
        stack = [(root, iter(nodes[root].successors))]
        state[root] = 1
        while stack:
            node_id, children = stack[-1]
            for child in children:
                if child not in nodes:
                    continue
                if state.get(child) == 1:
                    back.add((node_id, child))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, iter(nodes[child].successors)))
                    break
            else:
                state[node_id] = 2
                order.append(node_id)
                stack.pop()

    visit(start)
    for node_id in nodes:
        if node_id not in state:
            visit(node_id)
    layer = {node_id: 0 for node_id in nodes}
    for node_id in reversed(order):  # topological order of the forward flows
        for child in nodes[node_id].successors:
            if child in nodes and (node_id, child) not in back:
                layer[child] = max(layer[child], layer[node_id] + 1)
    seen: list[str] = []
    queue = deque([start])
    visited = {start}
    while queue:
        node_id = queue.popleft()
        seen.append(node_id)
        for child in nodes[node_id].successors:
            if child in nodes and child not in visited:
                visited.add(child)
                queue.append(child)
    seen.extend(n for n in nodes if n not in visited)
    rows: dict[int, int] = {}
    placed = []
    for node_id in seen:
        column = layer[node_id]
        placed.append(_Placed(nodes[node_id], column, rows.get(column, 0)))
        rows[column] = rows.get(column, 0) + 1
    return placed, back


def _department_line(node: Node, departments: Mapping[str, str]) -> str:
    codes = node_departments(node)
    names = [departments.get(code, code) for code in codes]
    if node.countersign is not None:
        return _("countersign: %(names)s") % {"names": "、".join(names)}
    return names[0] if names else ""


def _shape(p: _Placed, lang: str, departments: Mapping[str, str]) -> str:
    node = p.node
    title = node.label(lang)
    tip = f"<title>{escape(title)} ({escape(node.id)})</title>"
    kind = KINDS[node.type]
    if kind.shape == "event" and node.type != "end":
        return (
            f'<g class="node {escape(node.type)}">{tip}'
            f'<circle cx="{p.cx}" cy="{p.cy}" r="{CIRCLE_R}" fill="#eaf5ea" '
            f'stroke="#2e6b30" stroke-width="2"/>'
            + _text_block(p.cx, p.cy + CIRCLE_R + 14, wrap(title, 16, 2), 11, "#1b1b1b")
            + "</g>"
        )
    if node.type == "end":
        colour = END_COLOURS.get(node.outcome or "", "#5f6368")
        return (
            f'<g class="node end">{tip}<circle cx="{p.cx}" cy="{p.cy}" r="{CIRCLE_R}" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="4"/>'
            + _text_block(p.cx, p.cy + CIRCLE_R + 14, wrap(title, 18, 2), 11, "#1b1b1b")
            + "</g>"
        )
    if kind.shape == "gateway":
        h = GATEWAY / 2
        points = f"{p.cx},{p.cy - h} {p.cx + h},{p.cy} {p.cx},{p.cy + h} {p.cx - h},{p.cy}"
        return (
            f'<g class="node gateway">{tip}<polygon points="{points}" fill="#fff8d6" stroke="#7a5d00" '
            f'stroke-width="2"/><text x="{p.cx}" y="{p.cy + 7}" text-anchor="middle" font-size="20" '
            f'fill="#5c4600">{escape(kind.symbol)}</text>'
            + _text_block(p.cx, p.cy + h + 14, wrap(title, 18, 2), 11, "#1b1b1b")
            + "</g>"
        )
    fill, stroke, dash = kind.colours
    x, y = p.cx - NODE_W / 2, p.cy - NODE_H / 2
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [
        f'<g class="node {escape(node.type)}">{tip}',
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="2"{dash_attr}/>',
    ]
    if node.type == "call":
        parts.append(
            f'<rect x="{x + 4}" y="{y + 4}" width="{NODE_W - 8}" height="{NODE_H - 8}" rx="6" '
            f'fill="none" stroke="{stroke}" stroke-width="1"/>'
        )
    if node.type == "user_task":
        sub = _department_line(node, departments)
    else:
        sub = _(kind.caption) if kind.caption else ""
    lines = wrap(title, 21, 2 if sub else 3)
    sub_lines = wrap(sub, 24, 1) if sub else []
    total = len(lines) + len(sub_lines)
    top = p.cy - (total - 1) * 7.5 + 4
    parts.append(_text_block(p.cx, top, lines, 12, "#1b1b1b", weight="600"))
    if sub_lines:
        parts.append(_text_block(p.cx, top + len(lines) * 15, sub_lines, 10.5, "#3c4650"))
    parts.append("</g>")
    return "".join(parts)


def _text_block(
    cx: float, top: float, lines: list[str], size: float, colour: str, weight: str = "400"
) -> str:
    spans = "".join(
        f'<tspan x="{cx}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return (
        f'<text x="{cx}" y="{top}" text-anchor="middle" font-size="{size}" font-weight="{weight}" '
        f'fill="{colour}">{spans}</text>'
    )


def diagram_svg(
    definition: Definition, *, language: str = "zh", departments: Mapping[str, str] | None = None
) -> str:
    """The whole definition as one SVG document (main process, then each
    sub-process), with a title for screen readers."""
    lang = "en" if language.startswith("en") else "zh"
    departments = departments or {}
    process_ids = [MAIN] + [pid for pid in definition.processes if pid != MAIN]
    body: list[str] = []
    width = 0.0
    offset = 0.0
    for pid in process_ids:
        placed, back = _layout(definition, pid)
        if not placed:
            continue
        heading = ""
        if pid != MAIN:
            process_title = definition.processes[pid].title or {}
            heading = process_title.get(lang) or process_title.get("zh") or pid
        top = offset + (HEADING if heading else 0) + MARGIN
        columns = max(p.layer for p in placed) + 1
        tallest = max(sum(1 for q in placed if q.layer == column) for column in range(columns))
        section_h = tallest * (NODE_H + GAP_Y) + 24
        for p in placed:
            in_column = sum(1 for q in placed if q.layer == p.layer)
            shift = (tallest - in_column) * (NODE_H + GAP_Y) / 2
            p.cx = MARGIN + p.layer * (NODE_W + GAP_X) + NODE_W / 2
            p.cy = top + shift + p.row * (NODE_H + GAP_Y) + NODE_H / 2
        by_id = {p.node.id: p for p in placed}
        edges: list[str] = []
        labels: list[str] = []
        lane = top + section_h
        for p in placed:
            edge_labels = _edge_labels(p.node)
            for target in p.node.successors:
                q = by_id.get(target)
                if q is None:
                    continue
                label, full = edge_labels.get(target, ("", ""))
                if (p.node.id, target) in back or q.layer <= p.layer:
                    lane += 12
                    y1 = p.cy + (NODE_H / 2 if p.half_width == NODE_W / 2 else p.half_width)
                    y2 = q.cy + (NODE_H / 2 if q.half_width == NODE_W / 2 else q.half_width)
                    edges.append(
                        f'<path d="M{p.cx},{y1} L{p.cx},{lane} L{q.cx},{lane} L{q.cx},{y2}" fill="none" '
                        f'stroke="#6b7785" stroke-width="1.5" stroke-dasharray="4 3" '
                        f'marker-end="url(#arrow)"/>'
                    )
                    if label:
                        labels.append(_edge_label((p.cx + q.cx) / 2, lane - 3, label, full))
                    continue
                x1, y1 = p.cx + p.half_width, p.cy
                x2, y2 = q.cx - q.half_width, q.cy
                bend = max((x2 - x1) / 2, 20)
                edges.append(
                    f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2 - 2},{y2}" fill="none" '
                    f'stroke="#6b7785" stroke-width="1.5" marker-end="url(#arrow)"/>'
                )
                if label and q.layer - p.layer > 1:
                    # A long flow crosses other columns: label it where it starts.
                    labels.append(
                        _edge_label(x1 + 8, y1 - 6 if y2 <= y1 else y1 + 14, label, full, anchor="start")
                    )
                elif label:
                    labels.append(_edge_label((x1 + x2) / 2, (y1 + y2) / 2 - 5, label, full))
        if heading:
            body.append(
                f'<text x="{MARGIN}" y="{offset + 22}" font-size="14" font-weight="700" '
                f'fill="#1f3a5f">{escape(heading)}</text>'
            )
        body.extend(edges)
        body.extend(_shape(p, lang, departments) for p in placed)
        body.extend(labels)
        width = max(width, MARGIN * 2 + columns * NODE_W + (columns - 1) * GAP_X)
        offset = lane + MARGIN + 8
    title = definition.title.get(lang) or definition.title.get("zh") or definition.id
    heading = _("Process diagram: %(title)s") % {"title": title}
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="diagram-title" '
        f'width="{width:.0f}" height="{offset:.0f}" viewBox="0 0 {width:.0f} {offset:.0f}" '
        f"font-family={quoteattr(FONT)}>"
        f'<title id="diagram-title">{escape(heading)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7785"/></marker></defs>'
        '<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


def _edge_label(x: float, y: float, label: str, full: str, anchor: str = "middle") -> str:
    tip = f"<title>{escape(full)}</title>" if full else ""
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="10.5" fill="#33475b" '
        f'paint-order="stroke" stroke="#ffffff" stroke-width="3">{tip}{escape(label)}</text>'
    )


def outline(definition: Definition, *, language: str = "zh") -> list[tuple[str, str, list[str]]]:
    """A text version of the diagram: (process heading, node title, titles of
    the nodes it leads to), for screen readers and small screens."""
    lang = "en" if language.startswith("en") else "zh"
    rows = []
    for node in definition.nodes.values():
        process = definition.processes.get(node.process)
        heading = ""
        if process is not None and node.process != MAIN and process.title:
            heading = process.title.get(lang) or process.title.get("zh") or node.process
        targets = [definition.nodes[t].label(lang) for t in node.successors if t in definition.nodes]
        rows.append((heading, node.label(lang), targets))
    return rows
