"""Operations of the designer, applied to the template's YAML text.

Each operation reads the text (ruamel.yaml round trip), changes only what
it must, writes it back and reads the result as a chain again. A change to
the chain's shape (insert, move, copy, delete, columns) must leave the
template as valid as it was: it is refused, with the reason, when the
result cannot be drawn as a chain or the validator finds a problem the text
did not have before; the text is then unchanged. A change of properties is
applied even when the validator objects (a condition naming an unknown
field), so that the designer shows the problem on the card, as the text
editor shows it on the line; publishing refuses such a draft as before.
Pure Python (no Django).
"""

from __future__ import annotations

import copy as _copy
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from govflow.engine.loader import check_definition
from govflow.engine.problems import Message, Problem

from . import chain as chains
from .document import DocumentError, Flow, Located, dump, flows, index, load, set_flow

Check = Callable[[str], list[Problem]]

# What "+" offers: a step of each kind, and the three branch blocks.
STEP_KINDS = (
    "user_task",
    "countersign",
    "vote",
    "service_task",
    "acceptance",
    "correction",
    "applicant_task",
    "wait",
    "call",
    "publicity",
    "end",
)
BLOCK_KINDS = ("exclusive", "inclusive", "parallel")
MAX_COLUMNS = 8
STRUCTURAL = frozenset(
    {"insert_step", "insert_block", "add_column", "remove_column", "move", "copy", "delete"}
)

# The readable start of a new node's id, and its title in both languages.
NEW_NODES: dict[str, tuple[str, str, str]] = {
    "user_task": ("review", "审批", "Review"),
    "countersign": ("countersign", "会签", "Countersign"),
    "vote": ("vote", "票签", "Vote"),
    "service_task": ("service", "自动处理", "Automatic step"),
    "acceptance": ("acceptance", "受理", "Acceptance"),
    "correction": ("correction", "补正", "Correction"),
    "applicant_task": ("applicant_step", "申请人办理", "Applicant's step"),
    "wait": ("wait", "等待", "Wait"),
    "call": ("call", "子流程", "Sub-process"),
    "exclusive": ("condition", "条件分支", "Condition branch"),
    "inclusive": ("inclusive", "包容分支", "Inclusive branch"),
    "parallel": ("parallel", "并行分支", "Parallel branch"),
    "publicity": ("notice", "公示", "Public notice"),
    "objection_review": ("objection_review", "异议审查", "Review of the objection"),
    "end": ("end_rejected", "不予许可", "Refused"),
    "end_approved": ("end_approved", "准予许可", "Approved"),
    "end_withdrawn": ("end_withdrawn", "视为撤回", "Withdrawn"),
}
END_OUTCOMES = ("approved", "rejected", "withdrawn")


@dataclass
class Result:
    text: str
    changed: bool
    refused: Message | None = None
    problems: list[Problem] = field(default_factory=list)
    focus: str | None = None  # the card to show after the operation (a new node, the moved one)


