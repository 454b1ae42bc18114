"""The reader's base: problems and the small typed readers every part of a
template uses (keys, text, identifiers, numbers, labels in zh and en,
departments, durations, flows to other nodes, conditions)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..definition import Duration, Node
from ..expressions import ExpressionError, compile_expression
from ..forms import FieldSpec
from ..problems import Message, Problem
from .positions import Pos, key_pos, kind_of, offset_in_scalar, pos_of, value_pos

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
LANGUAGES = ("zh", "en")
# The keys of a duration: exactly one of them (see Primitives.duration).
DURATION_KEYS = ("days", "hours", "calendar_days")


class Primitives:
    def __init__(self, *, departments: frozenset[str] | None, handlers: frozenset[str] | None) -> None:
        self.departments = departments
        self.handlers = handlers
        self.problems: list[Problem] = []
        self.fields: dict[str, FieldSpec] = {}
        self.document_slots: dict[str, Any] = {}  # the form's attachment slots, by id
        self.declared_fields: set[str] = set()  # including fields refused for another problem
        self.conditions: list[tuple[Any, Pos, str]] = []  # (expression, position, node id)
        self.used_departments: set[str] = set()
        # (what, deadline, position) of each deferrable document (form.py).
        self.deferral_deadlines: list[tuple[str, Any, Any]] = []
        self.lines: list[str] = []
        # node id -> target id -> where the first flow naming it is written
        # (graph problems about one flow point there, not at the node)
        self.flows: dict[str, dict[str, Pos]] = {}
        # node id -> field id -> position, for checks once the form is known
        self.clearance_positions: dict[str, dict[str, Pos]] = {}
        # node id -> position of the sub-process it calls
        self.call_positions: dict[str, Pos] = {}
        # bundle node id -> item id -> position of its `process`
        self.item_positions: dict[str, dict[str, Pos]] = {}
        # node id -> return_to target -> position (checked once all nodes are read)
        self.return_positions: dict[str, dict[str, Pos]] = {}

    def err(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(pos[0], pos[1], message))

    # generic helpers ------------------------------------------------------

    def keys(
        self,
        mapping: CommentedMap,
        allowed: Iterable[str],
        required: Iterable[str],
        what: str,
        *,
        reported: Iterable[str] = (),
    ) -> None:
        allowed = set(allowed)
        reported = set(reported)
        for key in mapping:
            if not isinstance(key, str):
                self.err(
                    key_pos(mapping, key),
                    Message("keys must be text; found {kind_of} in {what}", kind_of=kind_of(key), what=what),
                )
            elif key not in allowed and key not in reported:
                self.err(
                    key_pos(mapping, key),
                    Message(
                        "unknown key '{key}' in {what} (allowed: {allowed})",
                        key=key,
                        what=what,
                        allowed=", ".join(sorted(allowed)),
                    ),
                )
        for key in required:
            if key not in mapping:
                self.err(
                    pos_of(mapping), Message("{what} is missing required key '{key}'", what=what, key=key)
                )

    def mapping(self, value: Any, pos: Pos, what: str) -> CommentedMap | None:
        if not isinstance(value, dict):
            self.err(
                pos, Message("{what} must be a mapping, not {kind_of}", what=what, kind_of=kind_of(value))
            )
            return None
        return value

    def seq(self, value: Any, pos: Pos, what: str) -> CommentedSeq | None:
        if not isinstance(value, list):
            self.err(pos, Message("{what} must be a list, not {kind_of}", what=what, kind_of=kind_of(value)))
            return None
        return value

    def text(self, mapping: CommentedMap, key: str, what: str, *, max_length: int = 500) -> str | None:
        value = mapping.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or isinstance(value, bool):
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be text, not {kind_of}", what=what, key=key, kind_of=kind_of(value)
                ),
            )
            return None
        if not value.strip():
            self.err(value_pos(mapping, key), Message("{what} '{key}' must not be empty", what=what, key=key))
            return None
        if len(value) > max_length:
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' is longer than {max_length} characters",
                    what=what,
                    key=key,
                    max_length=max_length,
                ),
            )
            return None
        return str(value)

    def ident(self, mapping: CommentedMap, key: str, what: str, *, pattern: re.Pattern = ID_RE) -> str | None:
        value = self.text(mapping, key, what, max_length=64)
        if value is None:
            return None
        if not pattern.match(value):
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be lowercase letters, digits and underscores "
                    "starting with a letter; got '{value}'",
                    what=what,
                    key=key,
                    value=value,
                ),
            )
            return None
        return value

    def boolean(self, mapping: CommentedMap, key: str, what: str, default: bool) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be true or false, not {kind_of}",
                    what=what,
                    key=key,
                    kind_of=kind_of(value),
                ),
            )
            return default
        return value

    def integer(
        self, mapping: CommentedMap, key: str, what: str, *, minimum: int, maximum: int
    ) -> int | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be a whole number, not {kind_of}",
                    what=what,
                    key=key,
                    kind_of=kind_of(value),
                ),
            )
            return None
        if not minimum <= value <= maximum:
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be between {minimum} and {maximum}",
                    what=what,
                    key=key,
                    minimum=minimum,
                    maximum=maximum,
                ),
            )
            return None
        return int(value)

    def number(
        self,
        mapping: CommentedMap,
        key: str,
        what: str,
        *,
        minimum: float,
        maximum: float,
        exclusive_min=False,
    ) -> float | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be a number, not {kind_of}",
                    what=what,
                    key=key,
                    kind_of=kind_of(value),
                ),
            )
            return None
        try:
            value = float(value)
        except OverflowError:
            value = float("inf")
        too_low = value <= minimum if exclusive_min else value < minimum
        if too_low or value > maximum or value != value:
            bound = (
                Message("greater than {minimum}", minimum=minimum)
                if exclusive_min
                else Message("at least {minimum}", minimum=minimum)
            )
            self.err(
                value_pos(mapping, key),
                Message(
                    "{what} '{key}' must be {bound} and at most {maximum}",
                    what=what,
                    key=key,
                    bound=bound,
                    maximum=maximum,
                ),
            )
            return None
        return value

    def label(self, mapping: CommentedMap, key: str, what: str, *, required: bool) -> dict[str, str] | None:
        if key not in mapping:
            if required:
                self.err(
                    pos_of(mapping),
                    Message(
                        "{what} is missing required key '{key}' (with zh and en texts)", what=what, key=key
                    ),
                )
            return None
        value = mapping[key]
        pos = value_pos(mapping, key)
        if not isinstance(value, dict):
            self.err(
                pos,
                Message(
                    "{what} '{key}' must be a mapping with zh and en texts, not {kind_of}",
                    what=what,
                    key=key,
                    kind_of=kind_of(value),
                ),
            )
            return None
        self.keys(value, LANGUAGES, (), Message("{what} '{key}'", what=what, key=key))
        result: dict[str, str] = {}
        for language in LANGUAGES:
            if language not in value:
                self.err(
                    pos,
                    Message(
                        "{what} '{key}' needs both zh and en texts; '{language}' is missing",
                        what=what,
                        key=key,
                        language=language,
                    ),
                )
                continue
            text = self.text(value, language, Message("{what} '{key}'", what=what, key=key), max_length=2000)
            if text is not None:
                result[language] = text
        return result if len(result) == len(LANGUAGES) else None

    def department(self, value: Any, pos: Pos, what: str) -> str | None:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.err(
                pos,
                Message(
                    "{what} must be a department code such as 'market_regulation', not {value}",
                    what=what,
                    value=repr(value),
                ),
            )
            return None
        if self.departments is not None and value not in self.departments:
            self.err(pos, Message("unknown department '{value}' in {what}", value=value, what=what))
            return None
        value = str(value)
        self.used_departments.add(value)
        return value

    def duration(self, mapping: CommentedMap, what: str) -> Duration | None:
        units = [key for key in ("days", "hours", "calendar_days") if key in mapping]
        if len(units) > 1:
            both: Message | str = units[0]
            for unit in units[1:]:
                both = Message("{first} and {then}", first=both, then=unit)
            self.err(
                key_pos(mapping, units[1]),
                Message(
                    "{what} takes one of 'days', 'hours' or 'calendar_days', not {units}",
                    what=what,
                    units=both,
                ),
            )
            return None
        if not units:
            self.err(
                pos_of(mapping),
                Message(
                    "{what} needs 'days' (working days), 'hours' (office hours) or 'calendar_days'", what=what
                ),
            )
            return None
        if units[0] == "days":
            days = self.integer(mapping, "days", what, minimum=1, maximum=3650)
            return Duration(days=days) if days is not None else None
        if units[0] == "calendar_days":
            days = self.integer(mapping, "calendar_days", what, minimum=1, maximum=5000)
            return Duration(calendar_days=days) if days is not None else None
        hours = self.number(mapping, "hours", what, minimum=0, maximum=2000, exclusive_min=True)
        return Duration(hours=hours) if hours is not None else None

    # flows and conditions -------------------------------------------------

    def target(self, item: CommentedMap, key: str, what: str, node: Node | None = None) -> str | None:
        value = item.get(key)
        if not isinstance(value, str) or not ID_RE.match(value):
            self.err(
                value_pos(item, key),
                Message(
                    "{what} '{key}' must name a node id, not {kind_of}",
                    what=what,
                    key=key,
                    kind_of=kind_of(value),
                ),
            )
            return None
        if node is not None:
            self.flows.setdefault(node.id, {}).setdefault(str(value), value_pos(item, key))
        return str(value)  # plain str: ruamel's quoted-string subclasses must not reach the state

    def single_next(self, node: Node, item: CommentedMap, what: str) -> None:
        if "next" not in item:
            self.err((node.line, node.col), Message("{what} is missing required key 'next'", what=what))
            return
        target = self.target(item, "next", what, node)
        if target is not None:
            node.next = (target,)

    def condition(self, mapping: CommentedMap, key: str, node_id: str) -> Any:
        value = mapping[key]
        pos = value_pos(mapping, key)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            self.err(pos, Message("condition must be text, not {kind_of}", kind_of=kind_of(value)))
            return None
        try:
            expression = compile_expression(str(value))
        except ExpressionError as exc:
            shift = offset_in_scalar(mapping, key, value, exc.offset)
            source_line = self.lines[pos[0] - 1] if 0 < pos[0] <= len(self.lines) else ""
            if isinstance(mapping[key], DoubleQuotedScalarString) and "\\" in source_line[pos[1] - 1 :]:
                shift = 0  # escape sequences: source columns no longer match characters
            self.err(
                (pos[0], pos[1] + shift), Message("condition does not parse: {message}", message=exc.message)
            )
            return None
        self.conditions.append((expression, pos, node_id))
        return expression
