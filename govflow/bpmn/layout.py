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
    routed: dict[str, list[tuple[float, float]]] = {}
    for flow_id, source, target in edges:
        if target not in boxes:
            continue
        t = boxes[target]
        if source in boundary_boxes:
            b = boundary_boxes[source]
            start_point = (b.cx, b.y + b.h)
            if t.x > b.cx:
                routed[flow_id] = [start_point, (b.cx, t.cy), (t.x, t.cy)]
                if abs(t.cy - start_point[1]) < 1:
                    routed[flow_id] = [start_point, (t.x, start_point[1])]
                continue
            gutter += GUTTER_STEP
            routed[flow_id] = [start_point, (b.cx, gutter), (t.cx, gutter), (t.cx, t.y + t.h)]
            continue
        if source not in boxes:
            continue
        s = boxes[source]
        host = source
        if (host, target) in back or layer[target] <= layer[host]:
            gutter += GUTTER_STEP
            routed[flow_id] = [(s.cx, s.y + s.h), (s.cx, gutter), (t.cx, gutter), (t.cx, t.y + t.h)]
            continue
        x1, y1 = s.x + s.w, s.cy
        x2, y2 = t.x, t.cy
        if abs(y1 - y2) < 1:
            routed[flow_id] = [(x1, y1), (x2, y2)]
        else:
            mid = x2 - (LAYER_W - SIZES["task"][0]) / 2 + 4 if x2 - x1 > LAYER_W / 2 else (x1 + x2) / 2
            mid = max(mid, x1 + 10)
            routed[flow_id] = [(x1, y1), (mid, y1), (mid, y2), (x2, y2)]
    bottom = gutter + (GUTTER_STEP if gutter > y else 0)
    if lanes:
        lanes[-1].h += bottom - y
    pool = Box(0, top, width, max(bottom - top, ROW_H))
    return LaidOut(pool=pool, lanes=lanes, nodes=boxes, boundaries=boundary_boxes, edges=routed)