class Refused(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


@functools.lru_cache(maxsize=16)
def _checked(text: str) -> tuple[Problem, ...]:
    return tuple(check_definition(text)[1])


def default_check(text: str) -> list[Problem]:
    """The engine's checks without the database: departments and handlers
    are not checked here (the console passes a check that knows them)."""
    return list(_checked(text))


def apply(text: str, op: dict[str, Any], *, check: Check = default_check) -> Result:
    """Apply one operation (`op["op"]` names it) to `text`."""
    name = str(op.get("op", ""))
    handler = OPERATIONS.get(name)
    if handler is None:
        return Result(text, False, Message("unknown designer operation '{op}'", op=name))
    try:
        document = load(text)
        editor = Editor(document)
        focus = handler(editor, op)
        editor.refresh()
        new_text = dump(document, text)
    except Refused as exc:
        return Result(text, False, exc.message)
    except DocumentError as exc:
        return Result(text, False, exc.message)
    if new_text == text:
        return Result(text, False, focus=focus)
    after = editor.chain
    problems = check(new_text)
    if name in STRUCTURAL:
        if not after.representable:
            _node, reason = after.problems()[0]
            return Result(text, False, Message("the change is refused: {reason}", reason=reason))
        before = Counter(str(p.message) for p in check(text))
        new = [p for p in problems if before[str(p.message)] <= 0 or _spend(before, p)]
        if new:
            return Result(
                text, False, Message("the change is refused: {reason}", reason=new[0].message), problems
            )
    return Result(new_text, True, None, problems, focus)


def _spend(counter: Counter, problem: Problem) -> bool:
    counter[str(problem.message)] -= 1
    return False


class Editor:
    """The document, with the chain read from it, and the edits operations
    make (new ids, new nodes, rerouted flows)."""

    def __init__(self, document: CommentedMap) -> None:
        self.document = document
        self.refresh()

    def refresh(self) -> None:
        self.nodes: dict[str, Located] = index(self.document)
        self.chain = chains.read(self.document)

    # ids ------------------------------------------------------------------

    def new_id(self, base: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "_", base.lower()).strip("_") or "step"
        if not base[0].isalpha():
            base = "step_" + base
        taken = set(self.nodes) | set(self._process_keys())
        if base not in taken:
            self.nodes_reserved(base)
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        self.nodes_reserved(f"{base}_{n}")
        return f"{base}_{n}"

    def nodes_reserved(self, node_id: str) -> None:
        self._reserved = getattr(self, "_reserved", set())
        self._reserved.add(node_id)
        self.nodes.setdefault(node_id, None)  # type: ignore[arg-type]

    def _process_keys(self) -> list[str]:
        subs = self.document.get("subprocesses")
        return [str(k) for k in subs] if isinstance(subs, dict) else []

    # lookups --------------------------------------------------------------

    def node(self, node_id: Any) -> Located:
        located = self.nodes.get(str(node_id)) if node_id else None
        if located is None:
            raise Refused(Message("there is no node '{node}' in the template", node=str(node_id)))
        return located

    def process_chain(self, located: Located) -> chains.ProcessChain:
        chain = next(p for p in self.chain.processes if p.key == located.process)
        if chain.problem is not None:
            raise Refused(
                Message(
                    "this part of the template cannot be drawn as a chain ({reason}); edit it as text",
                    reason=chain.problem,
                )
            )
        return chain

    def members(self, process: str) -> dict[str, Located]:
        return {i: n for i, n in self.nodes.items() if n is not None and n.process == process}

    def flows_into(self, target: str, sources: Iterable[str]) -> list[tuple[Located, Flow]]:
        found = []
        for source in sources:
            located = self.nodes.get(source)
            if located is None:
                continue
            found.extend((located, f) for f in flows(located.raw) if f.target == target)
        return found

    def find(self, node_id: str) -> tuple[list[Any], int, chains.Block | None]:
        """The chain list holding the card (or block) `node_id`, its place
        there, and the block whose column holds the list (None at the top)."""
        located = self.node(node_id)
        process = self.process_chain(located)

        def search(items: list[Any], parent: chains.Block | None):
            for i, item in enumerate(items):
                if item.id == node_id:
                    return items, i, parent
                if isinstance(item, chains.Block):
                    for column in item.columns:
                        found = search(column.items, item)
                        if found:
                            return found
            return None

        found = search(process.items, None)
        if found is None:
            raise Refused(
                Message("'{node}' is not a card of the chain (it is part of a route)", node=node_id)
            )
        return found

    # edits ----------------------------------------------------------------

    def add_node(self, after: Located, raw: CommentedMap) -> None:
        """Write a new node into the list just after `after`'s. The comment
        (and blank line) written after `after` belongs to the node below it:
        it moves below the new node, and the new node is set off by a blank
        line."""
        seq = after.seq
        position = seq.index(after.raw) + 1
        seq.insert(position, raw)
        token = _get_tail(after.raw)
        _set_tail(raw, token)
        if token is not None:
            _set_tail(after.raw, _blank())
        self.refresh()

    def remove_node(self, node_id: str) -> None:
        """Take a node out; the comment above it goes with it, the one below
        it stays for the node that follows."""
        located = self.node(node_id)
        seq = located.seq
        position = seq.index(located.raw)
        if position > 0 and isinstance(seq[position - 1], CommentedMap):
            _set_tail(seq[position - 1], _get_tail(located.raw))
        del seq[position]
        self.refresh()

    def reroute(self, sources: Iterable[str], old: str, new: str) -> int:
        count = 0
        for located, f in self.flows_into(old, sources):
            set_flow(located.raw, f.path, new)
            count += 1
        return count

    def department(self) -> str:
        """The department most steps of the template use (a new step's)."""
        seen: Counter = Counter()
        for located in self.nodes.values():
            if located is None:
                continue
            raw = located.raw
            if isinstance(raw.get("department"), str):
                seen[raw["department"]] += 1
            sign = raw.get("countersign")
            if isinstance(sign, dict) and isinstance(sign.get("signers"), list):
                seen.update(s for s in sign["signers"] if isinstance(s, str))
        if not seen:
            raise Refused(Message("no step of the template names a department yet; add one as text first"))
        return seen.most_common(1)[0][0]

    def refusing_end(self, process: str, near: Located) -> str:
        """An end of the process that refuses (a new task's 'reject'): the
        one the template uses most, or a new one."""
        members = self.members(process)
        ends = [
            n.id
            for n in members.values()
            if n.type == "end" and n.raw.get("outcome") == "rejected" and n.raw.get("terminate") is not False
        ]
        used = Counter(
            f.target
            for n in members.values()
            for f in flows(n.raw)
            if f.label == "reject" and f.target in ends
        )
        if ends:
            return used.most_common(1)[0][0] if used else ends[0]
        end_id = self.new_id("end_rejected" if not process else f"{process}_rejected")
        raw = _map(id=end_id, type="end", title=_title("end"), outcome="rejected")
        last = list(self.members(process).values())[-1]
        self.add_node(last, raw)
        return end_id

    def new_end(self, process: str, outcome: str) -> str:
        """A new end of the process with the outcome, written after its last node."""
        if outcome not in END_OUTCOMES:
            raise Refused(Message("an end's outcome is approved, rejected or withdrawn"))
        kind = "end" if outcome == "rejected" else f"end_{outcome}"
        base = NEW_NODES[kind][0]
        end_id = self.new_id(base if not process else f"{process}_{base[4:]}")
        raw = _map(id=end_id, type="end", title=_title(kind), outcome=outcome)
        last = list(self.members(process).values())[-1]
        self.add_node(last, raw)
        return end_id

    def new_step(self, kind: str, process: str, target: str, near: Located) -> CommentedMap:
        """A new node of the kind leading to `target`; nodes that come with
        it (a public notice's objection review) are left in `companions`."""
        self.companions: list[CommentedMap] = []
        base, _zh, _en = NEW_NODES[kind]
        node_id = self.new_id(base)
        title = _title(kind)
        if kind in ("user_task", "countersign", "vote"):
            raw = _map(id=node_id, type="user_task", title=title)
            department = self.department()
            if kind == "user_task":
                raw["department"] = department
            elif kind == "countersign":
                raw["countersign"] = _map(mode="all", signers=_flow_seq([department, department]))
            else:
                raw["countersign"] = _map(
                    mode="vote",
                    pass_ratio=DoubleQuotedScalarString("2/3"),
                    signers=_flow_seq([department] * 3),
                )
            raw["outcomes"] = _map(approve=target, reject=self.refusing_end(process, near))
        elif kind == "acceptance":
            raw = _map(id=node_id, type="acceptance", title=title, department=self.department())
            raw["outcomes"] = _map(accept=target, refuse=self.refusing_end(process, near))
        elif kind == "service_task":
            handlers = [n.raw.get("handler") for n in self.nodes.values() if n is not None and n.type == kind]
            handlers = [h for h in handlers if isinstance(h, str)]
            if not handlers:
                raise Refused(
                    Message("an automatic step needs a registered handler; no step of the template names one")
                )
            raw = _map(id=node_id, type="service_task", title=title, handler=handlers[0], next=target)
        elif kind == "correction":
            raw = _map(id=node_id, type="correction", title=title, next=target)
        elif kind == "applicant_task":
            confirm = _map(zh="本人确认已按要求办理。", en="I confirm that I have done what is asked.")
            confirm.fa.set_flow_style()
            raw = _map(id=node_id, type="applicant_task", title=title, confirm=confirm, next=target)
        elif kind == "wait":
            raw = _map(id=node_id, type="wait", title=title, days=5, next=target)
        elif kind == "call":
            keys = [k for k in self._process_keys() if k != process]
            if not keys:
                raise Refused(Message("the template has no sub-process to call"))
            raw = _map(id=node_id, type="call", title=title, process=keys[0])
            raw["outcomes"] = _map(approved=target, rejected=self.refusing_end(process, near))
        elif kind == "publicity":
            # 公示 takes objections: the objection goes to a review whose
            # approve (dismissed) resumes the notice and reject (upheld) refuses
            review_id = self.new_id(NEW_NODES["objection_review"][0])
            raw = _map(id=node_id, type="publicity", title=title, days=5, objection=review_id, next=target)
            sla = _map(days=3)
            sla.fa.set_flow_style()
            review = _map(
                id=review_id,
                type="user_task",
                title=_title("objection_review"),
                department=self.department(),
                sla=sla,
            )
            review["outcomes"] = _map(approve=node_id, reject=self.refusing_end(process, near))
            self.companions.append(review)
        elif kind == "end":
            raw = _map(id=node_id, type="end", title=title, outcome="rejected")
        else:
            raise Refused(Message("unknown kind of step '{kind}'", kind=kind))
        return raw


def _tail(value: Any) -> tuple[Any, Any] | None:
    """The container and key of the last entry written in block style: the
    comment after a node hangs there."""
    if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
        key = list(value.keys())[-1]
        return _tail(value[key]) or (value, key)
    if isinstance(value, CommentedSeq) and value and not value.fa.flow_style():
        return _tail(value[-1]) or (value, len(value) - 1)
    return None


def _get_tail(node: CommentedMap):
    where = _tail(node)
    if where is None:
        return None
    holder, key = where
    slot = 2 if isinstance(holder, CommentedMap) else 0
    tokens = holder.ca.items.get(key)
    return tokens[slot] if tokens and len(tokens) > slot else None


def _set_tail(node: CommentedMap, token) -> None:
    where = _tail(node)
    if where is None:
        return
    holder, key = where
    slot = 2 if isinstance(holder, CommentedMap) else 0
    tokens = holder.ca.items.get(key)
    if token is None and not tokens:
        return
    if not tokens:
        tokens = [None, None, None, None]
        holder.ca.items[key] = tokens
    tokens[slot] = token


def _blank():
    return CommentToken("\n\n", CommentMark(0), None)


def _map(**items: Any) -> CommentedMap:
    raw = CommentedMap()
    for key, value in items.items():
        raw[key] = value
    return raw


def _flow_seq(values: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _title(kind: str) -> CommentedMap:
    _base, zh, en = NEW_NODES[kind]
    title = _map(zh=zh, en=en)
    title.fa.set_flow_style()
    return title


# -- positions ------------------------------------------------------------------
#
# A "+" of the page names a place: 'after:<id>' (below a card or a block)
# or 'column:<split id>:<n>' (the top of a block's n-th column, from 0).


def _place(editor: Editor, at: str) -> tuple[Located, list[str], str]:
    """Where a new step goes: the node it is written after, the nodes whose
    flows to `target` it takes over, and that target."""
    kind, _, rest = str(at).partition(":")
    if kind == "column":
        split_id, _, number = rest.rpartition(":")
        items, i, _parent = editor.find(split_id)
        block = items[i]
        if not isinstance(block, chains.Block) or not number.isdigit() or int(number) >= len(block.columns):
            raise Refused(Message("there is no such column"))
        column = block.columns[int(number)]
        split = editor.node(split_id)
        if sum(1 for f in flows(split.raw) if f.target == column.first) > 1:
            raise Refused(Message("two branches lead to the same step; edit this block as text"))
        return split, [split_id], column.first
    if kind != "after":
        raise Refused(Message("unknown place '{at}'", at=str(at)))
    items, i, parent = editor.find(rest)
    item = items[i]
    if isinstance(item, chains.Block):
        sources = [c.id for c in chains.walk([item])]
        if item.join is not None:
            join = editor.node(item.join)
            target = item.closes_into
            if target is None:
                raise Refused(Message("nothing follows this block"))
            return join, [item.join], target
        target = item.closes_into
        if target is None:
            raise Refused(Message("the columns of this block end the process; add the step inside a column"))
        last = max((editor.node(s) for s in sources), key=lambda n: n.seq.index(n.raw))
        return last, sources, target
    located = editor.node(item.id)
    if located.type == "end":
        raise Refused(Message("nothing can follow an end"))
    target = _next_of(items, i, parent, editor)
    if target is None:
        raise Refused(Message("nothing follows '{node}'", node=item.id))
    return located, [item.id], target


def _next_of(items: list[Any], i: int, parent: chains.Block | None, editor: Editor) -> str | None:
    """Where the chain goes after items[i]: the next card, or where the
    column closes."""
    if i + 1 < len(items):
        return items[i + 1].id
    if parent is not None:
        return parent.join or parent.closes_into
    card = items[i]
    # the last card of the process: its flow to the end below it, if any
    targets = [f.target for f in flows(editor.node(card.id).raw)]
    return targets[0] if len(set(targets)) == 1 else None


# -- operations ---------------------------------------------------------------


def op_insert_step(editor: Editor, op: dict[str, Any]) -> str:
    kind = str(op.get("kind", "user_task"))
    if kind not in STEP_KINDS:
        raise Refused(Message("unknown kind of step '{kind}'", kind=kind))
    after, sources, target = _place(editor, str(op.get("at", "")))
    raw = editor.new_step(kind, after.process, target, after)
    companions = editor.companions
    new_id = raw["id"]
    editor.reroute(sources, target, new_id)
    editor.add_node(after, raw)
    previous = editor.node(new_id)
    for companion in companions:
        editor.add_node(previous, companion)
        previous = editor.node(companion["id"])
    return new_id


def op_insert_block(editor: Editor, op: dict[str, Any]) -> str:
    kind = str(op.get("kind", "exclusive"))
    if kind not in BLOCK_KINDS:
        raise Refused(Message("unknown kind of branch '{kind}'", kind=kind))
    try:
        count = int(op.get("columns", 2))
    except (TypeError, ValueError):
        count = 0
    if not 2 <= count <= MAX_COLUMNS:
        raise Refused(Message("a branch block has 2 to {max} columns", max=MAX_COLUMNS))
    after, sources, target = _place(editor, str(op.get("at", "")))
    process = after.process
    split_id = editor.new_id(NEW_NODES[kind][0])
    join_id = editor.new_id(f"{split_id}_join")
    steps = [editor.new_step("user_task", process, join_id, after) for _ in range(count)]
    split = _map(id=split_id, type=kind, title=_title(kind))
    if kind == "parallel":
        split["next"] = _flow_seq([s["id"] for s in steps])
    else:
        branches = CommentedSeq()
        for n, step in enumerate(steps):
            last = n == count - 1
            if kind == "exclusive" and last:
                branch = _map(to=step["id"], default=True)
            else:
                branch = _map(
                    to=step["id"], when=DoubleQuotedScalarString("true" if kind == "inclusive" else "false")
                )
            branch.fa.set_flow_style()
            branches.append(branch)
        split["branches"] = branches
    join_title = _map(zh="汇合", en="Join")
    join_title.fa.set_flow_style()
    join = _map(id=join_id, type=kind, title=join_title, next=target)
    editor.reroute(sources, target, split_id)
    editor.add_node(after, split)
    previous = editor.node(split_id)
    for step in steps:
        editor.add_node(previous, step)
        previous = editor.node(step["id"])
    editor.add_node(previous, join)
    return split_id


def _block(editor: Editor, split_id: str) -> chains.Block:
    items, i, _parent = editor.find(split_id)
    block = items[i]
    if not isinstance(block, chains.Block):
        raise Refused(Message("'{node}' does not open a branch block", node=split_id))
    return block


def op_add_column(editor: Editor, op: dict[str, Any]) -> str:
    split_id = str(op.get("node", ""))
    block = _block(editor, split_id)
    split = editor.node(split_id)
    if split.type not in BLOCK_KINDS:
        raise Refused(Message("columns are added to a branch block only"))
    if len(block.columns) >= MAX_COLUMNS:
        raise Refused(Message("a branch block has 2 to {max} columns", max=MAX_COLUMNS))
    target = block.join or block.closes_into
    if target is None:
        raise Refused(Message("the columns of this block end the process; add the column as text"))
    step = editor.new_step("user_task", split.process, target, split)
    raw = split.raw
    if split.type == "parallel":
        nxt = raw.get("next")
        if isinstance(nxt, str):
            raw["next"] = _flow_seq([nxt, step["id"]])
        else:
            nxt.append(step["id"])
    else:
        branches = raw["branches"]
        branch = _map(to=step["id"], when=DoubleQuotedScalarString("false"))
        branch.fa.set_flow_style()
        default_at = next((i for i, b in enumerate(branches) if b.get("default") is True), len(branches))
        branches.insert(default_at, branch)
    last = max((editor.node(c.id) for c in chains.walk([block])), key=lambda n: n.seq.index(n.raw))
    editor.add_node(last, step)
    return step["id"]


def _column_nodes(editor: Editor, column: chains.Column, process: str) -> set[str]:
    nodes = {c.id for c in chains.walk(column.items)}
    for item in column.items:
        if isinstance(item, chains.Block) and item.join:
            nodes.add(item.join)
    for card in chains.walk(column.items):
        for route in card.routes:
            if route.route == "detour":
                nodes.update(route.through)
    for block in (i for i in column.items if isinstance(i, chains.Block)):
        for sub in block.columns:
            nodes |= _column_nodes(editor, sub, process)
    return nodes


def _drop(editor: Editor, doomed: set[str]) -> None:
    """Remove nodes, with the ends only they lead to; refuse when a node
    left behind still leads to one."""
    incoming: dict[str, set[str]] = {}
    for located in editor.nodes.values():
        if located is not None:
            for f in flows(located.raw):
                incoming.setdefault(f.target, set()).add(located.id)
    for located in list(editor.nodes.values()):
        if located is not None and located.type == "end" and incoming.get(located.id, {""}) <= doomed:
            doomed.add(located.id)
    for located in list(editor.nodes.values()):
        if located is None or located.id in doomed:
            continue
        for f in flows(located.raw):
            if f.target in doomed:
                raise Refused(
                    Message(
                        "'{node}' still leads to '{target}', which would be deleted",
                        node=located.id,
                        target=f.target,
                    )
                )
    for node_id in doomed:
        editor.remove_node(node_id)


def op_remove_column(editor: Editor, op: dict[str, Any]) -> str:
    split_id = str(op.get("node", ""))
    block = _block(editor, split_id)
    split = editor.node(split_id)
    try:
        number = int(op.get("column", -1))
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number < len(block.columns):
        raise Refused(Message("there is no such column"))
    column = block.columns[number]
    doomed = _column_nodes(editor, column, split.process)
    raw = split.raw
    # the split's flow to the column
    if split.type == "parallel" or "branches" not in raw:
        nxt = raw.get("next")
        if isinstance(nxt, list):
            del nxt[[str(t) for t in nxt].index(column.first)]
            if len(nxt) == 1:
                raw["next"] = nxt[0]
        elif isinstance(raw.get("outcomes"), dict):
            raise Refused(Message("the outcomes of '{node}' are changed in its properties", node=split_id))
    else:
        branches = raw["branches"]
        index_ = next(i for i, b in enumerate(branches) if b.get("to") == column.first)
        was_default = branches[index_].get("default") is True
        del branches[index_]
        if was_default and branches:
            last = branches[-1]
            last.pop("when", None)
            last["default"] = True
    _drop(editor, doomed)
    editor.refresh()
    if len(block.columns) - 1 == 1:
        _dissolve(editor, split_id, block)
    return split_id


def _dissolve(editor: Editor, split_id: str, block: chains.Block) -> None:
    """A block left with one column: its split and join go, the column stays."""
    split = editor.node(split_id)
    remaining = [f.target for f in flows(split.raw)]
    if len(set(remaining)) != 1:
        return
    first = remaining[0]
    members = editor.members(split.process)
    if block.join is not None:
        join = editor.node(block.join)
        after = [f.target for f in flows(join.raw)]
        if len(after) != 1:
            return
        editor.reroute(members, block.join, after[0])
        if first == block.join:
            first = after[0]
        editor.remove_node(block.join)
    editor.reroute(members, split_id, first)
    editor.remove_node(split_id)


def _simple_card(editor: Editor, node_id: str, what: Message) -> tuple[list[Any], int, Located]:
    items, i, _parent = editor.find(node_id)
    item = items[i]
    located = editor.node(node_id)
    if isinstance(item, chains.Block):
        raise Refused(Message("a branch block cannot be {what} this way; change its columns", what=what))
    if located.type in ("start", "end"):
        raise Refused(Message("the start and the ends stay where they are"))
    return items, i, located


def _forward(editor: Editor, items: list[Any], i: int, parent) -> str:
    target = _next_of(items, i, parent, editor)
    if target is None:
        raise Refused(Message("nothing follows '{node}'", node=items[i].id))
    return target


def op_move(editor: Editor, op: dict[str, Any]) -> str:
    node_id = str(op.get("node", ""))
    direction = str(op.get("direction", "up"))
    items, i, located = _simple_card(editor, node_id, Message("moved"))
    _items, _i, parent = editor.find(node_id)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(items):
        raise Refused(Message("the card is already at the end of its column"))
    upper, lower = (j, i) if direction == "up" else (i, j)
    a, b = items[upper], items[lower]
    if isinstance(a, chains.Block) or isinstance(b, chains.Block):
        raise Refused(Message("a card moves past single cards only, not past a branch block"))
    if editor.node(a.id).type in ("start", "end") or editor.node(b.id).type in ("start", "end"):
        raise Refused(Message("the start and the ends stay where they are"))
    below = _forward(editor, items, lower, parent)
    members = editor.members(located.process)
    # before: x -> a -> b -> below; after: x -> b -> a -> below
    placeholder = "\x00moving"
    editor.reroute([m for m in members if m not in (a.id, b.id)], a.id, placeholder)
    editor.reroute([b.id], below, placeholder + "below")
    editor.reroute([a.id], b.id, placeholder + "a")
    editor.reroute([m for m in members if m not in (a.id, b.id)], placeholder, b.id)
    editor.reroute([b.id], placeholder + "below", a.id)
    editor.reroute([a.id], placeholder + "a", below)
    editor.refresh()
    return node_id


def op_copy(editor: Editor, op: dict[str, Any]) -> str:
    node_id = str(op.get("node", ""))
    items, i, located = _simple_card(editor, node_id, Message("copied"))
    _items, _i, parent = editor.find(node_id)
    target = _forward(editor, items, i, parent)
    raw = _copy.deepcopy(located.raw)
    detours = {r.target for r in items[i].routes if r.route == "detour"}
    base = re.sub(r"_\d+$", "", node_id)
    new_id = editor.new_id(base)
    raw["id"] = new_id
    outcomes = raw.get("outcomes")
    if isinstance(outcomes, dict):
        for key in [k for k, t in outcomes.items() if t in detours]:
            del outcomes[key]
    editor.reroute([node_id], target, new_id)
    fresh = CommentedMap()
    for key, value in raw.items():
        fresh[key] = value
    for f in flows(fresh):
        if f.target == new_id:
            set_flow(fresh, f.path, target)
    editor.add_node(located, fresh)
    return new_id


def op_delete(editor: Editor, op: dict[str, Any]) -> str:
    node_id = str(op.get("node", ""))
    items, i, parent = editor.find(node_id)
    item = items[i]
    located = editor.node(node_id)
    if located.type in ("start", "end"):
        raise Refused(Message("the start and the ends stay where they are"))
    target = _forward(editor, items, i, parent)
    members = editor.members(located.process)
    if isinstance(item, chains.Block):
        doomed = {node_id}
        if item.join:
            doomed.add(item.join)
        for column in item.columns:
            doomed |= _column_nodes(editor, column, located.process)
    else:
        doomed = {node_id}
        for route in item.routes:
            if route.route == "detour":
                doomed.update(route.through)
    editor.reroute([m for m in members if m not in doomed], node_id, target)
    # a detour used by another card stays
    for other in [m for m in members if m not in doomed]:
        for f in flows(editor.node(other).raw):
            doomed.discard(f.target) if f.target != node_id else None
    _drop(editor, doomed)
    previous = items[i - 1].id if i > 0 else (parent.id if parent else target)
    return previous


# -- properties -----------------------------------------------------------------

SLA_DAYS = range(1, 366)


def _text(value: Any, limit: int = 200) -> str:
    return " ".join(str(value or "").split())[:limit]


def op_set(editor: Editor, op: dict[str, Any]) -> str:
    """Set the properties a card's panel shows; an empty value removes an
    optional one. Keys: title_zh, title_en, department, signers, sla_days,
    remind_at, sla_legal_basis, cc, condition:<n>, route:<label>,
    certificate_type, certificate_title_zh, certificate_title_en."""
    node_id = str(op.get("node", ""))
    located = editor.node(node_id)
    raw = located.raw
    values = op.get("values") or {}
    if not isinstance(values, dict):
        raise Refused(Message("nothing to set"))
    values = dict(values)
    if "sla_unit" in values:  # the limit's number and unit are set together
        _set_sla(raw, values.pop("sla_days", None), str(values.pop("sla_unit") or "days"))
    values = {_certificate_key(k): v for k, v in values.items()}
    for key, value in values.items():
        key = str(key)
        if key in ("title_zh", "title_en"):
            text = _text(value)
            if not text:
                raise Refused(Message("a title is needed in both languages"))
            title = raw.get("title")
            if not isinstance(title, dict):
                title = _title("user_task")
                raw["title"] = title
            title[key[-2:]] = text
        elif key == "department":
            _set_department(raw, _text(value, 64))
        elif key == "signers":
            sign = raw.get("countersign")
            if not isinstance(sign, dict):
                raise Refused(Message("'{node}' is not a countersign", node=node_id))
            signers = [s for s in re.split(r"[\s,，]+", str(value or "")) if s]
            if len(signers) < 2:
                raise Refused(Message("a countersign needs at least two signers"))
            sign["signers"] = _flow_seq(signers)
        elif key == "sla_days":
            sla = raw.get("sla") if isinstance(raw.get("sla"), dict) else {}
            _set_sla(raw, value, next((u for u in DURATION_UNITS if u in sla), "days"))
        elif key == "remind_at":
            _set_remind(raw, node_id, value)
        elif key == "sla_legal_basis":
            sla = raw.get("sla")
            if not isinstance(sla, dict):
                raise Refused(Message("'{node}' has no time limit to give a legal basis for", node=node_id))
            text = _text(value, 500)
            if text:
                sla["legal_basis"] = text
            else:
                sla.pop("legal_basis", None)
        elif key == "cc":
            departments = [s for s in re.split(r"[\s,，]+", str(value or "")) if s]
            cc = raw.get("cc")
            if isinstance(cc, dict):  # the long form {departments, roles}
                if departments:
                    cc["departments"] = _flow_seq(departments)
                else:
                    cc.pop("departments", None)
                    if not cc:
                        raw.pop("cc")
            elif departments:
                raw["cc"] = _flow_seq(departments)
            else:
                raw.pop("cc", None)
        elif key.startswith("condition:"):
            _set_condition(raw, node_id, key.partition(":")[2], _text(value, 1000))
        elif key.startswith("route:"):
            _set_route(editor, located, key.partition(":")[2], _text(value, 100))
        elif key == "days":
            _set_days(raw, value)
        elif key == "deadline_days":
            _set_deadline(raw, value)
        elif key == "outcome":
            if raw.get("type") != "end":
                raise Refused(Message("only an end has an outcome"))
            if value not in END_OUTCOMES:
                raise Refused(Message("an end's outcome is approved, rejected or withdrawn"))
            raw["outcome"] = value
        elif key.startswith("certificate:"):
            _set_certificate(raw, key, _text(value))
        elif key == "clock":
            _set_clock(raw, str(value or "").strip())
        elif key in ("extension", "extension_max"):
            _set_extension(raw, key, str(value or "").strip())
        elif key == "cc_roles":
            _set_cc_roles(raw, [s for s in re.split(r"[\s,，]+", str(value or "")) if s])
        elif key in ("mode", "pass_ratio", "weights"):
            _set_vote(raw, node_id, key, str(value or "").strip())
        else:
            raise Refused(Message("unknown property '{key}'", key=key))
    return node_id


def _set_department(raw: CommentedMap, value: str) -> None:
    if "department" not in raw and raw.get("type") not in ("user_task", "acceptance"):
        raise Refused(Message("this step has no department"))
    if "countersign" in raw:
        raise Refused(Message("a countersign names its signers, not one department"))
    if not value:
        raise Refused(Message("a department is needed"))
    raw["department"] = value


def _positive_days(value: Any) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise Refused(Message("a number of working days from 1 to 365")) from None
    if days not in SLA_DAYS:
        raise Refused(Message("a number of working days from 1 to 365"))
    return days


def _set_days(raw: CommentedMap, value: Any) -> None:
    """The length of an acceptance (受理期限), a wait or a public notice."""
    if raw.get("type") not in ("acceptance", "wait", "publicity"):
        raise Refused(Message("only an acceptance, a wait or a public notice has a length in days"))
    days = _positive_days(value)
    place = next((i for i, k in enumerate(raw) if k in ("days", "hours", "calendar_days")), None)
    for unit in ("hours", "calendar_days"):
        raw.pop(unit, None)
    if "days" in raw:
        raw["days"] = days
    else:
        raw.insert(place if place is not None else len(raw), "days", days)


def _set_deadline(raw: CommentedMap, value: Any) -> None:
    """The applicant's deadline on a correction or an applicant's step."""
    if raw.get("type") not in ("correction", "applicant_task"):
        raise Refused(Message("only a correction or an applicant's step has a deadline"))
    if str(value or "").strip() == "":
        if raw.get("on_timeout"):
            raise Refused(Message("a step with a route for a missed deadline needs its deadline"))
        raw.pop("deadline", None)
        return
    days = _positive_days(value)
    deadline = raw.get("deadline")
    if isinstance(deadline, dict):
        for unit in ("hours", "calendar_days"):
            deadline.pop(unit, None)
        if "days" in deadline:
            deadline["days"] = days
        else:
            deadline.insert(0, "days", days)
    else:
        deadline = _map(days=days)
        deadline.fa.set_flow_style()
        raw.insert(list(raw).index("title") + 1 if "title" in raw else len(raw), "deadline", deadline)


def _set_remind(raw: CommentedMap, node_id: str, value: Any) -> None:
    sla = raw.get("sla")
    if not isinstance(sla, dict):
        raise Refused(Message("set the time limit before its reminder"))
    text = str(value or "").strip()
    if not text:
        sla.pop("remind_at", None)
        return
    try:
        share = float(text)
    except ValueError:
        raise Refused(
            Message("a reminder is a share of the time limit above 0 and below 1, e.g. 0.5")
        ) from None
    if not 0 < share < 1:
        raise Refused(Message("a reminder is a share of the time limit above 0 and below 1, e.g. 0.5"))
    sla["remind_at"] = round(share, 2)


def _set_condition(raw: CommentedMap, node_id: str, number: str, text: str) -> None:
    branches = raw.get("branches")
    if not isinstance(branches, list) or not number.isdigit() or int(number) >= len(branches):
        raise Refused(Message("there is no such column"))
    branch = branches[int(number)]
    if branch.get("default") is True:
        raise Refused(Message("the default column has no condition"))
    if not text:
        raise Refused(Message("a column needs a condition"))
    branch["when"] = DoubleQuotedScalarString(text) if '"' not in text else text


def _set_route(editor: Editor, located: Located, label: str, target: str) -> None:
    raw = located.raw
    if target.startswith("new_end:"):  # a new end, written at the end of the process
        target = editor.new_end(located.process, target.partition(":")[2])
    members = editor.members(located.process)
    if target and target not in members:
        raise Refused(Message("there is no node '{node}' in this process", node=target))
    if label in ("on_timeout",):
        if raw.get("type") not in ("correction", "applicant_task", "signal"):
            raise Refused(Message("this step has no deadline route"))
        if target:
            raw["on_timeout"] = target
        else:
            raw.pop("on_timeout", None)
        return
    outcomes = raw.get("outcomes")
    if not isinstance(outcomes, dict):
        raise Refused(Message("this step has no outcomes to route"))
    allowed = {
        "user_task": ("approve", "reject", "return"),
        "acceptance": ("accept", "refuse", "notice"),
        "call": ("approved", "rejected", "withdrawn"),
        "bundle": ("approved", "partially_approved", "rejected", "withdrawn"),
    }.get(str(raw.get("type")), ())
    if label not in allowed:
        raise Refused(Message("unknown outcome '{label}'", label=label))
    if target:
        outcomes[label] = target
    elif label in ("approve", "accept", "approved"):
        raise Refused(Message("the approving outcome always leads somewhere"))
    else:
        outcomes.pop(label, None)


def _certificate_key(key: Any) -> str:
    """The panel's older names of the first certificate's fields."""
    key = str(key)
    if key in ("certificate_type", "certificate_title_zh", "certificate_title_en"):
        return "certificate:0:" + key.partition("_")[2]
    return key


CERTIFICATE_FIELDS = ("type", "department", "title_zh", "title_en")


def _set_certificate(raw: CommentedMap, key: str, value: str) -> None:
    """'certificate:<n>:<field>': a field of the end's n-th certificate; n
    one past the last adds one, an empty type removes it."""
    if raw.get("type") != "end":
        raise Refused(Message("only an end issues certificates"))
    _, number, name = key.split(":", 2) if key.count(":") == 2 else ("", "", "")
    if not number.isdigit() or name not in CERTIFICATE_FIELDS:
        raise Refused(Message("unknown property '{key}'", key=key))
    n = int(number)
    certificates = raw.get("certificates")
    if not isinstance(certificates, list):
        certificates = None
    count = len(certificates) if certificates is not None else 0
    if n > count:
        raise Refused(Message("there is no such certificate"))
    if n == count:  # a new one
        if not value:
            return
        title = _map(zh="", en="")
        title.fa.set_flow_style()
        cert = _map(type="", department="", title=title)
        if certificates is None:
            certificates = CommentedSeq()
            raw["certificates"] = certificates
        certificates.append(cert)
    cert = certificates[n]
    if not isinstance(cert, dict):
        raise Refused(Message("there is no such certificate"))
    if name == "type" and not value:
        del certificates[n]
        if not certificates:
            del raw["certificates"]
        return
    if name in ("type", "department"):
        cert[name] = value
        return
    title = cert.get("title")
    if not isinstance(title, dict):
        title = _map(zh="", en="")
        title.fa.set_flow_style()
        cert["title"] = title
    title[name[-2:]] = value


DURATION_UNITS = ("days", "hours", "calendar_days")


def _amount(value: Any, unit: str) -> int | float:
    """A limit in the unit, within the process language's bounds."""
    text = str(value).strip()
    bounds = {"days": 365, "hours": 2000, "calendar_days": 5000}
    try:
        amount = float(text) if unit == "hours" else int(text)
    except (TypeError, ValueError):
        amount = 0
    if not 0 < amount <= bounds[unit] or (unit != "hours" and amount < 1):
        raise Refused(
            Message(
                "a time limit in {unit} is a number above 0 and at most {max}", unit=unit, max=bounds[unit]
            )
        )
    return int(amount) if float(amount).is_integer() else amount


def _set_sla(raw: CommentedMap, value: Any, unit: str) -> None:
    """A review's time limit in working days, office hours or calendar
    days; the unit's key takes the old unit's place, so one line changes."""
    if raw.get("type") != "user_task":
        raise Refused(Message("only a review step has a time limit (SLA)"))
    if unit not in DURATION_UNITS:
        raise Refused(Message("a time limit is in days, hours or calendar_days"))
    sla = raw.get("sla") if isinstance(raw.get("sla"), dict) else None
    if value is None or str(value).strip() == "":
        old = [sla[u] for u in DURATION_UNITS if sla and u in sla]
        if value is not None or not old:  # the number was cleared: no limit (nor its extension)
            raw.pop("sla", None)
            if raw.get("extension") not in (None, "none"):
                raw.pop("extension", None)
            return
        value = old[0]
    amount = _amount(value, unit)
    if sla is None:
        sla = _map(**{unit: amount})
        sla.fa.set_flow_style()
        raw["sla"] = sla
        return
    place = next((i for i, k in enumerate(sla) if k in DURATION_UNITS), 0)
    for old in DURATION_UNITS:
        if old != unit:
            sla.pop(old, None)
    if unit in sla:
        sla[unit] = amount
    else:
        sla.insert(place, unit, amount)


def _set_clock(raw: CommentedMap, value: str) -> None:
    """`clock: excluded` (行政许可法 art 45) or counted (the default, no key)."""
    if raw.get("type") not in ("user_task", "publicity"):
        raise Refused(Message("only a review step or a public notice is on or off the statutory clock"))
    if isinstance(raw.get("clock"), dict):
        raise Refused(Message("this step's clock is written in the long form; change it as text"))
    if value == "excluded":
        raw["clock"] = "excluded"
    elif value in ("", "counted"):
        raw.pop("clock", None)
    else:
        raise Refused(Message("a step's clock is counted or excluded"))


def _set_extension(raw: CommentedMap, key: str, value: str) -> None:
    """延期: empty is the default ({days: 10}, once), 'none' forbids it, a
    number of working days allows that much; `extension_max` how often."""
    if raw.get("type") != "user_task":
        raise Refused(Message("only a review step can be extended"))
    extension = raw.get("extension")
    if key == "extension_max":
        if not isinstance(extension, dict):
            if not value:
                return
            raise Refused(Message("set the extension's days before how often it may be granted"))
        if not value:
            extension.pop("max", None)
            return
        if not value.isdigit() or not 1 <= int(value) <= 10:
            raise Refused(Message("an extension may be granted 1 to 10 times"))
        extension["max"] = int(value)
        return
    if not value:
        raw.pop("extension", None)
    elif value == "none":
        raw["extension"] = "none"
    else:
        days = _positive_days(value)
        if isinstance(extension, dict):
            for unit in ("hours", "calendar_days"):
                extension.pop(unit, None)
            if "days" in extension:
                extension["days"] = days
            else:
                extension.insert(0, "days", days)
        else:
            extension = _map(days=days)
            extension.fa.set_flow_style()
            raw["extension"] = extension


CC_ROLES = ("department_head", "leader", "auditor")


def _set_cc_roles(raw: CommentedMap, roles: list[str]) -> None:
    """抄送 to roles: the long form of `cc`, {departments, roles}."""
    if raw.get("type") != "user_task":
        raise Refused(Message("only a review step is copied (抄送)"))
    unknown = [r for r in roles if r not in CC_ROLES]
    if unknown:
        raise Refused(Message("a copy goes to the roles {roles} only", roles=", ".join(CC_ROLES)))
    cc = raw.get("cc")
    if isinstance(cc, dict):
        if roles:
            cc["roles"] = _flow_seq(roles)
        else:
            cc.pop("roles", None)
            if not cc:
                raw.pop("cc")
        return
    if not roles:
        return
    mapping = CommentedMap()
    if isinstance(cc, list) and cc:
        mapping["departments"] = _flow_seq(list(cc))
    mapping["roles"] = _flow_seq(roles)
    raw["cc"] = mapping


COUNTERSIGN_MODES = ("all", "any", "sequential", "vote")
_RATIO = re.compile(r"(\d+/\d+|0?\.\d+|1(\.0+)?|\d{1,3}%)")


def _set_vote(raw: CommentedMap, node_id: str, key: str, value: str) -> None:
    """A countersign's mode, and a vote's pass ratio and weights (票签)."""
    sign = raw.get("countersign")
    if not isinstance(sign, dict):
        raise Refused(Message("'{node}' is not a countersign", node=node_id))
    if key == "mode":
        if value not in COUNTERSIGN_MODES:
            raise Refused(Message("a countersign's mode is all, any, sequential or vote"))
        sign["mode"] = value
        if value == "vote" and "pass_ratio" not in sign:  # a vote needs its ratio: two thirds to start
            sign.insert(list(sign).index("mode") + 1, "pass_ratio", DoubleQuotedScalarString("2/3"))
        elif value != "vote":  # only a vote has a ratio and weights
            sign.pop("pass_ratio", None)
            sign.pop("weights", None)
    elif key == "pass_ratio":
        if not value:
            sign.pop("pass_ratio", None)
            return
        if not _RATIO.fullmatch(value):
            raise Refused(Message("a pass ratio is written 2/3, 0.5 or 50%"))
        if "pass_ratio" in sign:
            sign["pass_ratio"] = DoubleQuotedScalarString(value)
        else:
            sign.insert(
                list(sign).index("mode") + 1 if "mode" in sign else 0,
                "pass_ratio",
                DoubleQuotedScalarString(value),
            )
    else:
        weights = [w for w in re.split(r"[\s,，]+", value) if w]
        if not weights:
            sign.pop("weights", None)
            return
        if not all(w.isdigit() and 1 <= int(w) <= 100 for w in weights):
            raise Refused(Message("a vote's weights are whole numbers from 1 to 100, one per signer"))
        sign["weights"] = _flow_seq([int(w) for w in weights])


OPERATIONS: dict[str, Callable[[Editor, dict[str, Any]], str]] = {
    "insert_step": op_insert_step,
    "insert_block": op_insert_block,
    "add_column": op_add_column,
    "remove_column": op_remove_column,
    "move": op_move,
    "copy": op_copy,
    "delete": op_delete,
    "set": op_set,
}
