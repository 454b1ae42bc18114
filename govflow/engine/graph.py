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
from collections.abc import Mapping

from .definition import Node, Process
from .expressions import EvaluationError
from .kinds import KINDS
from .problems import Message, Problem

SPLIT_KINDS = ("parallel", "inclusive")
Flows = Mapping[str, Mapping[str, tuple[int, int]]]


def successors(node: Node) -> tuple[str, ...]:
    """Where flows leave the node, each target once (its kind knows)."""
    return tuple(dict.fromkeys(KINDS[node.type].successors(node)))


def analyse(
    nodes: dict[str, Node],
    processes: dict[str, Process],
    *,
    partial: bool = False,
    flows: Mapping[str, Mapping[str, tuple[int, int]]] | None = None,
) -> list[Problem]:
    """Check the graph; with partial=True only report broken references.

    `flows` (node id -> target id -> line and column) says where each flow is
    written, so that a problem with one flow points at it; without it, at
    the node the flow leaves."""
    flows = flows or {}
    problems: list[Problem] = []

    def err(node: Node, message: str) -> None:
        problems.append(Problem(node.line, node.col, message))

    # References.
    for node in nodes.values():
        valid = []
        for target in successors(node):
            other = nodes.get(target)
            if other is None:
                err(
                    node,
                    Message("node '{node}' leads to unknown node '{target}'", node=node.id, target=target),
                )
            elif other.process != node.process:
                err(
                    node,
                    Message(
                        "node '{node}' leads to '{target}' in another process; flows cannot cross processes",
                        node=node.id,
                        target=target,
                    ),
                )
            elif other.type == "start":
                err(
                    node,
                    Message(
                        "node '{node}' leads back to the start node '{target}'", node=node.id, target=target
                    ),
                )
            elif target == node.id:
                err(node, Message("node '{node}' leads to itself", node=node.id))
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
        kind = KINDS[node.type]
        if kind.is_final:
            continue
        if out == 0:
            err(node, Message("node '{node}' has no outgoing flow", node=node.id))
        if kind.is_gateway:
            node.is_split = out > 1
            node.is_join = node.in_degree > 1
            if node.is_split and node.is_join:
                err(
                    node,
                    Message(
                        "gateway '{node}' both splits and joins; use one gateway to join and "
                        "another to split",
                        node=node.id,
                    ),
                )

    # Reachability from each process's start, and paths to an end.
    for process in processes.values():
        members = {n.id for n in nodes.values() if n.process == process.id}
        reached = _reach(process.start, lambda n: nodes[n].successors)
        for node_id in sorted(members - reached, key=lambda n: (nodes[n].line, nodes[n].col)):
            err(nodes[node_id], Message("node '{node_id}' is unreachable from the start", node_id=node_id))
        predecessors: dict[str, list[str]] = {n: [] for n in members}
        for node_id in members:
            for target in nodes[node_id].successors:
                predecessors[target].append(node_id)
        ends = [n for n in members if nodes[n].type == "end"]
        if not ends:
            err(nodes[process.start], Message("process '{process}' has no end node", process=process.id))
            continue
        can_end: set[str] = set()
        for end in ends:
            can_end |= _reach(end, lambda n, preds=predecessors: preds[n])
        for node_id in sorted(reached - can_end, key=lambda n: (nodes[n].line, nodes[n].col)):
            err(
                nodes[node_id],
                Message(
                    "node '{node_id}' cannot reach an end: every path from it loops or stops", node_id=node_id
                ),
            )

    # Sub-process calls may not recurse.
    calls = {n.process: set() for n in nodes.values()}
    for node in nodes.values():
        if node.type == "call" and node.calls:
            calls[node.process].add(node.calls)
        elif node.type == "bundle":
            calls[node.process].update(item.id for item in node.items)
    for process_id in processes:
        if process_id in _reach_calls(process_id, calls, start_excluded=True):
            err(
                nodes[processes[process_id].start],
                Message("sub-process '{process_id}' calls itself (directly or not)", process_id=process_id),
            )

    if problems:
        return problems
    problems.extend(_blocks(nodes, flows))
    if problems:
        return problems
    problems.extend(_soundness(nodes, processes, flows))
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
    def __init__(self, node: Node, message: str, pos: tuple[int, int] | None = None) -> None:
        self.node = node
        self.message = message
        self.pos = pos or (node.line, node.col)


