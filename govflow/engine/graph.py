"""Graph checks on a process: references, reachability, ends, and blocks.

A parallel or inclusive split must be balanced: every path that leaves it
either ends at a terminating end event or arrives at one matching join of the
same kind, and that join receives flows only from inside the block. The
runtime relies on this to count arrivals at a join exactly (a scope per split
firing), which is what makes "a join fires exactly once" hold.

`analyse` fills in the computed fields of each `Node` (successors, in-degree,
split/join roles, the matching join and the block's members).
"""

from __future__ import annotations

from collections import deque

from .definition import Node, Process
from .problems import Problem

SPLIT_KINDS = ("parallel", "inclusive")


def successors(node: Node) -> tuple[str, ...]:
    if node.type in ("user_task", "call"):
        targets = tuple(dict.fromkeys(node.outcomes.values()))
    elif node.type == "correction" and node.on_timeout:
        targets = (*node.next, node.on_timeout)
    else:
        targets = node.next
    return tuple(dict.fromkeys(targets))


def analyse(nodes: dict[str, Node], processes: dict[str, Process], *, partial: bool = False) -> list[Problem]:
    """Check the graph; with partial=True only report broken references."""
    problems: list[Problem] = []

    def err(node: Node, message: str) -> None:
        problems.append(Problem(node.line, node.col, message))

    # References.
    for node in nodes.values():
        valid = []
        for target in successors(node):
            other = nodes.get(target)
            if other is None:
                err(node, f"node '{node.id}' leads to unknown node '{target}'")
            elif other.process != node.process:
                err(
                    node,
                    f"node '{node.id}' leads to '{target}' in another process; flows cannot cross processes",
                )
            elif other.type == "start":
                err(node, f"node '{node.id}' leads back to the start node '{target}'")
            elif target == node.id:
                err(node, f"node '{node.id}' leads to itself")
            else:
                valid.append(target)
        node.successors = tuple(valid)
    if partial or problems:
        return problems

    for node in nodes.values():
        node.in_degree = 0
    for node in nodes.values():
        for target in node.successors:
            nodes[target].in_degree += 1

    # Node-level shape.
    for node in nodes.values():
        out = len(node.successors)
        if node.type == "end":
            continue
        if out == 0:
            err(node, f"node '{node.id}' has no outgoing flow")
        if node.type in ("parallel", "exclusive", "inclusive"):
            node.is_split = out > 1
            node.is_join = node.in_degree > 1
            if node.is_split and node.is_join:
                err(
                    node,
                    f"gateway '{node.id}' both splits and joins; "
                    "use one gateway to join and another to split",
                )

    # Reachability from each process's start, and paths to an end.
    for process in processes.values():
        members = {n.id for n in nodes.values() if n.process == process.id}
        reached = _reach(process.start, lambda n: nodes[n].successors)
        for node_id in sorted(members - reached, key=lambda n: (nodes[n].line, nodes[n].col)):
            err(nodes[node_id], f"node '{node_id}' is unreachable from the start")
        predecessors: dict[str, list[str]] = {n: [] for n in members}
        for node_id in members:
            for target in nodes[node_id].successors:
                predecessors[target].append(node_id)
        ends = [n for n in members if nodes[n].type == "end"]
        if not ends:
            err(nodes[process.start], f"process '{process.id}' has no end node")
            continue
        can_end: set[str] = set()
        for end in ends:
            can_end |= _reach(end, lambda n, preds=predecessors: preds[n])
        for node_id in sorted(reached - can_end, key=lambda n: (nodes[n].line, nodes[n].col)):
            err(nodes[node_id], f"node '{node_id}' cannot reach an end: every path from it loops or stops")

    # Sub-process calls may not recurse.
    calls = {n.process: set() for n in nodes.values()}
    for node in nodes.values():
        if node.type == "call" and node.calls:
            calls[node.process].add(node.calls)
            if node.calls not in processes:
                continue
    for process_id in processes:
        if process_id in _reach_calls(process_id, calls, start_excluded=True):
            err(
                nodes[processes[process_id].start],
                f"sub-process '{process_id}' calls itself (directly or not)",
            )

    if problems:
        return problems
    problems.extend(_blocks(nodes))
    return problems


def _reach(start: str, edges) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _reach_calls(process: str, calls: dict[str, set[str]], *, start_excluded: bool) -> set[str]:
    seen: set[str] = set()
    queue = deque(calls.get(process, ()))
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(calls.get(current, ()))
    return seen


