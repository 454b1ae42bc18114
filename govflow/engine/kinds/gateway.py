"""What the three gateways share: `next` (one target, or a list for a
parallel split) or `branches` with conditions; a gateway with several ways
out splits, one with several ways in joins (worked out by the graph pass)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Branch, Node
from ..expressions import EvaluationError
from ..loading.positions import Pos, item_pos, key_pos, kind_of, pos_of, value_pos
from ..loading.primitives import ID_RE
from ..problems import Message
from .base import NodeKind

if TYPE_CHECKING:
    from .base import Reader


class Gateway(NodeKind):
    keys = frozenset({"next", "branches"})
    titled = False
    is_gateway = True
    shape = "gateway"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "next" in item and "branches" in item:
            reader.err(
                key_pos(item, "branches"),
                Message("{what} takes either 'next' or 'branches', not both", what=what),
            )
            return
        if "branches" in item:
            self.branches(reader, node, item, what)
            return
        if "next" not in item:
            reader.err((node.line, node.col), Message("{what} is missing required key 'next'", what=what))
            return
        value = item["next"]
        if isinstance(value, list):
            if node.type != "parallel":
                reader.err(
                    value_pos(item, "next"),
                    Message(
                        "{what}: an {type} gateway splits with 'branches' (each with a "
                        "condition), not a list",
                        what=what,
                        type=node.type,
                    ),
                )
                return
            targets = []
            for index, target in enumerate(value):
                pos = item_pos(value, index, value_pos(item, "next"))
                if not isinstance(target, str) or not ID_RE.match(target):
                    reader.err(
                        pos,
                        Message(
                            "{what} 'next' must list node ids, not {kind_of}",
                            what=what,
                            kind_of=kind_of(target),
                        ),
                    )
                elif target in targets:
                    reader.err(pos, Message("{what} lists '{target}' twice", what=what, target=target))
                else:
                    targets.append(str(target))
                    reader.flows.setdefault(node.id, {}).setdefault(str(target), pos)
            if not value:
                reader.err(value_pos(item, "next"), Message("{what} 'next' must not be empty", what=what))
            node.next = tuple(targets)
        else:
            reader.single_next(node, item, what)

    def branches(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if node.type == "parallel":
            reader.err(
                key_pos(item, "branches"),
                Message("{what}: a parallel gateway takes 'next' (a list), not 'branches'", what=what),
            )
            return
        pos = value_pos(item, "branches")
        raw = reader.seq(item["branches"], pos, Message("{what} branches", what=what)) or []
        branches: list[Branch] = []
        placed: list[tuple[Branch, Pos]] = []
        defaults = 0
        for index, entry in enumerate(raw):
            branch = reader.mapping(
                entry, item_pos(raw, index, pos), Message("a branch of {what}", what=what)
            )
            if branch is None:
                continue
            reader.keys(branch, ("to", "when", "default"), ("to",), Message("a branch of {what}", what=what))
            target = (
                reader.target(branch, "to", Message("a branch of {what}", what=what), node)
                if "to" in branch
                else None
            )
            if target is not None and node.type == "inclusive" and any(b.target == target for b in branches):
                # Every branch that holds starts its target: the node would run twice.
                reader.err(
                    value_pos(branch, "to"),
                    Message(
                        "{what} names '{target}' in two branches; an inclusive gateway starts "
                        "every branch whose condition holds, so '{target}' would run twice",
                        what=what,
                        target=target,
                    ),
                )
                target = None
            is_default = reader.boolean(branch, "default", Message("a branch of {what}", what=what), False)
            condition = None
            if is_default and "when" in branch:
                reader.err(
                    key_pos(branch, "when"),
                    Message("{what}: the default branch takes no 'when' condition", what=what),
                )
            elif is_default:
                defaults += 1
            elif "when" not in branch:
                reader.err(
                    pos_of(branch),
                    Message("a branch of {what} needs a 'when' condition or 'default: true'", what=what),
                )
            else:
                condition = reader.condition(branch, "when", node.id)
            if target is not None:
                branches.append(Branch(target=target, condition=condition, default=is_default))
                placed.append((branches[-1], value_pos(branch, "to")))
        self.dead_branches(reader, node, placed, what)
        if defaults > 1:
            reader.err(pos, Message("{what} has more than one default branch", what=what))
        if raw and len(raw) < 2:
            reader.err(pos, Message("{what} needs at least two branches to choose between", what=what))
        node.branches = tuple(branches)
        node.next = tuple(b.target for b in branches)

    def dead_branches(self, reader: Reader, node: Node, placed: list[tuple[Branch, Pos]], what: str) -> None:
        """A condition naming no data always gives the same answer: one that
        always holds rules out the branches after it (exclusive) and the
        default. Validation takes every other condition as a free choice, so
        it must know (a loop whose only way out is such a branch never ends)."""
        always: Branch | None = None  # the first branch whose condition always holds
        for branch, pos in placed:
            condition = branch.condition
            if branch.default or condition is None or condition.names:
                continue
            try:
                value = condition.test({})
            except EvaluationError as exc:
                reader.err(
                    pos,
                    Message(
                        "{what}: condition '{source}' can never be evaluated: {message}",
                        what=what,
                        source=condition.source,
                        message=exc.message,
                    ),
                )
                continue
            # A condition that never holds is not an error here: it switches a
            # branch off (the BPMN importer stands untranslated conditions in as
            # "false"); the graph pass checks that no loop needs it as its way out.
            if node.type == "exclusive" and always is not None:
                reader.err(
                    pos,
                    Message(
                        "{what}: the branch to '{target}' is never taken: the condition "
                        "'{source}' of the branch to '{target2}' before it always holds",
                        what=what,
                        target=branch.target,
                        source=always.condition.source,
                        target2=always.target,
                    ),
                )
            elif value and always is None:
                always = branch
        if always is None:
            return
        dead = [(b, p) for b, p in placed if b.default]
        if node.type == "exclusive":  # the first condition that holds wins
            after = [b for b, _ in placed].index(always) + 1
            dead += [(b, p) for b, p in placed[after:] if b.condition is not None and b.condition.names]
        dead.sort(key=lambda item: item[1])
        for branch, pos in dead:
            which = Message("the default branch") if branch.default else Message("the branch")
            where = "" if branch.default else Message(" before it")
            reader.err(
                pos,
                Message(
                    "{what}: {which} to '{target}' is never taken: the condition "
                    "'{source}' of the branch to '{target2}'{where} always holds",
                    what=what,
                    which=which,
                    target=branch.target,
                    source=always.condition.source,
                    target2=always.target,
                    where=where,
                ),
            )