def _leaks(
    nodes: dict[str, Node],
    split: Node,
    join: str,
    block: set[str],
    predecessors_of: dict[str, list[str]],
    flows: Flows,
) -> None:
    """A branch that runs on past its join without passing it (a `return` or
    a timeout leading to a node after the join): name the flow that leaves."""
    after = _reach(join, lambda n: [t for t in nodes[n].successors if t != split.id]) - {join}
    to_join = _reach(join, lambda n: [p for p in predecessors_of.get(n, ()) if p != split.id])
    leaked = {n for n in block & after if n not in to_join and nodes[n].type != "end"}
    for member_id in sorted(block - leaked, key=lambda n: (nodes[n].line, nodes[n].col)):
        member = nodes[member_id]
        for target in member.successors:
            if target in leaked:
                raise _BlockError(
                    member,
                    Message(
                        "a branch of {kind} gateway '{split}' leaves its block: '{member}' "
                        "leads to '{target}', which comes after the join '{join}'; a branch may only "
                        "reach its join or an end that refuses",
                        kind=split.type,
                        split=split.id,
                        member=member_id,
                        target=target,
                        join=join,
                    ),
                    _flow_pos(flows, member, target),
                )


def _blocks(nodes: dict[str, Node], flows: Flows) -> list[Problem]:
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
                split,
                Message(
                    "a flow leads back into the split '{split}' from inside its own branches", split=split.id
                ),
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
                    Message(
                        "a branch of '{split}' flows back to it; "
                        "a loop must close outside the split and its join",
                        split=split.id,
                    ),
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
                Message(
                    "the branches of {kind} gateway '{split}' meet at different joins "
                    "({joins}); every branch must reach the same join",
                    kind=kind,
                    split=split.id,
                    joins=", ".join(sorted(found)),
                ),
            )
        join = next(iter(found)) if found else None
        if join is not None:
            join_node = nodes[join]
            if join_node.type != split.type:
                raise _BlockError(
                    join_node,
                    Message(
                        "{kind} gateway '{split}' is joined by {join_kind} gateway '{join}'; "
                        "a split and its join must be of the same kind",
                        kind=kind,
                        split=split.id,
                        join_kind=join_node.type,
                        join=join,
                    ),
                )
            for end in loose_ends:
                raise _BlockError(
                    end,
                    Message(
                        "end '{end}' inside the block of '{split}' does not terminate, so join '{join}' "
                        "would wait for it forever; set terminate: true or lead it to the join",
                        end=end.id,
                        split=split.id,
                        join=join,
                    ),
                )
            outside = [
                other.id
                for other in nodes.values()
                if join in other.successors and other.id not in block and other.id != split.id
            ]
            if outside:
                raise _BlockError(
                    join_node,
                    Message(
                        "join '{join}' also receives a flow from '{outside}', outside the block of "
                        "'{split}'; the join's branches do not balance",
                        join=join,
                        outside=outside[0],
                        split=split.id,
                    ),
                )
        inside = block | {split.id}
        if join is not None:
            _leaks(nodes, split, join, block, predecessors_of, flows)
        for member_id in sorted(block, key=lambda n: (nodes[n].line, nodes[n].col)):
            member = nodes[member_id]
            if member.type == "end" or member_id == join:
                continue  # ends are shared by design; the join was checked above
            intruders = [p for p in predecessors_of.get(member_id, ()) if p not in inside]
            if intruders:
                raise _BlockError(
                    member,
                    Message(
                        "node '{member}' inside the block of '{split}' is also reached from "
                        "'{intruder}' outside it; a flow may enter a block only through its split",
                        member=member_id,
                        split=split.id,
                        intruder=intruders[0],
                    ),
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
                problems.append(Problem(exc.pos[0], exc.pos[1], exc.message))
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
                    Message(
                        "join '{node}' has no matching {type} split; its branches do not balance",
                        node=node.id,
                        type=node.type,
                    ),
                )
            )
    return problems


# -- soundness ----------------------------------------------------------------
#
# Runs once every split has found its join. Together with the checks above it
# makes every accepted process sound (van der Aalst): from every state the
# case can still end, it ends once with nothing left running, every node can
# be reached, and no node holds two tokens at once. docs/process-language.md,
# "Soundness: what validation guarantees", gives the reason for each rule.


