"""Pass 1, the raw text: size, encoding and control characters, then a scan
of YAML events that refuses tags (`!!python/object`), anchors and aliases
(the "billion laughs" bomb) and absurd nesting before anything is
constructed."""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)

from ..problems import Message, Problem

MAX_BYTES = 2_000_000
MAX_DEPTH = 32


def decode(source: str | bytes) -> tuple[str | None, list[Problem]]:
    if isinstance(source, bytes):
        if len(source) > MAX_BYTES:
            return None, [
                Problem(
                    1,
                    1,
                    Message(
                        "file is too large ({count_source} bytes; the limit is {MAX_BYTES})",
                        count_source=len(source),
                        MAX_BYTES=MAX_BYTES,
                    ),
                )
            ]
        if b"\x00" in source:
            return None, [Problem(1, 1, "file is binary, not YAML text (it contains NUL bytes)")]
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = source[: exc.start].count(b"\n") + 1
            return None, [Problem(line, 1, "file is not UTF-8 text (binary data?)")]
    else:
        text = source
        if len(text) > MAX_BYTES:
            return None, [
                Problem(
                    1,
                    1,
                    Message(
                        "file is too large ({count_text} characters; the limit is {MAX_BYTES})",
                        count_text=len(text),
                        MAX_BYTES=MAX_BYTES,
                    ),
                )
            ]
        if "\x00" in text:
            return None, [Problem(1, 1, "file is binary, not YAML text (it contains NUL bytes)")]
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        return None, [Problem(1, 1, "file is empty: a process definition needs at least id, title and nodes")]
    for lineno, line in enumerate(text.splitlines(), start=1):
        for col, char in enumerate(line, start=1):
            code = ord(char)
            if (code < 32 and char not in "\t\r") or (0x7F <= code < 0xA0 and code != 0x85):
                return None, [
                    Problem(lineno, col, Message("control character U+{code:04X} is not allowed", code=code))
                ]
            if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
                return None, [
                    Problem(
                        lineno, col, Message("character U+{code:04X} is not allowed in YAML text", code=code)
                    )
                ]
    return text, []


def scan(text: str) -> list[Problem]:
    """Refuse tags, anchors/aliases and deep nesting before constructing anything."""
    problems: list[Problem] = []
    depth = 0
    try:
        for event in YAML(typ="safe", pure=True).parse(io.StringIO(text)):
            mark = event.start_mark
            if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
                problems.append(
                    Problem(mark.line + 1, mark.column + 1, "anchors and aliases (& and *) are not allowed")
                )
                return problems
            tag = getattr(event, "tag", None)
            if (
                tag is not None
                and not (isinstance(event, ScalarEvent) and tag == "!" and event.implicit[1])
                and isinstance(event, ScalarEvent | CollectionStartEvent)
            ):
                tag = str(tag).replace("tag:yaml.org,2002:", "!!")
                problems.append(
                    Problem(
                        mark.line + 1,
                        mark.column + 1,
                        Message("YAML tags such as '{tag}' are not allowed in a process definition", tag=tag),
                    )
                )
                return problems
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(
                        Problem(
                            mark.line + 1,
                            mark.column + 1,
                            Message("nesting is deeper than {MAX_DEPTH} levels", MAX_DEPTH=MAX_DEPTH),
                        )
                    )
                    return problems
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except MarkedYAMLError as exc:
        return [yaml_problem(exc)]
    except YAMLError as exc:  # pragma: no cover
        return [Problem(1, 1, Message("YAML error: {exc}", exc=exc))]
    return problems


def yaml_problem(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    what = exc.problem or exc.context or "invalid YAML"
    if "duplicate key" in str(what) or "found duplicate key" in str(exc):
        what = "duplicate key " + str(what).split("duplicate key", 1)[-1].strip()
    return Problem(line, col, Message("YAML syntax error: {what}", what=what))
