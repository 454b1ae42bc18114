"""The YAML document the designer edits: ruamel.yaml's round trip, so that
comments, key order and quoting of everything an operation does not touch
stay as written. Pure Python (no Django).

`load` parses a template's text; `dump` writes it back. A document that was
not changed is never dumped (the caller keeps the text); a changed one is
dumped and then lined up with the original, line by line, so that a line
ruamel.yaml would only re-space (a trailing blank, say) keeps its old bytes.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from govflow.engine.problems import Message

MAIN = ""  # the main process's key among the processes of a document


class DocumentError(Exception):
    """The text cannot be read as a template's YAML at all."""

    def __init__(self, message: Any, line: int = 1) -> None:
        super().__init__(str(message))
        self.message = message
        self.line = line


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.allow_unicode = True
    return yaml


def load(text: str) -> CommentedMap:
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DocumentError(
            Message("the text is not YAML: {problem}", problem=str(getattr(exc, "problem", exc))),
            line=mark.line + 1 if mark else 1,
        ) from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("nodes"), CommentedSeq):
        raise DocumentError(Message("a template is a mapping with a list of nodes under 'nodes'"))
    return document


def dump(document: CommentedMap, original: str) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return _line_up(original, out.getvalue())


def _line_up(original: str, written: str) -> str:
    """The written text, with each line that differs from its original only
    in trailing blanks given back its original bytes."""
    old = original.splitlines(keepends=True)
    new = written.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(
        None, [s.rstrip() for s in old], [s.rstrip() for s in new], autojunk=False
    )
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        lines.extend(old[i1:i2] if tag == "equal" else new[j1:j2])
    text = "".join(lines)
    if written.endswith("\n") and not text.endswith("\n"):
        text += "\n"
    return text


def processes(document: CommentedMap) -> Iterator[tuple[str, CommentedSeq]]:
    """(process key, its node list): the main process first ('' is its key),
    then each sub-process in the order written."""
    yield MAIN, document["nodes"]
    subs = document.get("subprocesses")
    if isinstance(subs, CommentedMap):
        for key, sub in subs.items():
            if isinstance(sub, CommentedMap) and isinstance(sub.get("nodes"), CommentedSeq):
                yield str(key), sub["nodes"]


@dataclass
class Located:
    """A node of the document: its mapping, the list holding it, and where."""

    id: str
    process: str
    raw: CommentedMap
    seq: CommentedSeq
    index: int
    line: int  # 1-based, the line of the node's first key
    last_line: int  # 1-based, the last line the node's text reaches

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))


def _last_line(value: Any, floor: int) -> int:
    """The last (0-based) line a value written in block or flow style reaches."""
    best = floor
    lc = getattr(value, "lc", None)
    if lc is not None and not isinstance(getattr(lc, "data", None), dict):
        lc = None
    if isinstance(value, CommentedMap):
        for key, item in value.items():
            if lc is not None and key in lc.data:
                best = max(best, lc.data[key][0], lc.data[key][2])
            best = max(best, _last_line(item, best))
    elif isinstance(value, CommentedSeq):
        for index, item in enumerate(value):
            if lc is not None and index in lc.data:
                best = max(best, lc.data[index][0])
            best = max(best, _last_line(item, best))
    elif isinstance(value, str) and "\n" in value.rstrip("\n") and lc is None:
        pass
    return best


def index(document: CommentedMap) -> dict[str, Located]:
    """Every node with an id, by id (the first one written wins a duplicate)."""
    found: dict[str, Located] = {}
    for process, seq in processes(document):
        for i, raw in enumerate(seq):
            if not isinstance(raw, CommentedMap) or not isinstance(raw.get("id"), str):
                continue
            # the mapping's own line (a new node, not yet written, has none)
            line = raw.lc.line if raw.lc.line is not None else 0
            last = _last_line(raw, line)
            found.setdefault(raw["id"], Located(raw["id"], process, raw, seq, i, line + 1, last + 1))
    # A block scalar (>-) runs on past its key's line: a node reaches up to
    # the line before the next node written after it.
    starts = sorted(located.line for located in found.values())
    for located in found.values():
        later = [s for s in starts if s > located.line]
        if later:
            located.last_line = (
                max(located.last_line, min(later) - 1)
                if _has_block_scalar(located.raw)
                else located.last_line
            )
    return found


def _has_block_scalar(value: Any) -> bool:
    if isinstance(value, CommentedMap):
        return any(_has_block_scalar(v) for v in value.values())
    if isinstance(value, CommentedSeq):
        return any(_has_block_scalar(v) for v in value)
    return type(value).__name__ in ("FoldedScalarString", "LiteralScalarString")


@dataclass(frozen=True)
class Flow:
    """One flow written on a node: where it is (`path` of keys inside the
    node's mapping), what it is called and where it leads."""

    path: tuple[Any, ...]
    label: str  # next, an outcome, a branch's condition, on_timeout, objection
    target: str
    kind: str  # next | outcome | branch | default | timeout | objection


def flows(raw: CommentedMap) -> list[Flow]:
    found: list[Flow] = []
    nxt = raw.get("next")
    if isinstance(nxt, str):
        found.append(Flow(("next",), "next", nxt, "next"))
    elif isinstance(nxt, list):
        found.extend(Flow(("next", i), "next", t, "next") for i, t in enumerate(nxt) if isinstance(t, str))
    outcomes = raw.get("outcomes")
    if isinstance(outcomes, dict):
        found.extend(
            Flow(("outcomes", k), str(k), t, "outcome") for k, t in outcomes.items() if isinstance(t, str)
        )
    branches = raw.get("branches")
    if isinstance(branches, list):
        for i, branch in enumerate(branches):
            if isinstance(branch, dict) and isinstance(branch.get("to"), str):
                default = branch.get("default") is True
                label = "default" if default else str(branch.get("when", ""))
                found.append(
                    Flow(("branches", i, "to"), label, branch["to"], "default" if default else "branch")
                )
    for key, kind in (("on_timeout", "timeout"), ("objection", "objection")):
        if isinstance(raw.get(key), str):
            found.append(Flow((key,), key, raw[key], kind))
    return found


def set_flow(raw: CommentedMap, path: tuple[Any, ...], target: str) -> None:
    holder: Any = raw
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = target