def _flow_pos(flows: Flows, source: Node, target: str) -> tuple[int, int]:
    return flows.get(source.id, {}).get(target, (source.line, source.col))


def _forward(nodes: dict[str, Node], starts, stop: set[str]) -> set[str]:
    """Nodes reachable from `starts` (included) without entering `stop`."""
    seen = {s for s in starts if s not in stop}
    queue = deque(seen)
    while queue:
        for nxt in nodes[queue.popleft()].successors:
            if nxt not in seen and nxt not in stop:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _approves(end: Node) -> bool:
    return end.outcome == "approved" or bool(end.certificates)


def _soundness(nodes: dict[str, Node], processes: dict[str, Process], flows: Flows) -> list[Problem]:
    problems: list[Problem] = []

    def at(pos: tuple[int, int], message: str) -> None:
        problems.append(Problem(pos[0], pos[1], message))

    order = sorted(nodes.values(), key=lambda n: (n.line, n.col))
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    for node in order:
        for target in node.successors:
            predecessors[target].append(node.id)
    _instant_loops(nodes, order, at)
    _switched_off_exits(nodes, processes, order, at)
    possible = _possible_outcomes(nodes, processes)
    regions_of: dict[str, list[set[str]]] = {}  # split -> its branches' nodes (for concurrent calls)
    open_paths: dict[str, set[str]] = {}  # process -> nodes after a split without a join
    for split in order:
        if split.type not in SPLIT_KINDS or not split.is_split:
            continue
        start = processes[split.process].start
        before = _forward(nodes, [start], {split.id})
        if split.join is not None:
            regions_of[split.id] = _check_block(nodes, split, before, predecessors, flows, at)
        else:
            regions = _check_open_split(nodes, split, before, possible, flows, at)
            regions_of[split.id] = regions
            open_paths.setdefault(split.process, set()).update(*regions)
    for process, reached in open_paths.items():
        _loose_ends(nodes, process, reached, at)
    _joins_that_never_fire(nodes, order, possible, at)
    _concurrent_calls(nodes, regions_of, at)
    _dead_call_outcomes(nodes, processes, order, possible, flows, at)
    _items_that_never_start(nodes, order, possible, at)
    return problems


def _items_that_never_start(
    nodes: dict[str, Node], order: list[Node], possible: dict[str, set[str]], at
) -> None:
    """A bundle's item starts only once the items it comes after are
    approved: one after an item whose sub-process never ends approved (or
    after such an item, in turn) can never start."""
    for node in order:
        if node.type != "bundle":
            continue
        never: set[str] = set()
        changed = True
        while changed:
            changed = False
            for item in node.items:
                if item.id in never:
                    continue
                blocked = next(
                    (a for a in item.after if a in never or "approved" not in possible.get(a, {"approved"})),
                    None,
                )
                if blocked is not None:
                    never.add(item.id)
                    changed = True
                    at(
                        (node.line, node.col),
                        Message(
                            "item '{item}' of bundle '{node}' can never start: it comes after "
                            "'{blocked}', which never ends approved",
                            item=item.id,
                            node=node.id,
                            blocked=blocked,
                        ),
                    )


def _instant_loops(nodes: dict[str, Node], order: list[Node], at) -> None:
    """A loop made only of gateways never waits for anyone: a case whose data
    keeps choosing it would go round forever inside one step."""
    gateways = {n.id for n in order if KINDS[n.type].is_gateway}
    others = set(nodes) - gateways
    reported: set[str] = set()
    for node in order:
        if node.id not in gateways or node.id in reported:
            continue
        loop = _forward(nodes, [t for t in node.successors if t in gateways], others)
        if node.id not in loop:
            continue
        members = sorted(
            (m for m in loop if node.id in _forward(nodes, [m], others)),
            key=lambda m: (nodes[m].line, nodes[m].col),
        )
        reported.update(members)
        at(
            (node.line, node.col),
            Message(
                "the loop through {members} passes only gateways: nothing on it waits "
                "(a task, a wait, a correction or a call), so a case whose data keeps "
                "choosing it would go round forever",
                members=", ".join(repr(m) for m in members),
            ),
        )


def _never_holds(condition) -> bool:
    """Whether a branch condition names no data and always gives false."""
    if condition is None or condition.names:
        return False
    try:
        return condition.test({}) is False
    except EvaluationError:
        return False


