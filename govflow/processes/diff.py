"""What a new text of a template changes against the published version,
for the administrator about to publish it and for the second administrator
asked to approve it (four-eyes, govflow.processes.proposals).

Two views of one change: the text's unified diff (what Git would show), and
the changes by meaning: which nodes, form fields, documents and top-level
settings (time limit, calendar, verification, ...) were added, removed or
changed, and in which keys. Lists of mappings with an `id` (nodes, fields,
documents, branches of a sub-process) are matched by id, so moving a node
in the file is no change, and renaming one is a removal and an addition.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML, YAMLError

MAX_VALUE = 160
MAX_LINES = 2000


@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]  # ("nodes", "registration") or ("form", "fields", "company_name") ...
    what: str  # "added" | "removed" | "changed"
    keys: tuple[tuple[str, str, str], ...] = ()  # for "changed": (key, old, new)

    @property
    def where(self) -> str:
        return " › ".join(self.path) or "(template)"


@dataclass(frozen=True)
class TemplateDiff:
    lines: list[tuple[str, str]] = field(default_factory=list)  # (" ", "+", "-", "@"), text
    changes: list[Change] = field(default_factory=list)
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not self.lines

    @property
    def added(self) -> int:
        return sum(1 for kind, _text in self.lines if kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for kind, _text in self.lines if kind == "-")


def template_diff(old: str, new: str, *, context: int = 3) -> TemplateDiff:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    lines: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old_lines, new_lines, "published", "new", n=context, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        kind = line[:1] if line[:1] in "+-@" else " "
        lines.append((kind, line[1:] if kind in "+- " else line))
    truncated = len(lines) > MAX_LINES
    return TemplateDiff(lines[:MAX_LINES], list(_changes(_load(old), _load(new))), truncated)


def _load(text: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return None


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _by_id(items: list) -> dict[str, Any] | None:
    """A list of mappings that all have an id, keyed by it (None otherwise)."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        return None
    keyed = {i["id"]: i for i in items}
    return keyed if len(keyed) == len(items) else None


def _changes(old: Any, new: Any, path: tuple[str, ...] = ()) -> Iterator[Change]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new and path == ():
            yield Change((), "changed", (("", _text(old), _text(new)),))
        return
    keys: list[tuple[str, str, str]] = []
    inner: list[Change] = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, list) and isinstance(after, list):
            old_items, new_items = _by_id(before), _by_id(after)
            if old_items is not None and new_items is not None:
                inner.extend(_items(old_items, new_items, (*path, str(key))))
                continue
        if isinstance(before, dict) and isinstance(after, dict) and _nested(before, after):
            inner.extend(_changes(before, after, (*path, str(key))))
            continue
        keys.append((str(key), _text(before), _text(after)))
    if keys:
        yield Change(path, "changed", tuple(keys))
    yield from inner


def _nested(before: dict, after: dict) -> bool:
    """Worth descending into (a section such as `form`), rather than showing
    the mapping as one value (`sla: {days: 5}`)."""
    return any(isinstance(v, list | dict) for v in [*before.values(), *after.values()])


def _items(old: dict[str, Any], new: dict[str, Any], path: tuple[str, ...]) -> Iterator[Change]:
    for item_id in old:
        if item_id not in new:
            yield Change((*path, item_id), "removed")
    for item_id, item in new.items():
        if item_id not in old:
            yield Change((*path, item_id), "added")
        elif old[item_id] != item:
            yield from _changes(old[item_id], item, (*path, item_id))
