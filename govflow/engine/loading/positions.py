"""Where things are written: 1-based (line, column) pairs read from
ruamel.yaml's round-trip nodes, and plain-language names of value types for
messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from ..problems import Message

Pos = tuple[int, int]


def key_pos(mapping: CommentedMap, key: str) -> Pos:
    try:
        line, col = mapping.lc.key(key)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return pos_of(mapping)


def value_pos(mapping: CommentedMap, key: str) -> Pos:
    try:
        line, col = mapping.lc.value(key)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return key_pos(mapping, key)


def item_pos(seq: CommentedSeq, index: int, default: Pos) -> Pos:
    try:
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return default


def pos_of(obj: Any, default: Pos = (1, 1)) -> Pos:
    lc = getattr(obj, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return default


def kind_of(value: Any) -> str:
    """What a value is, in words ("a whole number", "a list")."""
    if value is None:
        return Message("nothing")
    if isinstance(value, bool):
        return Message("true/false")
    if isinstance(value, int):
        return Message("a whole number")
    if isinstance(value, float):
        return Message("a number")
    if isinstance(value, str):
        return Message("text")
    if isinstance(value, dict):
        return Message("a mapping")
    if isinstance(value, list):
        return Message("a list")
    if isinstance(value, date):
        return Message("a date")
    return type(value).__name__


def offset_in_scalar(mapping: CommentedMap, key: str, value: str, offset: int) -> int:
    """Column offset of a character inside a one-line scalar (quotes shift it
    by one). Block scalars and multi-line values point at their start."""
    raw = mapping[key]
    style = getattr(raw, "style", None)
    if (
        style in ("|", ">")
        or "\n" in value[:offset]
        or isinstance(raw, LiteralScalarString | FoldedScalarString)
    ):
        return 0
    shift = (
        1
        if style in ("'", '"') or isinstance(raw, SingleQuotedScalarString | DoubleQuotedScalarString)
        else 0
    )
    return shift + offset