def _switched_off_exits(nodes: dict[str, Node], processes: dict[str, Process], order: list[Node], at) -> None:
    """A branch whose condition names no data and never holds is never
    taken. The nodes only it leads to never run (allowed: that is how a
    branch is switched off), but a node that could reach an end only through
    such a branch would loop for ever once reached."""

    def live(node_id: str) -> list[str]:
        node = nodes[node_id]
        if not node.branches:
            return list(node.successors)
        return list(dict.fromkeys(b.target for b in node.branches if not _never_holds(b.condition)))

    if not any(_never_holds(b.condition) for n in order for b in n.branches):
        return
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    for node in order:
        for target in live(node.id):
            predecessors[target].append(node.id)
    for process in processes.values():
        reached = _reach(process.start, live)
        ending: set[str] = set()
        for end in (n for n in reached if nodes[n].type == "end"):
            ending |= _reach(end, lambda n: predecessors[n])
        for node_id in sorted(reached - ending, key=lambda n: (nodes[n].line, nodes[n].col)):
            off = [b for b in nodes[node_id].branches if _never_holds(b.condition)]
            if off:
                at(
                    (nodes[node_id].line, nodes[node_id].col),
                    Message(
                        "gateway '{node_id}' can never lead the case to an end: the way out, "
                        "the branch to '{target}', has the condition '{source}', which never "
                        "holds",
                        node_id=node_id,
                        target=off[0].target,
                        source=off[0].condition.source,
                    ),
                )
                return
        if reached - ending:
            first = min(reached - ending, key=lambda n: (nodes[n].line, nodes[n].col))
            at(
                (nodes[first].line, nodes[first].col),
                Message(
                    "node '{first}' cannot reach an end: every way out passes a branch "
                    "whose condition never holds",
                    first=first,
                ),
            )
            return


def _check_block(
    nodes: dict[str, Node],
    split: Node,
    before: set[str],
    predecessors: dict[str, list[str]],
    flows: Flows,
    at,
) -> list[set[str]]:
    """A split with its join: branches stay inside, never meet, and leave only
    to the join or to an end that refuses. Returns the branches' nodes."""
    join = nodes[split.join or ""]
    kind = split.type
    reached = _forward(nodes, split.successors, {split.id, join.id})
    after = _forward(nodes, join.successors, {split.id})
    # Nodes that lead on to the join belong to the block even when a bad flow
    # also reaches them from outside; the others only when nothing outside does.
    to_join: set[str] = set()
    queue = deque([join.id])
    while queue:
        for prev in predecessors[queue.popleft()]:
            if prev not in to_join and prev != split.id and prev != join.id:
                to_join.add(prev)
                queue.append(prev)
    inside = {
        n
        for n in reached
        if nodes[n].type != "end" and (n in to_join or (n not in before and n not in after))
    }
    for member_id in sorted(inside | {split.id}, key=lambda n: (nodes[n].line, nodes[n].col)):
        member = nodes[member_id]
        for target in member.successors:
            other = nodes[target]
            if other.type == "end":
                if _approves(other):
                    what = (
                        Message("issues certificates") if other.certificates else Message("approves the case")
                    )
                    at(
                        _flow_pos(flows, member, target),
                        Message(
                            "end '{target}' {what} but is reached from '{member_id}' inside the "
                            "block of {kind} gateway '{split}': the case would end while other "
                            "branches are still undecided; inside a block only an end that refuses "
                            "(rejected or withdrawn: one department's veto) may stand, approval "
                            "goes through the join '{join}'",
                            target=target,
                            what=what,
                            member_id=member_id,
                            kind=kind,
                            split=split.id,
                            join=join.id,
                        ),
                    )
            elif target not in inside and target != join.id and member_id != split.id:
                at(
                    _flow_pos(flows, member, target),
                    Message(
                        "a branch of {kind} gateway '{split}' leaves its block: '{member_id}' "
                        "leads to '{target}', outside it; a branch may only reach the join "
                        "'{join}' or an end that refuses",
                        kind=kind,
                        split=split.id,
                        member_id=member_id,
                        target=target,
                        join=join.id,
                    ),
                )
        if member_id != split.id:
            for prev in predecessors[member_id]:
                if prev not in inside and prev != split.id:
                    at(
                        _flow_pos(flows, nodes[prev], member_id),
                        Message(
                            "'{prev}' leads into the block of {kind} gateway '{split}' at "
                            "'{member_id}'; a flow may enter a block only through its split",
                            prev=prev,
                            kind=kind,
                            split=split.id,
                            member_id=member_id,
                        ),
                    )
        if member_id != split.id and member.type in SPLIT_KINDS and member.is_split and member.join is None:
            at(
                (member.line, member.col),
                Message(
                    "split '{member_id}' inside the block of '{split}' has no join of its "
                    "own; inside a block every split needs its join, or its branches would "
                    "outlive the block",
                    member_id=member_id,
                    split=split.id,
                ),
            )
    regions: list[set[str]] = []
    owner: dict[str, str] = {}
    for first in split.successors:
        region = _forward(nodes, [first], (set(nodes) - inside)) if first in inside else set()
        regions.append(region)
        for member_id in sorted(region, key=lambda n: (nodes[n].line, nodes[n].col)):
            if member_id in owner and owner[member_id] != first:
                at(
                    (split.line, split.col),
                    Message(
                        "the branches of {kind} gateway '{split}' starting at '{owner}' and "
                        "'{first}' meet at '{member_id}' before the join '{join}': "
                        "'{member_id}' would run once for each of them; every branch must "
                        "reach the join on its own",
                        kind=kind,
                        split=split.id,
                        owner=owner[member_id],
                        first=first,
                        member_id=member_id,
                        join=join.id,
                    ),
                )
                return regions
            owner[member_id] = first
    return regions


