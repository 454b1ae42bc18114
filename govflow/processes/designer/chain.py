"""A template read as the designer draws it: per process, a vertical chain
of cards, with branch blocks as side-by-side columns that close into one
card below, and the flows that leave the chain sideways (a rejection to an
end, a correction that loops back, a 退回 to an earlier step) kept as
routes of the card they leave.

What "block-structured" means here is what govflow's graph checks demand
(govflow.engine.graph, docs/process-language.md sections 6 and 20): a
parallel or inclusive split is closed by one join of its kind, a branch
leaves its block only to that join or to an end that refuses, and nothing
enters a block but through its split. Exclusive paths may meet anywhere and
loops may go back to any earlier node. The reading:

1. A flow back to a node that dominates its source (every way from the
   start to the source passes it) is a loop: a route "back to" that node.
2. A node whose only ways on are such loops (a correction that sends the
   case back to the step that asked for it) is a detour: drawn inside the
   route of the card that leads to it, not as a card of the chain.
3. A flow to an end is a route, except the one way on of a card that has
   no other (the decision's approval to the approving end): that end is the
   chain's last card.
4. What is left is split into blocks at each card with more than one way
   on; a block closes at the first card every one of its columns reaches
   (the immediate post-dominator). A join gateway of the split's kind that
   closes a block is drawn as the block's bottom edge, not as a card.

A node reached from two places that this reading cannot draw as one chain
(two columns meeting before the block closes, a flow into the middle of a
column from outside, a loop entered at two places) makes the process not
representable, and the reason names the node. The process is still read as
far as it goes: the column (or the chain) that reaches the node a second
time stops there, its last card gets a route "break" to the node, and the
reading goes on with the other columns and below the block, so everything
that has a place is drawn. Only the first such node is the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap

from govflow.engine.problems import Message

from .document import MAIN, Flow, Located, flows, index, processes

GATEWAYS = ("exclusive", "inclusive", "parallel")
FORWARD_LABELS = ("approve", "approved", "accept", "next", "default")


@dataclass
class Route:
    """A flow leaving a card sideways: to an end, back to an earlier node,
    or into a detour (the detour's nodes, in order, then where it goes back)."""

    label: str
    kind: str  # the flow's kind (outcome, branch, timeout, ...)
    target: str
    route: str  # end | back | detour | break (to where the chain breaks)
    through: list[str] = field(default_factory=list)


@dataclass
class Card:
    id: str
    type: str
    routes: list[Route] = field(default_factory=list)

    @property
    def is_block(self) -> bool:
        return False


@dataclass
class Column:
    label: str  # the flow from the split that starts it (a condition, default, next)
    first: str  # where the split's flow leads: the column's first node, or the join
    items: list[Any] = field(default_factory=list)


@dataclass
class Block:
    split: Card
    columns: list[Column]
    join: str | None  # the join gateway drawn as the block's bottom edge
    closes_into: str | None  # the card below the block (None: the columns end the process)

    @property
    def is_block(self) -> bool:
        return True

    @property
    def id(self) -> str:
        return self.split.id


@dataclass
class ProcessChain:
    key: str  # '' for the main process, else the sub-process's key
    items: list[Any]
    problem: Message | None = None  # why (part of) it cannot be drawn as a chain; items hold the rest
    problem_node: str | None = None
    detours: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Chain:
    processes: list[ProcessChain]
    nodes: dict[str, Located]

    @property
    def representable(self) -> bool:
        return all(p.problem is None for p in self.processes)

    def problems(self) -> list[tuple[str | None, Message]]:
        return [(p.problem_node, p.problem) for p in self.processes if p.problem is not None]


def read(document: CommentedMap) -> Chain:
    nodes = index(document)
    result = []
    for key, _seq in processes(document):
        members = {i: n for i, n in nodes.items() if n.process == key}
        result.append(_read_process(key, members))
    return Chain(result, nodes)


def _dominators(start: str, succ: dict[str, list[str]]) -> dict[str, set[str]]:
    order = _reverse_postorder(start, succ)
    preds: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for t in succ.get(n, ()):
            if t in preds:
                preds[t].append(n)
    dom = {n: set(order) for n in order}
    dom[start] = {start}
    changed = True
    while changed:
        changed = False
        for n in order:
            if n == start:
                continue
            ps = [dom[p] for p in preds[n]]
            new = set.intersection(*ps) | {n} if ps else {n}
            if new != dom[n]:
                dom[n] = new
                changed = True
    return dom


def _reverse_postorder(start: str, succ: dict[str, list[str]]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    stack: list[tuple[str, int]] = [(start, 0)]
    seen.add(start)
    while stack:
        node, i = stack.pop()
        targets = succ.get(node, [])
        if i < len(targets):
            stack.append((node, i + 1))
            t = targets[i]
            if t not in seen:
                seen.add(t)
                stack.append((t, 0))
        else:
            out.append(node)
    return out[::-1]


EXIT = "\x00exit"


def _ipdoms(succ: dict[str, list[str]], nodes: list[str]) -> dict[str, str | None]:
    """Each node's immediate post-dominator in `succ` (None: only the exit)."""
    full = {n: (succ.get(n) or [EXIT]) for n in nodes}
    full[EXIT] = []
    everything = set(full)
    pdom = {n: set(everything) for n in full}
    pdom[EXIT] = {EXIT}
    changed = True
    while changed:
        changed = False
        for n in nodes:
            ts = [pdom[t] for t in full[n] if t in pdom]
            new = (set.intersection(*ts) if ts else set()) | {n}
            if new != pdom[n]:
                pdom[n] = new
                changed = True
    result: dict[str, str | None] = {}
    position = {n: i for i, n in enumerate(nodes)}
    for n in nodes:
        strict = pdom[n] - {n}
        # the immediate one: the strict post-dominator every other strict one post-dominates
        candidates = [c for c in strict if all(o == c or o in pdom.get(c, set()) for o in strict)]
        if len(candidates) > 1:
            # only where a cycle has no way out (a loop entered at two places):
            # the nearest the node reaches, then the first written, so that the
            # reading does not depend on the order of a set
            distance = _distances(n, full)
            candidates.sort(key=lambda c: (distance.get(c, len(full)), position.get(c, len(full))))
        best = candidates[0] if candidates else None
        result[n] = None if best in (None, EXIT) else best
    return result


def _distances(start: str, succ: dict[str, list[str]]) -> dict[str, int]:
    distance = {start: 0}
    queue = [start]
    for node in queue:
        for t in succ.get(node, ()):
            if t not in distance:
                distance[t] = distance[node] + 1
                queue.append(t)
    return distance


def _read_process(key: str, nodes: dict[str, Located]) -> ProcessChain:
    start = next((n.id for n in nodes.values() if n.type == "start"), None)
    if start is None:
        return ProcessChain(key, [], Message("the process has no start node"), None)
    out: dict[str, list[Flow]] = {i: [f for f in flows(n.raw) if f.target in nodes] for i, n in nodes.items()}
    succ = {i: list(dict.fromkeys(f.target for f in fs)) for i, fs in out.items()}
    dom = _dominators(start, succ)
    reached = set(dom)
    ends = {i for i, n in nodes.items() if n.type == "end"}

    def is_back(source: str, target: str) -> bool:
        return source in dom and target in dom[source] and target != source

    forward = {i: [t for t in succ[i] if t not in ends and not is_back(i, t)] for i in nodes if i in reached}
    # Detours: nodes whose only ways on are loops back (or detours themselves).
    detours: set[str] = set()
    changed = True
    while changed:
        changed = False
        for i in forward:
            if i in detours or i == start or i in ends:
                continue
            has_back = any(is_back(i, t) for t in succ[i])
            rest = [t for t in forward[i] if t not in detours]
            # a card whose approval (or only way on) ends the process goes on to
            # the chain's last card, whatever detour it has (a 公示 before the end)
            onward = any(f.target in ends and f.label in FORWARD_LABELS for f in out[i])
            if not rest and not onward and (has_back or forward[i]):
                detours.add(i)
                changed = True
    main = {i: [t for t in fs if t not in detours] for i, fs in forward.items() if i not in detours}
    # A card with no way on but to ends: its first such flow (by preference
    # an approval) leads to the chain's last card.
    for i in list(main):
        if main[i] or i in ends:
            continue
        to_ends = [f for f in out[i] if f.target in ends]
        if to_ends:
            preferred = sorted(to_ends, key=lambda f: (f.label not in FORWARD_LABELS, out[i].index(f)))
            main[i] = [preferred[0].target]
    for e in ends:
        main.setdefault(e, [])
    ipdom = _ipdoms(main, [n for n in main if n in reached])
    placed: set[str] = set()
    chain = ProcessChain(key, [])

    def routes_of(i: str, forward_targets: set[str]) -> list[Route]:
        found = []
        for f in out[i]:
            if f.target in forward_targets:
                continue
            if f.target in detours:
                found.append(Route(f.label, f.kind, f.target, "detour", _detour_path(f.target)))
            elif f.target in ends:
                found.append(Route(f.label, f.kind, f.target, "end"))
            elif is_back(i, f.target):
                found.append(Route(f.label, f.kind, f.target, "back"))
        return found

    def _detour_path(first: str) -> list[str]:
        path, cur = [], first
        while cur in detours and cur not in path:
            path.append(cur)
            nxt = [t for t in forward.get(cur, []) if t in detours]
            cur = nxt[0] if nxt else ""
        chain.detours[first] = path
        return path

    def broken(node: str, message: Message, before: tuple[Card, str] | None) -> None:
        """The chain breaks at `node`: the first break found is the process's
        problem; the card drawn for the node whose flow leads there gets a
        route to it."""
        if chain.problem is None:
            chain.problem, chain.problem_node = message, node
        if before is not None:
            card, source = before
            for f in out[source]:
                if f.target == node and not any(r.target == node and r.route == "break" for r in card.routes):
                    card.routes.append(Route(f.label, f.kind, node, "break"))

    def build(node: str | None, stop: str | None, items: list[Any], before: tuple[Card, str] | None) -> None:
        """Append the chain from `node` down to `stop` to `items`. Where a
        node is reached a second time the chain breaks: this column (or the
        process) stops there, and the reading goes on with the rest."""
        cur = node
        while cur is not None and cur != stop:
            if cur in placed:
                message = Message(
                    "'{node}' is reached from two places that do not close as one block, "
                    "so the process cannot be drawn as a chain there",
                    node=cur,
                )
                broken(cur, message, before)
                return
            placed.add(cur)
            targets = main.get(cur, [])
            card = Card(cur, nodes[cur].type, routes_of(cur, set(targets)))
            if len(targets) <= 1:
                items.append(card)
                before = (card, cur)
                cur = targets[0] if targets else None
                continue
            merge = ipdom.get(cur)
            block = Block(card, [], None, merge)
            items.append(block)
            for t in targets:
                labels = [f.label for f in out[cur] if f.target == t]
                column = Column(labels[0] if labels else "", t)
                block.columns.append(column)
                build(t, merge, column.items, (card, cur))
            before = None  # the columns lead below the block, no one card
            if (
                merge is not None
                and merge not in placed
                and nodes[merge].type in GATEWAYS
                and nodes[merge].type == nodes[cur].type
                and len(main.get(merge, [])) <= 1
            ):
                block.join = merge
                placed.add(merge)
                join_targets = main.get(merge, [])
                card.routes.extend(routes_of(merge, set(join_targets)))
                block.closes_into = join_targets[0] if join_targets else None
                before = (card, merge)  # the join is drawn as the split's block
            # (merge None for a parallel or inclusive split: a split without a
            # join, whose columns run to the end of the process)
            cur = block.closes_into

    build(start, None, chain.items, None)
    left = sorted(
        (i for i in main if i in reached and i not in placed and i not in ends),
        key=lambda i: nodes[i].line,
    )
    if left and chain.problem is None:
        chain.problem = Message("'{node}' has no place in the chain drawn from the start", node=left[0])
        chain.problem_node = left[0]
    unreached = sorted((i for i in nodes if i not in reached), key=lambda i: nodes[i].line)
    if unreached and chain.problem is None:
        chain.problem = Message("'{node}' cannot be reached from the start", node=unreached[0])
        chain.problem_node = unreached[0]
    return chain


def walk(items: list[Any]):
    """Every card of a chain (splits included), top to bottom, columns left to right."""
    for item in items:
        if isinstance(item, Block):
            yield item.split
            for column in item.columns:
                yield from walk(column.items)
        else:
            yield item


__all__ = ["MAIN", "Block", "Card", "Chain", "Column", "ProcessChain", "Route", "read", "walk"]
