"""A layered, left-to-right layout for the BPMN export's diagram interchange.

A node's column (layer) is the longest path to it from the process's start
over forward flows; flows that go back (a correction returning to its review)
are routed below the pool in a gutter. Each lane is a horizontal band; a
column of one lane stacks its nodes in the order a breadth-first walk meets
them. Edges are orthogonal polylines, as modelers draw them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (100, 80)}
LAYER_W = 160
ROW_H = 120
POOL_LABEL = 30
LANE_LABEL = 30
LEFT = POOL_LABEL + LANE_LABEL + 20
GUTTER_STEP = 12
# Vertical runs keep this far inside a column's boundary (flows entering and
# leaving one column then do not share a line).
CHANNEL = 6
BOUNDARY = 36


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class LaidOut:
    pool: Box
    lanes: list[Box]
    nodes: dict[str, Box]
    boundaries: dict[str, Box]
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def _via(x: float, y: float, target: Box) -> list[tuple[float, float]]:
    return [(x, y), (x, target.cy), (target.x, target.cy)]


def layout_process(
    *,
    nodes: list[tuple[str, str, int]],  # (id, shape kind, lane index) in document order
    lane_count: int,
    start: str,
    edges: list[tuple[str, str, str]],  # (flow id, source, target); sources may be boundary events
    boundaries: dict[str, str],  # boundary event id -> host node id
    top: float,
) -> LaidOut:
    kind = {node_id: shape for node_id, shape, _ in nodes}
    lane_of = {node_id: lane for node_id, _, lane in nodes}
    order = [node_id for node_id, _, _ in nodes]
    succ: dict[str, list[str]] = {n: [] for n in order}
    for _, source, target in edges:
        host = boundaries.get(source, source)
        if host in succ and target in succ:
            succ[host].append(target)

    # Back edges: flows to a node on the current depth-first path.
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(root: str) -> None:
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            current, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    back.add((current, child))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, iter(succ[child])))
                    break
            else:
                state[current] = 2
                stack.pop()

    roots = [start] if start in succ else []
    roots += [n for n in order if n != start]
    for root in roots:
        if root not in state:
            visit(root)

    # Longest path over forward edges (Kahn's order).
    indegree = {n: 0 for n in order}
    for source, targets in succ.items():
        for target in targets:
            if (source, target) not in back:
                indegree[target] += 1
    layer = {n: 0 for n in order}
    queue = deque(n for n in order if indegree[n] == 0)
    while queue:
        current = queue.popleft()
        for target in succ[current]:
            if (current, target) in back:
                continue
            layer[target] = max(layer[target], layer[current] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                queue.append(target)

    # Rows inside each (lane, layer) cell, in breadth-first order from the start.
    seen: list[str] = []
    bfs = deque([start] if start in succ else [])
    marked = set(bfs)
    while bfs:
        current = bfs.popleft()
        seen.append(current)
        for target in succ[current]:
            if target not in marked:
                marked.add(target)
                bfs.append(target)
    seen += [n for n in order if n not in marked]
    row: dict[str, int] = {}
    cells: dict[tuple[int, int], int] = {}
    for node_id in seen:
        cell = (lane_of[node_id], layer[node_id])
        row[node_id] = cells.get(cell, 0)
        cells[cell] = row[node_id] + 1
    lane_rows = [
        max([c for (lane, _), c in cells.items() if lane == index] or [1]) for index in range(lane_count)
    ]

    columns = max(layer.values(), default=0) + 1
    width = LEFT + columns * LAYER_W + 20
    lanes: list[Box] = []
    y = top
    for rows in lane_rows:
        lanes.append(Box(POOL_LABEL, y, width - POOL_LABEL, rows * ROW_H))
        y += rows * ROW_H
    boxes: dict[str, Box] = {}
    for node_id in order:
        w, h = SIZES[kind[node_id]]
        lane = lanes[lane_of[node_id]]
        cx = LEFT + layer[node_id] * LAYER_W + LAYER_W / 2
        cy = lane.y + row[node_id] * ROW_H + ROW_H / 2
        boxes[node_id] = Box(cx - w / 2, cy - h / 2, w, h)
    boundary_boxes: dict[str, Box] = {}
    per_host: dict[str, int] = {}
    for boundary_id, host in boundaries.items():
        if host not in boxes:
            continue
        index = per_host.get(host, 0)
        per_host[host] = index + 1
        hb = boxes[host]
        boundary_boxes[boundary_id] = Box(
            hb.x + hb.w - BOUNDARY / 2 - 14 - index * (BOUNDARY + 4),
            hb.y + hb.h - BOUNDARY / 2,
            BOUNDARY,
            BOUNDARY,
        )

    gutter = y

    def column_left(node_id: str) -> float:
        """The boundary line left of a node's column: no shape lies on it."""
        return LEFT + layer[node_id] * LAYER_W

    def row_top(node_id: str) -> float:
        """The boundary line above a node's row: no shape crosses it."""
        return lanes[lane_of[node_id]].y + row[node_id] * ROW_H

    routed: dict[str, list[tuple[float, float]]] = {}
    for flow_id, source, target in edges:
        if target not in boxes:
            continue
        t = boxes[target]
        into_target = [(column_left(target) + CHANNEL, t.cy), (t.x, t.cy)]
        if source in boundary_boxes:
            b = boundary_boxes[source]
            start_point = (b.cx, b.y + b.h)
            host = boundaries[source]
            if layer[target] == layer[host] + 1 and abs(t.cy - boxes[host].cy) < 1:
                routed[flow_id] = [
                    start_point,
                    (b.cx, row_top(host) + ROW_H - 1),
                    *_via(column_left(target) + CHANNEL, row_top(host) + ROW_H - 1, t),
                ]
                continue
            # Down to the gutter below the pool, along it, and up the
            # boundary line left of the target's column.
            gutter += GUTTER_STEP
            routed[flow_id] = [
                start_point,
                (b.cx, row_top(host) + ROW_H - 1),
                (column_left(host) + LAYER_W - CHANNEL, row_top(host) + ROW_H - 1),
                (column_left(host) + LAYER_W - CHANNEL, gutter),
                (column_left(target) + CHANNEL, gutter),
                *into_target,
            ]
            continue
        if source not in boxes:
            continue
        s = boxes[source]
        x1, y1 = s.x + s.w, s.cy
        right = column_left(source) + LAYER_W - CHANNEL
        if (source, target) in back or layer[target] <= layer[source]:
            # Back: out to the right, down the column boundary to the gutter,
            # along it, and up the boundary line left of the target.
            gutter += GUTTER_STEP
            routed[flow_id] = [
                (x1, y1),
                (right, y1),
                (right, gutter),
                (column_left(target) + CHANNEL, gutter),
            ]
            routed[flow_id] += into_target
            continue
        x2, y2 = t.x, t.cy
        if layer[target] == layer[source] + 1:
            # Next column: across the gap between the two.
            if abs(y1 - y2) < 1:
                routed[flow_id] = [(x1, y1), (x2, y2)]
            else:
                mid = column_left(target)
                routed[flow_id] = [(x1, y1), (mid, y1), (mid, y2), (x2, y2)]
            continue
        # Further on: shapes may stand in the columns between, so travel on
        # the row boundary above the source, which no shape crosses.
        channel = row_top(source)
        routed[flow_id] = [(x1, y1), (right, y1), (right, channel), (column_left(target) + CHANNEL, channel)]
        routed[flow_id] += into_target
    bottom = gutter + (GUTTER_STEP if gutter > y else 0)
    if lanes:
        lanes[-1].h += bottom - y
    pool = Box(0, top, width, max(bottom - top, ROW_H))
    return LaidOut(pool=pool, lanes=lanes, nodes=boxes, boundaries=boundary_boxes, edges=routed)