def _check_open_split(
    nodes: dict[str, Node], split: Node, before: set[str], possible: dict[str, set[str]], flows: Flows, at
) -> list[set[str]]:
    """A split without a join: its branches run on their own to the end of the
    process, so they may never meet, never start again, and only one of them
    may end the case. Returns the branches' nodes."""
    kind = split.type
    regions = [_forward(nodes, [first], {split.id}) for first in split.successors]
    for region in regions:
        for member_id in sorted(region - before, key=lambda n: (nodes[n].line, nodes[n].col)):
            member = nodes[member_id]
            back = [t for t in member.successors if t == split.id or (t in before and nodes[t].type != "end")]
            if back:
                at(
                    _flow_pos(flows, member, back[0]),
                    Message(
                        "'{member_id}' leads back to '{back}', before {kind} gateway "
                        "'{split}', which has no join: its branches would start again while "
                        "the earlier ones may still run; close the loop before '{split}' or "
                        "give it a join",
                        member_id=member_id,
                        back=back[0],
                        kind=kind,
                        split=split.id,
                    ),
                )
                return regions
    owner: dict[str, str] = {}
    for first, region in zip(split.successors, regions, strict=True):
        for member_id in sorted(region, key=lambda n: (nodes[n].line, nodes[n].col)):
            if nodes[member_id].type == "end":
                continue
            if member_id in owner:
                at(
                    (split.line, split.col),
                    Message(
                        "the branches of {kind} gateway '{split}' starting at '{owner}' and "
                        "'{first}' meet at '{member_id}', but '{split}' has no join: "
                        "'{member_id}' would run once for each of them; lead the branches to a "
                        "{kind} join",
                        kind=kind,
                        split=split.id,
                        owner=owner[member_id],
                        first=first,
                        member_id=member_id,
                    ),
                )
                return regions
            owner[member_id] = first
    # Which branches can end the case at once: a terminating end, or a call
    # whose sub-process can end with an outcome the call does not map.
    for first in split.successors:
        if not _rests(nodes, first, possible, set()):
            at(
                (split.line, split.col),
                Message(
                    "{kind} gateway '{split}' has no join, and its branch '{first}' ends "
                    "the case at once (nothing on its way waits): the other branches would "
                    "be cut short before they could run",
                    kind=kind,
                    split=split.id,
                    first=first,
                ),
            )
            return regions
    approving: list[tuple[str, str]] = []
    ending: list[tuple[str, str]] = []  # (branch, how it can end the case)
    for first, region in zip(split.successors, regions, strict=True):
        for member_id in sorted(region, key=lambda n: (nodes[n].line, nodes[n].col)):
            member = nodes[member_id]
            unmapped = sorted(possible.get(member.calls or "", set()) - set(member.outcomes))
            if member.type == "end" and member.terminate:
                ending.append((first, Message("at '{member_id}'", member_id=member_id)))
                if _approves(member):
                    approving.append((first, member_id))
            elif member.type == "call" and unmapped:
                ending.append(
                    (
                        first,
                        Message(
                            "when sub-process '{calls}' of '{member_id}' ends {unmapped}",
                            calls=member.calls,
                            member_id=member_id,
                            unmapped=unmapped[0],
                        ),
                    )
                )
    for first, end in approving[:1]:
        others = [(branch, how) for branch, how in ending if branch != first]
        if others:
            at(
                (split.line, split.col),
                Message(
                    "{kind} gateway '{split}' has no join, and its branch '{first}' can "
                    "approve the case at '{end}' while branch '{others}' can still end it "
                    "({others2}): the approval would cut that branch short; give '{split}' "
                    "a join, or let the branches approve through ends that do not "
                    "terminate (terminate: false)",
                    kind=kind,
                    split=split.id,
                    first=first,
                    end=end,
                    others=others[0][0],
                    others2=others[0][1],
                ),
            )
    return regions


