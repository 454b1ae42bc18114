"""Refusing to publish editing notes as law.

A template's legal text is printed on decisions and certificates as
written: every `legal_basis` (the process's, and a silent-consent SLA's)
and every certificate's `title`. Text there that still holds a
placeholder or a note to the template's authors ("发布前请核对…", "TODO",
"XXX", "示例") would be printed on a licence, so publishing and
`validate_process` refuse it, at the line and column of the marker.

The rule (docs/process-language.md, "Placeholders"): a marker is one of
PLACEHOLDER_MARKERS, matched case-insensitively; descriptions, help texts
and YAML comments are not checked (help texts may well say 例如).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from govflow.engine import Problem
from govflow.engine.loading.positions import value_pos
from govflow.engine.problems import Message

# What authors write where the real text is still missing.
PLACEHOLDER_MARKERS = (
    "发布前",  # 发布前请核对…
    "请核对",
    "请填写",
    "请补充",
    "待补充",
    "待定",
    "此处填写",
    "示例",
    "样例",
    "××",
    "TODO",
    "FIXME",
    "TBD",
    "XXX",
    "lorem ipsum",
    "{{",
)
_MARKER_RE = re.compile("|".join(re.escape(m) for m in PLACEHOLDER_MARKERS), re.IGNORECASE)
LEGAL_TEXT_KEYS = frozenset({"legal_basis"})


def _legal_texts(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[CommentedMap, str, str, str]]:
    """(mapping, key, what, text) for every legal text in the document."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if key in LEGAL_TEXT_KEYS and isinstance(value, str):
                yield node, key, str(key), value
            elif key == "certificates" and isinstance(value, CommentedSeq):
                for spec in value:
                    title = spec.get("title") if isinstance(spec, CommentedMap) else None
                    if isinstance(title, CommentedMap):
                        for language, text in title.items():
                            if isinstance(text, str):
                                yield (
                                    title,
                                    language,
                                    Message("certificate title ({language})", language=language),
                                    text,
                                )
            else:
                yield from _legal_texts(value, (*path, str(key)))
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from _legal_texts(item, path)


def _locate(lines: list[str], start: tuple[int, int], marker: str) -> tuple[int, int]:
    """The marker's own line and column in the source: from where the value
    starts, on through the lines of a block or folded scalar."""
    line_no, col = start
    key_indent = None
    for index in range(line_no - 1, min(len(lines), line_no + 200)):
        text = lines[index]
        if index > line_no - 1:
            indent = len(text) - len(text.lstrip())
            if text.strip() and key_indent is not None and indent <= key_indent:
                break
        else:
            key_indent = len(text) - len(text.lstrip())
        found = text.lower().find(marker.lower(), col - 1 if index == line_no - 1 else 0)
        if found >= 0:
            return index + 1, found + 1
    return start


def placeholder_problems(source: str | bytes) -> list[Problem]:
    """Every placeholder or editing note in the template's legal texts; an
    unreadable document gives none (the loader reports it)."""
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except (YAMLError, ValueError, IndexError, TypeError, RecursionError):
        return []
    lines = text.splitlines()
    problems = []
    for mapping, key, what, value in _legal_texts(document):
        for match in _MARKER_RE.finditer(value):
            where = _locate(lines, value_pos(mapping, key), match.group(0))
            problems.append(
                Problem(
                    where[0],
                    where[1],
                    Message(
                        "{what}: {marker} is a placeholder or an editing note; this text is printed "
                        "on decisions and certificates as written: replace it with the final text",
                        what=what,
                        marker=repr(match.group(0)),
                    ),
                )
            )
    return sorted(set(problems))