class _BlockError(Exception):
    def __init__(self, node: Node, message: str) -> None:
        self.node = node
        self.message = message


def _blocks(nodes: dict[str, Node]) -> list[Problem]:
    """Match every parallel/inclusive split to its join and record its block."""
    problems: list[Problem] = []
    predecessors_of: dict[str, list[str]] = {}
    for node in nodes.values():
        for target in node.successors:
            predecessors_of.setdefault(target, []).append(node.id)
    joins_of: dict[str, str | None] = {}
    in_progress: set[str] = set()

    def is_join(node: Node) -> bool:
        return node.type in SPLIT_KINDS and node.is_join

    def is_split(node: Node) -> bool:
        return node.type in SPLIT_KINDS and node.is_split

    def find_join(split: Node) -> str | None:
        if split.id in joins_of:
            return joins_of[split.id]
        if split.id in in_progress:
            raise _BlockError(
                split, f"a flow leads back into the split '{split.id}' from inside its own branches"
            )
        in_progress.add(split.id)
        found: set[str] = set()
        block: set[str] = set()
        loose_ends: list[Node] = []
        stack = list(split.successors)
        while stack:
            node_id = stack.pop()
            node = nodes[node_id]
            if node_id == split.id:
                raise _BlockError(
                    split,
                    f"a branch of '{split.id}' flows back to it; "
                    "a loop must close outside the split and its join",
                )
            if is_join(node):
                found.add(node_id)
                continue
            if node_id in block:
                continue
            block.add(node_id)
            if is_split(node):
                inner = find_join(node)
                if inner is not None:
                    block |= node.block
                    block.add(inner)
                    stack.extend(nodes[inner].successors)
                    continue
                # A split without a join: walk its branches as part of this block.
            if node.type == "end":
                if not node.terminate:
                    loose_ends.append(node)
                continue
            stack.extend(node.successors)
        in_progress.discard(split.id)
        kind = "parallel" if split.type == "parallel" else "inclusive"
        if len(found) > 1:
            raise _BlockError(
                split,
                f"the branches of {kind} gateway '{split.id}' meet at different joins "
                f"({', '.join(sorted(found))}); every branch must reach the same join",
            )
        join = next(iter(found)) if found else None
        if join is not None:
            join_node = nodes[join]
            if join_node.type != split.type:
                raise _BlockError(
                    join_node,
                    f"{kind} gateway '{split.id}' is joined by {join_node.type} gateway '{join}'; "
                    f"a split and its join must be of the same kind",
                )
            for end in loose_ends:
                raise _BlockError(
                    end,
                    f"end '{end.id}' inside the block of '{split.id}' does not terminate, so join '{join}' "
                    "would wait for it forever; set terminate: true or lead it to the join",
                )
            outside = [
                other.id
                for other in nodes.values()
                if join in other.successors and other.id not in block and other.id != split.id
            ]
            if outside:
                raise _BlockError(
                    join_node,
                    f"join '{join}' also receives a flow from '{outside[0]}', "
                    f"outside the block of '{split.id}'; "
                    "the join's branches do not balance",
                )
        inside = block | {split.id}
        for member_id in sorted(block, key=lambda n: (nodes[n].line, nodes[n].col)):
            member = nodes[member_id]
            if member.type == "end" or member_id == join:
                continue  # ends are shared by design; the join was checked above
            intruders = [p for p in predecessors_of.get(member_id, ()) if p not in inside]
            if intruders:
                raise _BlockError(
                    member,
                    f"node '{member_id}' inside the block of '{split.id}' is also reached from "
                    f"'{intruders[0]}' outside it; a flow may enter a block only through its split",
                )
        split.join = join
        split.block = frozenset(block)
        joins_of[split.id] = join
        return join

    for node in sorted(nodes.values(), key=lambda n: (n.line, n.col)):
        if is_split(node):
            try:
                find_join(node)
            except _BlockError as exc:
                problems.append(Problem(exc.node.line, exc.node.col, exc.message))
                in_progress.clear()
                joins_of.setdefault(node.id, None)
    matched: dict[str, list[str]] = {}
    for split_id, join in joins_of.items():
        if join is not None:
            matched.setdefault(join, []).append(split_id)
    for node in nodes.values():
        if node.type in SPLIT_KINDS and node.is_join and node.id not in matched and not problems:
            problems.append(
                Problem(
                    node.line,
                    node.col,
                    f"join '{node.id}' has no matching {node.type} split; its branches do not balance",
                )
            )
    return problems