def _rests(nodes: dict[str, Node], node_id: str, possible: dict[str, set[str]], seen: set[str]) -> bool:
    """Whether a token reaching `node_id` can come to rest (a task, a wait, a
    correction, a join, an end that does not terminate) rather than finish
    its process within the same step. Gateways and calls are passed through;
    a call rests when its sub-process can."""
    if node_id in seen:
        return False
    seen = seen | {node_id}
    node = nodes[node_id]
    if KINDS[node.type].waits or node.is_join:
        return True
    if node.type == "end":
        return not node.terminate
    if node.type == "call":
        sub = next((n for n in nodes.values() if n.process == node.calls and n.type == "start"), None)
        if sub is not None and _rests(nodes, sub.id, possible, seen):
            return True
        return any(
            _rests(nodes, t, possible, seen)
            for o, t in node.outcomes.items()
            if o in possible.get(node.calls or "", set())
        )
    return any(_rests(nodes, t, possible, seen) for t in node.successors)


def _loose_ends(nodes: dict[str, Node], process: str, reached: set[str], at) -> None:
    """After a split without a join several paths run at once; an end that
    does not terminate ends only its path, and the last one to end gives the
    process its outcome. So such ends must agree, and issue no certificates."""
    loose = sorted(
        (nodes[n] for n in reached if nodes[n].type == "end" and not nodes[n].terminate),
        key=lambda n: (n.line, n.col),
    )
    outcomes = {end.outcome for end in loose}
    for end in loose:
        if end.certificates:
            at(
                (end.line, end.col),
                Message(
                    "end '{end}' issues certificates but does not terminate, and it is "
                    "reached after a split without a join: the certificates would be "
                    "issued while another path may still refuse the case",
                    end=end.id,
                ),
            )
        if len(outcomes) > 1 and end.outcome != "approved":
            others = sorted(o for o in outcomes if o != end.outcome and o is not None)
            at(
                (end.line, end.col),
                Message(
                    "end '{end}' ({outcome}) does not terminate, but ends with another "
                    "outcome ({others}) can also be reached after a split without a join: "
                    "the case would end with whichever is reached last; let '{end}' "
                    "terminate",
                    end=end.id,
                    outcome=end.outcome,
                    others=", ".join(others),
                ),
            )


def _concurrent_calls(nodes: dict[str, Node], regions_of: dict[str, list[set[str]]], at) -> None:
    """Two runs of one sub-process at the same time would share its nodes'
    tasks, decisions and results (they are kept per node)."""
    calls: dict[str, set[str]] = {}
    for node in nodes.values():
        if node.type == "call" and node.calls:
            calls.setdefault(node.process, set()).add(node.calls)

    def runs(node: Node) -> set[str]:
        return {node.calls or "", *_reach_calls(node.calls or "", calls, start_excluded=True)}

    reported: set[str] = set()
    for split_id, regions in regions_of.items():
        seen: list[tuple[Node, set[str]]] = []
        for region in regions:
            mine = [nodes[n] for n in region if nodes[n].type == "call"]
            for call in sorted(mine, key=lambda n: (n.line, n.col)):
                for other, other_runs in seen:
                    shared = sorted(runs(call) & other_runs)
                    if shared and call.id not in reported:
                        reported.add(call.id)
                        at(
                            (call.line, call.col),
                            Message(
                                "call '{call}' runs sub-process '{shared}' while call '{other}', in "
                                "another branch of '{split_id}', may run it at the same time: the two "
                                "runs would share its tasks and decisions; call it from one branch only",
                                call=call.id,
                                shared=shared[0],
                                other=other.id,
                                split_id=split_id,
                            ),
                        )
            seen += [(call, runs(call)) for call in mine]


def _joins_that_never_fire(
    nodes: dict[str, Node], order: list[Node], possible: dict[str, set[str]], at
) -> None:
    """A join fires when every branch its split started has arrived. A branch
    from which every path ends the case (or passes a join that never fires,
    or a call outcome that never happens) never arrives, so the join and all
    after it could never run (for an inclusive split: whenever that branch
    is started). A branch that is itself an end is an inclusive split's
    conditional end, and fine; a parallel split would always take it."""

    def live(node_id: str) -> list[str]:
        node = nodes[node_id]
        if node.type == "call" and node.calls in possible:
            return [t for o, t in node.outcomes.items() if o in possible[node.calls]]
        return list(node.successors)

    never: set[str] = set()
    changed = True
    while changed:
        changed = False
        for split in order:
            join = split.join
            if join is None or join in never or split.type not in SPLIT_KINDS or not split.is_split:
                continue
            for first in split.successors:
                if nodes[first].type == "end" and (split.type == "inclusive" or _approves(nodes[first])):
                    continue  # a conditional end; an approving one is reported as such
                if first == join:
                    continue
                blocked = {split.id} | never
                reached = _reach(first, lambda n, b=blocked: [t for t in live(n) if t not in b])
                if join not in reached:
                    never.add(join)
                    changed = True
                    at(
                        (split.line, split.col),
                        Message(
                            "the branch of {type} gateway '{split}' starting at '{first}' never "
                            "reaches the join '{join}': every path from it ends the case, so the "
                            "join could never fire {value}and what follows it could never run",
                            type=split.type,
                            split=split.id,
                            first=first,
                            join=join,
                            value="when that branch runs " if split.type == "inclusive" else "",
                        ),
                    )
                    break


def _possible_outcomes(nodes: dict[str, Node], processes: dict[str, Process]) -> dict[str, set[str]]:
    """The outcomes each process can end with: its ends', and those of the
    sub-processes it calls that the call does not map (they propagate)."""
    possible: dict[str, set[str]] = {p: set() for p in processes}
    for node in nodes.values():
        if node.type == "end" and node.outcome:
            possible[node.process].add(node.outcome)
    changed = True
    while changed:
        changed = False
        for node in nodes.values():
            if node.type == "call" and node.calls in possible:
                extra = {o for o in possible[node.calls] if o not in node.outcomes} - possible[node.process]
                if extra:
                    possible[node.process] |= extra
                    changed = True
            elif (
                node.type == "bundle"
                and "withdrawn" not in node.outcomes
                and "withdrawn" not in possible[node.process]
                and any("withdrawn" in possible.get(item.id, ()) for item in node.items)
            ):
                # every item withdrawn, with no flow for it: the case ends withdrawn
                possible[node.process].add("withdrawn")
                changed = True
    return possible


def _dead_call_outcomes(
    nodes: dict[str, Node],
    processes: dict[str, Process],
    order: list[Node],
    possible: dict[str, set[str]],
    flows: Flows,
    at,
) -> None:
    """A call's flow for an outcome its sub-process never ends with is never
    taken; a node reached only through such flows can never run."""

    def live(source: str) -> list[str]:
        node = nodes[source]
        if node.type != "call" or node.calls not in possible:
            return list(node.successors)
        return [t for o, t in node.outcomes.items() if o in possible[node.calls]]

    reached: set[str] = set()
    for process in processes.values():
        reached |= _reach(process.start, live)
    for node in order:
        if node.type != "call" or node.calls not in possible or node.id not in reached:
            continue
        for outcome, target in node.outcomes.items():
            if outcome not in possible[node.calls] and target not in reached:
                at(
                    _flow_pos(flows, node, target),
                    Message(
                        "'{target}' can never be reached: call '{node}' leads there on outcome "
                        "'{outcome}', but sub-process '{calls}' never ends '{outcome}'",
                        target=target,
                        node=node.id,
                        outcome=outcome,
                        calls=node.calls,
                    ),
                )
