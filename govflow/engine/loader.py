"""YAML process templates -> `Definition`, with every problem reported at once.

Reading happens in three passes, each of which collects problems instead of
stopping at the first:

1. the raw text: size, encoding, and a scan of YAML events that refuses
   tags (`!!python/object`), anchors and aliases (the "billion laughs"
   bomb) and absurd nesting before anything is constructed;
2. the structure: known keys, required keys, types and limits, labels in
   both languages, conditions that parse and name known fields;
3. the graph (`govflow.engine.graph`): references, reachability, paths to
   an end, balanced splits and joins.

Positions come from ruamel.yaml's round-trip loader and are reported 1-based.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from . import graph
from .definition import (
    BREACH_ACTIONS,
    CASE_OUTCOMES,
    COUNTERSIGN_MODES,
    MAIN,
    NODE_TYPES,
    TASK_OUTCOMES,
    Branch,
    CatalogPublish,
    CatalogReuse,
    CatalogSource,
    CatalogSpec,
    CertificateSpec,
    Countersign,
    Definition,
    Duration,
    Node,
    Process,
    Sla,
)
from .expressions import EvaluationError, ExpressionError, compile_expression
from .forms import FIELD_TYPES, SENSITIVITIES, AttachmentSpec, Choice, FieldSpec, FormSpec, resolve_date_limit
from .problems import InvalidDefinition, Problem

MAX_BYTES = 2_000_000
MAX_DEPTH = 32
MAX_NODES = 2_000
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
LANGUAGES = ("zh", "en")

TOP_KEYS = {
    "id": True,
    "title": True,
    "description": False,
    "calendar": False,
    "time_limit": False,
    "legal_basis": False,
    "form": False,
    "nodes": True,
    "subprocesses": False,
    "title_field": False,
    "catalog": False,
}
CATALOG_CASE_SOURCES = ("case.reference", "case.date")
CATALOG_CERTIFICATE_SOURCES = ("certificate.type", "certificate.department")
MAX_CATALOG_ENTRIES = 50
COMMON_NODE_KEYS = {"id", "type", "title", "description"}
NODE_KEYS: dict[str, set[str]] = {
    "start": {"next"},
    "end": {"outcome", "terminate", "certificates"},
    "user_task": {"department", "outcomes", "sla", "countersign", "clearance", "clock"},
    "service_task": {"handler", "next"},
    "parallel": {"next"},
    "exclusive": {"next", "branches"},
    "inclusive": {"next", "branches"},
    "wait": {"days", "hours", "next"},
    "correction": {"deadline", "next", "on_timeout"},
    "call": {"process", "outcomes"},
}
TIMER_KEYS = ("sla", "deadline", "days", "hours")
TITLED_TYPES = ("user_task", "service_task", "wait", "correction", "call", "end")
FIELD_KEYS = {
    "id",
    "type",
    "label",
    "required",
    "sensitivity",
    "min",
    "max",
    "min_length",
    "max_length",
    "pattern",
    "decimals",
    "choices",
    "columns",
    "min_rows",
    "max_rows",
    "help",
}
ATTACHMENT_KEYS = {"id", "label", "types", "max_size_mb", "required", "max_count"}
KNOWN_MIME_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "application/ofd",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/dwg",
    "image/vnd.dwg",
}


def load_definition(
    source: str | bytes,
    *,
    departments: Iterable[str] | None = None,
    handlers: Iterable[str] | None = None,
) -> Definition:
    """Parse and validate a template; raise `InvalidDefinition` listing every problem."""
    definition, problems = check_definition(source, departments=departments, handlers=handlers)
    if problems or definition is None:
        raise InvalidDefinition(problems)
    return definition


def load_definition_file(path: str | Path, **kwargs: Any) -> Definition:
    return load_definition(Path(path).read_bytes(), **kwargs)


def check_definition(
    source: str | bytes,
    *,
    departments: Iterable[str] | None = None,
    handlers: Iterable[str] | None = None,
) -> tuple[Definition | None, list[Problem]]:
    """Return the definition (None when it cannot be built) and all problems."""
    text, problems = _decode(source)
    if text is None:
        return None, problems
    problems = _scan(text)
    if problems:
        return None, problems
    try:
        yaml = YAML(typ="rt", pure=True)
        yaml.allow_duplicate_keys = False
        yaml.preserve_quotes = True
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        return None, [_yaml_problem(exc)]
    except YAMLError as exc:  # pragma: no cover - ruamel raises marked errors for text input
        return None, [Problem(1, 1, f"YAML error: {exc}")]
    except RecursionError:
        return None, [Problem(1, 1, "the document is nested too deeply")]
    except (ValueError, IndexError, TypeError) as exc:
        # ruamel's scalar constructors can fail on odd plain scalars (`-_`
        # is resolved as an integer and then has no digits); report it, never
        # raise. The fuzz test in tests/engine/test_loader.py found it.
        return None, [Problem(1, 1, f"the YAML could not be read ({type(exc).__name__}: {exc})")]
    reader = _Reader(
        departments=None if departments is None else frozenset(departments),
        handlers=None if handlers is None else frozenset(handlers),
    )
    reader.lines = text.splitlines()
    definition = reader.read(document)
    return (definition if not reader.problems else None), sorted(set(reader.problems))


# -- pass 1: raw text -------------------------------------------------------


def _decode(source: str | bytes) -> tuple[str | None, list[Problem]]:
    if isinstance(source, bytes):
        if len(source) > MAX_BYTES:
            return None, [Problem(1, 1, f"file is too large ({len(source)} bytes; the limit is {MAX_BYTES})")]
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
                Problem(1, 1, f"file is too large ({len(text)} characters; the limit is {MAX_BYTES})")
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
                return None, [Problem(lineno, col, f"control character U+{code:04X} is not allowed")]
            if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
                return None, [Problem(lineno, col, f"character U+{code:04X} is not allowed in YAML text")]
    return text, []


def _scan(text: str) -> list[Problem]:
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
                        f"YAML tags such as '{tag}' are not allowed in a process definition",
                    )
                )
                return problems
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(
                        Problem(mark.line + 1, mark.column + 1, f"nesting is deeper than {MAX_DEPTH} levels")
                    )
                    return problems
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except MarkedYAMLError as exc:
        return [_yaml_problem(exc)]
    except YAMLError as exc:  # pragma: no cover
        return [Problem(1, 1, f"YAML error: {exc}")]
    return problems


def _yaml_problem(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    what = exc.problem or exc.context or "invalid YAML"
    if "duplicate key" in str(what) or "found duplicate key" in str(exc):
        what = "duplicate key " + str(what).split("duplicate key", 1)[-1].strip()
    return Problem(line, col, f"YAML syntax error: {what}")


# -- pass 2: structure ------------------------------------------------------

Pos = tuple[int, int]


def _key_pos(mapping: CommentedMap, key: str) -> Pos:
    try:
        line, col = mapping.lc.key(key)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return _pos(mapping)


def _value_pos(mapping: CommentedMap, key: str) -> Pos:
    try:
        line, col = mapping.lc.value(key)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return _key_pos(mapping, key)


def _item_pos(seq: CommentedSeq, index: int, default: Pos) -> Pos:
    try:
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return default


def _pos(obj: Any, default: Pos = (1, 1)) -> Pos:
    lc = getattr(obj, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return default


def _article(node_type: str) -> str:
    return "an" if node_type in ("end", "exclusive", "inclusive") else "a"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


class _Reader:
    def __init__(self, *, departments: frozenset[str] | None, handlers: frozenset[str] | None) -> None:
        self.departments = departments
        self.handlers = handlers
        self.problems: list[Problem] = []
        self.fields: dict[str, FieldSpec] = {}
        self.declared_fields: set[str] = set()  # including fields refused for another problem
        self.conditions: list[tuple[Any, Pos, str]] = []  # (expression, position, node id)
        self.used_departments: set[str] = set()
        self.lines: list[str] = []
        # node id -> target id -> where the first flow naming it is written
        # (graph problems about one flow point there, not at the node)
        self.flows: dict[str, dict[str, Pos]] = {}

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
                self.err(_key_pos(mapping, key), f"keys must be text; found {_kind(key)} in {what}")
            elif key not in allowed and key not in reported:
                self.err(
                    _key_pos(mapping, key),
                    f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})",
                )
        for key in required:
            if key not in mapping:
                self.err(_pos(mapping), f"{what} is missing required key '{key}'")

    def mapping(self, value: Any, pos: Pos, what: str) -> CommentedMap | None:
        if not isinstance(value, dict):
            self.err(pos, f"{what} must be a mapping, not {_kind(value)}")
            return None
        return value

    def seq(self, value: Any, pos: Pos, what: str) -> CommentedSeq | None:
        if not isinstance(value, list):
            self.err(pos, f"{what} must be a list, not {_kind(value)}")
            return None
        return value

    def text(self, mapping: CommentedMap, key: str, what: str, *, max_length: int = 500) -> str | None:
        value = mapping.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or isinstance(value, bool):
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be text, not {_kind(value)}")
            return None
        if not value.strip():
            self.err(_value_pos(mapping, key), f"{what} '{key}' must not be empty")
            return None
        if len(value) > max_length:
            self.err(_value_pos(mapping, key), f"{what} '{key}' is longer than {max_length} characters")
            return None
        return str(value)

    def ident(self, mapping: CommentedMap, key: str, what: str, *, pattern: re.Pattern = ID_RE) -> str | None:
        value = self.text(mapping, key, what, max_length=64)
        if value is None:
            return None
        if not pattern.match(value):
            self.err(
                _value_pos(mapping, key),
                f"{what} '{key}' must be lowercase letters, digits and underscores starting with a letter; "
                f"got '{value}'",
            )
            return None
        return value

    def boolean(self, mapping: CommentedMap, key: str, what: str, default: bool) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be true or false, not {_kind(value)}")
            return default
        return value

    def integer(
        self, mapping: CommentedMap, key: str, what: str, *, minimum: int, maximum: int
    ) -> int | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be a whole number, not {_kind(value)}")
            return None
        if not minimum <= value <= maximum:
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be between {minimum} and {maximum}")
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
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be a number, not {_kind(value)}")
            return None
        try:
            value = float(value)
        except OverflowError:
            value = float("inf")
        too_low = value <= minimum if exclusive_min else value < minimum
        if too_low or value > maximum or value != value:
            bound = f"greater than {minimum}" if exclusive_min else f"at least {minimum}"
            self.err(_value_pos(mapping, key), f"{what} '{key}' must be {bound} and at most {maximum}")
            return None
        return value

    def label(self, mapping: CommentedMap, key: str, what: str, *, required: bool) -> dict[str, str] | None:
        if key not in mapping:
            if required:
                self.err(_pos(mapping), f"{what} is missing required key '{key}' (with zh and en texts)")
            return None
        value = mapping[key]
        pos = _value_pos(mapping, key)
        if not isinstance(value, dict):
            self.err(pos, f"{what} '{key}' must be a mapping with zh and en texts, not {_kind(value)}")
            return None
        self.keys(value, LANGUAGES, (), f"{what} '{key}'")
        result: dict[str, str] = {}
        for language in LANGUAGES:
            if language not in value:
                self.err(pos, f"{what} '{key}' needs both zh and en texts; '{language}' is missing")
                continue
            text = self.text(value, language, f"{what} '{key}'", max_length=2000)
            if text is not None:
                result[language] = text
        return result if len(result) == len(LANGUAGES) else None

    def department(self, value: Any, pos: Pos, what: str) -> str | None:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.err(pos, f"{what} must be a department code such as 'market_regulation', not {value!r}")
            return None
        if self.departments is not None and value not in self.departments:
            self.err(pos, f"unknown department '{value}' in {what}")
            return None
        value = str(value)
        self.used_departments.add(value)
        return value

    def duration(self, mapping: CommentedMap, what: str) -> Duration | None:
        has_days, has_hours = "days" in mapping, "hours" in mapping
        if has_days and has_hours:
            self.err(_key_pos(mapping, "hours"), f"{what} takes either 'days' or 'hours', not both")
            return None
        if not has_days and not has_hours:
            self.err(_pos(mapping), f"{what} needs 'days' (working days) or 'hours' (working hours)")
            return None
        if has_days:
            days = self.integer(mapping, "days", what, minimum=1, maximum=3650)
            return Duration(days=days) if days is not None else None
        hours = self.number(mapping, "hours", what, minimum=0, maximum=2000, exclusive_min=True)
        return Duration(hours=hours) if hours is not None else None

    # the document ---------------------------------------------------------

    def read(self, document: Any) -> Definition | None:
        root = self.mapping(document, _pos(document), "the process definition")
        if root is None:
            return None
        self.keys(root, TOP_KEYS, [k for k, req in TOP_KEYS.items() if req], "the process definition")
        process_id = self.ident(root, "id", "process", pattern=SLUG_RE)
        title = self.label(root, "title", "process", required=True)
        description = self.label(root, "description", "process", required=False)
        calendar = self.ident(root, "calendar", "process") if "calendar" in root else "cn"
        legal_basis = self.text(root, "legal_basis", "process", max_length=2000)
        time_limit = None
        if "time_limit" in root:
            tl = self.mapping(root["time_limit"], _value_pos(root, "time_limit"), "time_limit")
            if tl is not None:
                self.keys(tl, ("days", "hours"), (), "time_limit")
                time_limit = self.duration(tl, "time_limit")
        form = self.read_form(root.get("form"), _value_pos(root, "form")) if "form" in root else FormSpec()
        title_field = self.ident(root, "title_field", "process") if "title_field" in root else None
        if title_field is not None and (
            title_field not in self.fields or self.fields[title_field].type not in ("text", "textarea")
        ):
            self.err(
                _value_pos(root, "title_field"),
                f"title_field '{title_field}' must name a text field of the form",
            )
            title_field = None

        nodes: dict[str, Node] = {}
        processes: dict[str, Process] = {}
        seen: dict[str, Pos] = {}
        if "nodes" in root:
            start = self.read_nodes(root["nodes"], _value_pos(root, "nodes"), MAIN, nodes, seen)
            if start is not None:
                processes[MAIN] = Process(MAIN, title, start)
        if "subprocesses" in root:
            subs = self.mapping(root["subprocesses"], _value_pos(root, "subprocesses"), "subprocesses")
            for sub_id in subs or ():
                sub_pos = _key_pos(subs, sub_id)
                if not isinstance(sub_id, str) or not ID_RE.match(sub_id) or sub_id == MAIN:
                    self.err(
                        sub_pos, f"sub-process id {sub_id!r} must be a lowercase identifier other than 'main'"
                    )
                    continue
                sub = self.mapping(subs[sub_id], _value_pos(subs, sub_id), f"sub-process '{sub_id}'")
                if sub is None:
                    continue
                self.keys(
                    sub, ("title", "nodes", "description"), ("title", "nodes"), f"sub-process '{sub_id}'"
                )
                sub_title = self.label(sub, "title", f"sub-process '{sub_id}'", required=True)
                if "nodes" in sub:
                    start = self.read_nodes(sub["nodes"], _value_pos(sub, "nodes"), sub_id, nodes, seen)
                    if start is not None:
                        processes[sub_id] = Process(sub_id, sub_title, start)
        if len(nodes) > MAX_NODES:
            self.err(_pos(root), f"too many nodes ({len(nodes)}; the limit is {MAX_NODES})")
            return None

        self.check_conditions(nodes)
        self.check_clearance(nodes)
        catalog = (
            self.read_catalog(root["catalog"], _value_pos(root, "catalog"), nodes)
            if "catalog" in root
            else CatalogSpec()
        )
        if self.problems or process_id is None or title is None or MAIN not in processes:
            # Graph checks on a broken structure would only repeat the same problems.
            if not self.problems:
                self.err(_pos(root), "the process has no start node")
            graph_problems = (
                graph.analyse(nodes, processes, partial=True, flows=self.flows) if nodes and processes else []
            )
            self.problems.extend(graph_problems)
            return None
        self.problems.extend(graph.analyse(nodes, processes, flows=self.flows))
        return Definition(
            id=process_id,
            title=title,
            description=description,
            calendar=calendar or "cn",
            time_limit=time_limit,
            legal_basis=legal_basis,
            form=form,
            nodes=nodes,
            processes=processes,
            departments=frozenset(self.used_departments),
            title_field=title_field,
            decimal_fields=tuple(f.id for f in form.fields if f.type == "decimal"),
            decimal_columns={
                f.id: tuple(c.id for c in f.columns if c.type == "decimal")
                for f in form.fields
                if f.type == "table" and any(c.type == "decimal" for c in f.columns)
            },
            catalog=catalog,
        )

    # form -------------------------------------------------------------------

    def read_form(self, value: Any, pos: Pos) -> FormSpec:
        form = self.mapping(value, pos, "form")
        if form is None:
            return FormSpec()
        self.keys(form, ("fields", "attachments"), (), "form")
        fields: list[FieldSpec] = []
        if "fields" in form:
            fields = self.read_fields(form["fields"], _value_pos(form, "fields"), "form", allow_table=True)
        self.fields = {f.id: f for f in fields}
        attachments: list[AttachmentSpec] = []
        seen: set[str] = set()
        if "attachments" in form:
            items = self.seq(form["attachments"], _value_pos(form, "attachments"), "form attachments") or []
            for index, raw in enumerate(items):
                item = self.mapping(raw, _item_pos(items, index, pos), "an attachment")
                if item is None:
                    continue
                spec = self.read_attachment(item)
                if spec is None:
                    continue
                if spec.id in seen or spec.id in self.fields:
                    self.err(_value_pos(item, "id"), f"duplicate form id '{spec.id}'")
                    continue
                seen.add(spec.id)
                attachments.append(spec)
        return FormSpec(fields=tuple(fields), attachments=tuple(attachments))

    def read_fields(self, value: Any, pos: Pos, what: str, *, allow_table: bool) -> list[FieldSpec]:
        items = self.seq(value, pos, f"{what} fields") or []
        fields: list[FieldSpec] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            item = self.mapping(raw, _item_pos(items, index, pos), "a form field")
            if item is None:
                continue
            spec = self.read_field(item, allow_table=allow_table)
            if spec is None:
                continue
            if spec.id in seen:
                self.err(_value_pos(item, "id"), f"duplicate field id '{spec.id}'")
                continue
            seen.add(spec.id)
            fields.append(spec)
        return fields

    def read_field(self, item: CommentedMap, *, allow_table: bool) -> FieldSpec | None:
        field_id = self.ident(item, "id", "form field") if "id" in item else None
        if field_id:
            self.declared_fields.add(field_id)
        what = f"field '{field_id}'" if field_id else "form field"
        self.keys(item, FIELD_KEYS, ("id", "type", "label"), what)
        kind = item.get("type")
        if "type" in item and kind not in FIELD_TYPES:
            self.err(
                _value_pos(item, "type"),
                f"unknown field type {kind!r} in {what} (known: {', '.join(FIELD_TYPES)})",
            )
            kind = None
        if kind == "table" and not allow_table:
            self.err(_value_pos(item, "type"), f"{what}: a table cannot hold another table")
            kind = None
        label = self.label(item, "label", what, required=True)
        help_text = self.label(item, "help", what, required=False)
        required = self.boolean(item, "required", what, False)
        sensitivity = item.get("sensitivity", "public")
        if sensitivity not in SENSITIVITIES:
            self.err(
                _value_pos(item, "sensitivity"),
                f"{what} 'sensitivity' must be one of {', '.join(SENSITIVITIES)}, not {sensitivity!r}",
            )
            sensitivity = "public"
        min_length = self.integer(item, "min_length", what, minimum=0, maximum=100_000)
        max_length = self.integer(item, "max_length", what, minimum=1, maximum=100_000)
        if min_length is not None and max_length is not None and min_length > max_length:
            self.err(_value_pos(item, "min_length"), f"{what}: min_length is greater than max_length")
        decimals = self.integer(item, "decimals", what, minimum=0, maximum=8)
        min_rows = self.integer(item, "min_rows", what, minimum=0, maximum=10_000)
        max_rows = self.integer(item, "max_rows", what, minimum=1, maximum=10_000)
        if min_rows is not None and max_rows is not None and min_rows > max_rows:
            self.err(_value_pos(item, "min_rows"), f"{what}: min_rows is greater than max_rows")
        pattern = self.text(item, "pattern", what, max_length=500)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.err(
                    _value_pos(item, "pattern"), f"{what}: pattern is not a valid regular expression ({exc})"
                )
                pattern = None
        for key, kinds in (
            ("min_length", ("text", "textarea", "address", "email")),
            ("max_length", ("text", "textarea", "address", "email")),
            ("pattern", ("text", "textarea")),
            ("decimals", ("decimal",)),
            ("min_rows", ("table",)),
            ("max_rows", ("table",)),
            ("choices", ("choice", "multichoice")),
            ("columns", ("table",)),
            ("min", ("number", "decimal", "date")),
            ("max", ("number", "decimal", "date")),
        ):
            if key in item and kind is not None and kind not in kinds:
                self.err(_key_pos(item, key), f"{what}: '{key}' does not apply to a {kind} field")
        limits = {key: self.limit(item, key, kind, what) for key in ("min", "max") if key in item}
        low, high = limits.get("min"), limits.get("max")
        if (
            low is not None
            and high is not None
            and not isinstance(low, str)
            and not isinstance(high, str)
            and low > high
        ):
            self.err(_value_pos(item, "min"), f"{what}: min is greater than max")
        choices: list[Choice] = []
        if kind in ("choice", "multichoice"):
            if "choices" not in item:
                self.err(_pos(item), f"{what}: a {kind} field needs 'choices'")
            else:
                choices = self.read_choices(item, what)
        columns: list[FieldSpec] = []
        if kind == "table":
            if "columns" not in item:
                self.err(_pos(item), f"{what}: a table field needs 'columns'")
            else:
                columns = self.read_fields(
                    item["columns"], _value_pos(item, "columns"), what, allow_table=False
                )
                if not columns:
                    self.err(_value_pos(item, "columns"), f"{what}: a table needs at least one column")
        if field_id is None or kind is None or label is None:
            return None
        return FieldSpec(
            id=field_id,
            type=kind,
            label=label,
            required=required,
            sensitivity=sensitivity,
            min=low,
            max=high,
            min_length=min_length,
            max_length=max_length,
            pattern=pattern,
            decimals=decimals,
            choices=tuple(choices),
            columns=tuple(columns),
            min_rows=min_rows,
            max_rows=max_rows,
            help=help_text,
        )

    def limit(self, item: CommentedMap, key: str, kind: str | None, what: str) -> Any:
        value = item[key]
        pos = _value_pos(item, key)
        if kind == "date":
            if isinstance(value, datetime):
                self.err(pos, f"{what} '{key}' must be a date without a time; got {value}")
                return None
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                try:
                    resolve_date_limit(value, date(2000, 1, 1))
                except ValueError:
                    self.err(
                        pos,
                        f"{what} '{key}' must be a date or 'today', 'today+5y', 'today-18y'; got {value!r}",
                    )
                    return None
                return str(value)
            self.err(pos, f"{what} '{key}' must be a date, not {_kind(value)}")
            return None
        if kind in ("number", "decimal"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.err(pos, f"{what} '{key}' must be a number, not {_kind(value)}")
                return None
            if kind == "number":
                if not isinstance(value, int):
                    self.err(pos, f"{what} '{key}' must be a whole number for a number field")
                    return None
                if abs(value) > 10**30:
                    self.err(pos, f"{what} '{key}' is out of range")
                    return None
                return int(value)
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) > Decimal(10) ** 30:
                self.err(pos, f"{what} '{key}' must be a finite number")
                return None
            return number
        return None

    def read_choices(self, item: CommentedMap, what: str) -> list[Choice]:
        items = self.seq(item["choices"], _value_pos(item, "choices"), f"{what} choices") or []
        choices: list[Choice] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            choice = self.mapping(
                raw, _item_pos(items, index, _value_pos(item, "choices")), f"a choice of {what}"
            )
            if choice is None:
                continue
            self.keys(choice, ("value", "label"), ("value", "label"), f"a choice of {what}")
            value = self.text(choice, "value", f"a choice of {what}", max_length=100)
            label = self.label(choice, "label", f"choice {value!r} of {what}", required=False)
            if value is None or label is None:
                continue
            if value in seen:
                self.err(_value_pos(choice, "value"), f"duplicate choice value '{value}' in {what}")
                continue
            seen.add(value)
            choices.append(Choice(value=value, label=label))
        if items and not choices and not self.problems:
            self.err(_value_pos(item, "choices"), f"{what} needs at least one choice")
        if not items:
            self.err(_value_pos(item, "choices"), f"{what} needs at least one choice")
        return choices

    def read_attachment(self, item: CommentedMap) -> AttachmentSpec | None:
        att_id = self.ident(item, "id", "attachment") if "id" in item else None
        what = f"attachment '{att_id}'" if att_id else "attachment"
        self.keys(item, ATTACHMENT_KEYS, ("id", "label", "types"), what)
        label = self.label(item, "label", what, required=True)
        required = self.boolean(item, "required", what, False)
        max_size = self.number(item, "max_size_mb", what, minimum=0, maximum=200, exclusive_min=True)
        max_count = self.integer(item, "max_count", what, minimum=1, maximum=50)
        types: list[str] = []
        if "types" in item:
            values = self.seq(item["types"], _value_pos(item, "types"), f"{what} types") or []
            for index, value in enumerate(values):
                pos = _item_pos(values, index, _value_pos(item, "types"))
                if not isinstance(value, str) or value not in KNOWN_MIME_TYPES:
                    self.err(
                        pos,
                        f"{what}: unsupported file type {value!r} "
                        f"(known: {', '.join(sorted(KNOWN_MIME_TYPES))})",
                    )
                else:
                    types.append(value)
            if not values:
                self.err(_value_pos(item, "types"), f"{what} needs at least one file type")
        if att_id is None or label is None or not types:
            return None
        return AttachmentSpec(
            id=att_id,
            label=label,
            types=tuple(types),
            max_size_mb=max_size if max_size is not None else 10,
            required=required,
            max_count=max_count or 1,
        )

    # nodes ------------------------------------------------------------------

    def read_nodes(
        self, value: Any, pos: Pos, process: str, nodes: dict[str, Node], seen: dict[str, Pos]
    ) -> str | None:
        items = self.seq(value, pos, "nodes")
        if items is None:
            return None
        if not items:
            self.err(pos, "nodes must not be empty")
            return None
        starts: list[Node] = []
        for index, raw in enumerate(items):
            item = self.mapping(raw, _item_pos(items, index, pos), "a node")
            if item is None:
                continue
            node = self.read_node(item, process)
            if node is None:
                continue
            if node.id in seen:
                line, _col = seen[node.id]
                self.err(
                    (node.line, node.col), f"duplicate node id '{node.id}' (first defined at line {line})"
                )
                continue
            seen[node.id] = (node.line, node.col)
            nodes[node.id] = node
            if node.type == "start":
                starts.append(node)
        where = "the process" if process == MAIN else f"sub-process '{process}'"
        if not starts:
            self.err(pos, f"{where} has no start node")
            return None
        for extra in starts[1:]:
            self.err(
                (extra.line, extra.col),
                f"{where} has more than one start node ('{starts[0].id}' and '{extra.id}')",
            )
        return starts[0].id

    def read_node(self, item: CommentedMap, process: str) -> Node | None:
        node_id = self.ident(item, "id", "node") if "id" in item else None
        if "id" not in item:
            self.err(_pos(item), "node is missing required key 'id'")
        node_type = item.get("type")
        what = f"node '{node_id}'" if node_id else "node"
        if "type" not in item:
            self.err(_pos(item), f"{what} is missing required key 'type'")
            return None
        if node_type not in NODE_TYPES:
            self.err(
                _value_pos(item, "type"),
                f"unknown node type {node_type!r} in {what} (known: {', '.join(NODE_TYPES)})",
            )
            return None
        allowed = COMMON_NODE_KEYS | NODE_KEYS[node_type]
        for key in TIMER_KEYS:
            if key in item and key not in allowed:
                self.err(
                    _key_pos(item, key),
                    f"a timer ('{key}') cannot stand on {_article(node_type)} {node_type} node: "
                    "only user tasks take an SLA, "
                    "wait nodes take days or hours, and corrections take a deadline",
                )
        self.keys(item, allowed, ("id", "type"), what, reported=TIMER_KEYS)
        line, col = _pos(item)
        title = self.label(item, "title", what, required=node_type in TITLED_TYPES)
        if node_id is None:
            return None
        description = self.label(item, "description", what, required=False)
        node = Node(
            id=node_id,
            type=node_type,
            process=process,
            title=title,
            description=description,
            line=line,
            col=col,
        )
        reader = getattr(self, f"node_{node_type}")
        reader(node, item, what)
        return node

    def target(self, item: CommentedMap, key: str, what: str, node: Node | None = None) -> str | None:
        value = item.get(key)
        if not isinstance(value, str) or not ID_RE.match(value):
            self.err(_value_pos(item, key), f"{what} '{key}' must name a node id, not {_kind(value)}")
            return None
        if node is not None:
            self.flows.setdefault(node.id, {}).setdefault(str(value), _value_pos(item, key))
        return str(value)  # plain str: ruamel's quoted-string subclasses must not reach the state

    def single_next(self, node: Node, item: CommentedMap, what: str) -> None:
        if "next" not in item:
            self.err((node.line, node.col), f"{what} is missing required key 'next'")
            return
        target = self.target(item, "next", what, node)
        if target is not None:
            node.next = (target,)

    def node_start(self, node: Node, item: CommentedMap, what: str) -> None:
        self.single_next(node, item, what)

    def node_end(self, node: Node, item: CommentedMap, what: str) -> None:
        outcome = item.get("outcome")
        if outcome not in CASE_OUTCOMES:
            self.err(
                _value_pos(item, "outcome") if "outcome" in item else (node.line, node.col),
                f"{what} needs 'outcome': one of {', '.join(CASE_OUTCOMES)}",
            )
        else:
            node.outcome = str(outcome)
        node.terminate = self.boolean(item, "terminate", what, True)
        if "certificates" in item:
            pos = _value_pos(item, "certificates")
            if outcome != "approved":
                self.err(pos, f"{what}: only an end with outcome 'approved' can issue certificates")
            certs = []
            seen: set[str] = set()
            for index, raw in enumerate(self.seq(item["certificates"], pos, f"{what} certificates") or []):
                cert = self.mapping(raw, _item_pos(item["certificates"], index, pos), "a certificate")
                if cert is None:
                    continue
                self.keys(
                    cert, ("type", "department", "title"), ("type", "department", "title"), "a certificate"
                )
                cert_type = self.ident(cert, "type", "certificate") if "type" in cert else None
                dept = (
                    self.department(
                        cert["department"], _value_pos(cert, "department"), "certificate department"
                    )
                    if "department" in cert
                    else None
                )
                title = self.label(cert, "title", "certificate", required=False)
                if cert_type in seen:
                    self.err(_value_pos(cert, "type"), f"{what} names certificate '{cert_type}' twice")
                    continue
                if cert_type and dept and title:
                    seen.add(cert_type)
                    certs.append(CertificateSpec(type=cert_type, department=dept, title=title))
            node.certificates = tuple(certs)

    def node_user_task(self, node: Node, item: CommentedMap, what: str) -> None:
        if "countersign" in item:
            sign = self.mapping(item["countersign"], _value_pos(item, "countersign"), f"{what} countersign")
            if sign is not None:
                self.keys(
                    sign, ("mode", "signers", "distinct_people"), ("mode", "signers"), f"{what} countersign"
                )
                distinct_people = self.boolean(sign, "distinct_people", f"{what} countersign", False)
                mode = sign.get("mode")
                if "mode" in sign and mode not in COUNTERSIGN_MODES:
                    self.err(
                        _value_pos(sign, "mode"),
                        f"{what} countersign 'mode' must be one of {', '.join(COUNTERSIGN_MODES)}",
                    )
                signers: list[str] = []
                raw = self.seq(sign.get("signers"), _value_pos(sign, "signers"), f"{what} signers") or []
                for index, value in enumerate(raw):
                    pos = _item_pos(raw, index, _value_pos(sign, "signers"))
                    dept = self.department(value, pos, f"{what} signers")
                    if dept and dept in signers and not distinct_people:
                        # One person could otherwise sign every task of the department.
                        self.err(
                            pos,
                            f"{what} countersign names department '{dept}' twice; "
                            "for two different people of one department to sign, "
                            "set distinct_people: true on the countersign",
                        )
                    if dept:
                        signers.append(dept)
                if "signers" in sign and len(raw) < 2:
                    self.err(_value_pos(sign, "signers"), f"{what}: a countersign needs at least two signers")
                if mode in COUNTERSIGN_MODES and len(signers) >= 2:
                    node.countersign = Countersign(
                        mode=str(mode), signers=tuple(signers), distinct_people=distinct_people
                    )
            if "department" in item:
                self.department(item["department"], _value_pos(item, "department"), f"{what} department")
                node.department = str(item["department"]) if isinstance(item["department"], str) else None
        elif "department" not in item:
            self.err((node.line, node.col), f"{what} is missing required key 'department'")
        else:
            node.department = self.department(item["department"], _value_pos(item, "department"), what)
        node.outcomes = self.outcomes(node, item, what, TASK_OUTCOMES, "approve")
        if "sla" in item:
            node.sla = self.sla(item, what)
        if "clearance" in item:
            raw = self.seq(item["clearance"], _value_pos(item, "clearance"), f"{what} clearance") or []
            cleared = []
            for index, value in enumerate(raw):
                if not isinstance(value, str):
                    self.err(
                        _item_pos(raw, index, _value_pos(item, "clearance")),
                        f"{what} clearance names a field id",
                    )
                else:
                    cleared.append((value, _item_pos(raw, index, _value_pos(item, "clearance"))))
            node.clearance = tuple(str(v) for v, _ in cleared)
            self._clearance_positions = getattr(self, "_clearance_positions", {})
            self._clearance_positions[node.id] = dict(cleared)
        if "clock" in item:
            clock = item["clock"]
            if clock not in ("counted", "excluded"):
                self.err(_value_pos(item, "clock"), f"{what} 'clock' must be 'counted' or 'excluded'")
            node.clock_excluded = clock == "excluded"
            if node.clock_excluded and node.sla is not None:
                self.err(_key_pos(item, "sla"), f"{what}: a step excluded from the clock cannot have an SLA")

    def outcomes(
        self, node: Node, item: CommentedMap, what: str, allowed: tuple[str, ...], required: str
    ) -> dict[str, str]:
        if "outcomes" not in item:
            self.err(_pos(item), f"{what} is missing required key 'outcomes'")
            return {}
        mapping = self.mapping(item["outcomes"], _value_pos(item, "outcomes"), f"{what} outcomes")
        if mapping is None:
            return {}
        result: dict[str, str] = {}
        for key in mapping:
            if key not in allowed:
                self.err(
                    _key_pos(mapping, key),
                    f"unknown outcome {key!r} in {what} (allowed: {', '.join(allowed)})",
                )
                continue
            target = self.target(mapping, key, f"{what} outcome", node)
            if target is not None:
                result[str(key)] = target
        if required not in mapping:
            self.err(_value_pos(item, "outcomes"), f"{what} outcomes must include '{required}'")
        return result

    def sla(self, item: CommentedMap, what: str) -> Sla | None:
        sla = self.mapping(item["sla"], _value_pos(item, "sla"), f"{what} sla")
        if sla is None:
            return None
        self.keys(sla, ("days", "hours", "remind_at", "on_breach", "legal_basis"), (), f"{what} sla")
        limit = self.duration(sla, f"{what} sla")
        remind_at = self.number(sla, "remind_at", f"{what} sla", minimum=0, maximum=0.99, exclusive_min=True)
        on_breach = sla.get("on_breach", "escalate")
        if on_breach not in BREACH_ACTIONS:
            self.err(
                _value_pos(sla, "on_breach"),
                f"{what} sla 'on_breach' must be one of {', '.join(BREACH_ACTIONS)}",
            )
            on_breach = "escalate"
        legal_basis = self.text(sla, "legal_basis", f"{what} sla", max_length=2000)
        if on_breach in ("approve", "reject") and legal_basis is None:
            self.err(
                _value_pos(sla, "on_breach"),
                f"{what}: automatic '{on_breach}' on breach needs a 'legal_basis' "
                "(the local rule that allows it)",
            )
        if on_breach in ("approve", "reject") and on_breach not in self.outcomes_of(item):
            self.err(
                _value_pos(sla, "on_breach"),
                f"{what}: on_breach '{on_breach}' is not one of the node's outcomes",
            )
        if limit is None:
            return None
        return Sla(limit=limit, remind_at=remind_at, on_breach=str(on_breach), legal_basis=legal_basis)

    @staticmethod
    def outcomes_of(item: CommentedMap) -> set[str]:
        value = item.get("outcomes")
        return set(value) if isinstance(value, dict) else set()

    def node_service_task(self, node: Node, item: CommentedMap, what: str) -> None:
        handler = self.ident(item, "handler", what) if "handler" in item else None
        if "handler" not in item:
            self.err((node.line, node.col), f"{what} is missing required key 'handler'")
        elif handler is not None and self.handlers is not None and handler not in self.handlers:
            self.err(
                _value_pos(item, "handler"),
                f"unknown service handler '{handler}' (registered: {', '.join(sorted(self.handlers))})",
            )
        node.handler = handler
        self.single_next(node, item, what)

    def gateway(self, node: Node, item: CommentedMap, what: str) -> None:
        if "next" in item and "branches" in item:
            self.err(_key_pos(item, "branches"), f"{what} takes either 'next' or 'branches', not both")
            return
        if "branches" in item:
            self.branches(node, item, what)
            return
        if "next" not in item:
            self.err((node.line, node.col), f"{what} is missing required key 'next'")
            return
        value = item["next"]
        if isinstance(value, list):
            if node.type != "parallel":
                self.err(
                    _value_pos(item, "next"),
                    f"{what}: an {node.type} gateway splits with 'branches' "
                    "(each with a condition), not a list",
                )
                return
            targets = []
            for index, target in enumerate(value):
                pos = _item_pos(value, index, _value_pos(item, "next"))
                if not isinstance(target, str) or not ID_RE.match(target):
                    self.err(pos, f"{what} 'next' must list node ids, not {_kind(target)}")
                elif target in targets:
                    self.err(pos, f"{what} lists '{target}' twice")
                else:
                    targets.append(str(target))
                    self.flows.setdefault(node.id, {}).setdefault(str(target), pos)
            if not value:
                self.err(_value_pos(item, "next"), f"{what} 'next' must not be empty")
            node.next = tuple(targets)
        else:
            self.single_next(node, item, what)

    node_parallel = gateway

    def node_exclusive(self, node: Node, item: CommentedMap, what: str) -> None:
        self.gateway(node, item, what)

    def node_inclusive(self, node: Node, item: CommentedMap, what: str) -> None:
        self.gateway(node, item, what)

    def branches(self, node: Node, item: CommentedMap, what: str) -> None:
        if node.type == "parallel":
            self.err(
                _key_pos(item, "branches"),
                f"{what}: a parallel gateway takes 'next' (a list), not 'branches'",
            )
            return
        pos = _value_pos(item, "branches")
        raw = self.seq(item["branches"], pos, f"{what} branches") or []
        branches: list[Branch] = []
        placed: list[tuple[Branch, Pos]] = []
        defaults = 0
        for index, entry in enumerate(raw):
            branch = self.mapping(entry, _item_pos(raw, index, pos), f"a branch of {what}")
            if branch is None:
                continue
            self.keys(branch, ("to", "when", "default"), ("to",), f"a branch of {what}")
            target = self.target(branch, "to", f"a branch of {what}", node) if "to" in branch else None
            if target is not None and node.type == "inclusive" and any(b.target == target for b in branches):
                # Every branch that holds starts its target: the node would run twice.
                self.err(
                    _value_pos(branch, "to"),
                    f"{what} names '{target}' in two branches; an inclusive gateway starts every "
                    f"branch whose condition holds, so '{target}' would run twice",
                )
                target = None
            is_default = self.boolean(branch, "default", f"a branch of {what}", False)
            condition = None
            if is_default and "when" in branch:
                self.err(_key_pos(branch, "when"), f"{what}: the default branch takes no 'when' condition")
            elif is_default:
                defaults += 1
            elif "when" not in branch:
                self.err(_pos(branch), f"a branch of {what} needs a 'when' condition or 'default: true'")
            else:
                condition = self.condition(branch, "when", node.id)
            if target is not None:
                branches.append(Branch(target=target, condition=condition, default=is_default))
                placed.append((branches[-1], _value_pos(branch, "to")))
        self.dead_branches(node, placed, what)
        if defaults > 1:
            self.err(pos, f"{what} has more than one default branch")
        if raw and len(raw) < 2:
            self.err(pos, f"{what} needs at least two branches to choose between")
        node.branches = tuple(branches)
        node.next = tuple(b.target for b in branches)

    def dead_branches(self, node: Node, placed: list[tuple[Branch, Pos]], what: str) -> None:
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
                self.err(pos, f"{what}: condition '{condition.source}' can never be evaluated: {exc.message}")
                continue
            # A condition that never holds is not an error here: it switches a
            # branch off (the BPMN importer stands untranslated conditions in as
            # "false"); the graph pass checks that no loop needs it as its way out.
            if node.type == "exclusive" and always is not None:
                self.err(
                    pos,
                    f"{what}: the branch to '{branch.target}' is never taken: the condition "
                    f"'{always.condition.source}' of the branch to '{always.target}' before it always holds",
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
            which = "the default branch" if branch.default else "the branch"
            where = "" if branch.default else " before it"
            self.err(
                pos,
                f"{what}: {which} to '{branch.target}' is never taken: the condition "
                f"'{always.condition.source}' of the branch to '{always.target}'{where} always holds",
            )

    def condition(self, mapping: CommentedMap, key: str, node_id: str) -> Any:
        value = mapping[key]
        pos = _value_pos(mapping, key)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            self.err(pos, f"condition must be text, not {_kind(value)}")
            return None
        try:
            expression = compile_expression(str(value))
        except ExpressionError as exc:
            shift = _offset_in_scalar(mapping, key, value, exc.offset)
            source_line = self.lines[pos[0] - 1] if 0 < pos[0] <= len(self.lines) else ""
            if isinstance(mapping[key], DoubleQuotedScalarString) and "\\" in source_line[pos[1] - 1 :]:
                shift = 0  # escape sequences: source columns no longer match characters
            self.err((pos[0], pos[1] + shift), f"condition does not parse: {exc.message}")
            return None
        self.conditions.append((expression, pos, node_id))
        return expression

    def node_wait(self, node: Node, item: CommentedMap, what: str) -> None:
        node.duration = self.duration(item, what)
        self.single_next(node, item, what)

    def node_correction(self, node: Node, item: CommentedMap, what: str) -> None:
        self.single_next(node, item, what)
        if "deadline" in item:
            deadline = self.mapping(item["deadline"], _value_pos(item, "deadline"), f"{what} deadline")
            if deadline is not None:
                self.keys(deadline, ("days", "hours"), (), f"{what} deadline")
                node.duration = self.duration(deadline, f"{what} deadline")
            if "on_timeout" not in item:
                self.err(
                    _key_pos(item, "deadline"),
                    f"{what}: a correction deadline needs 'on_timeout' "
                    "(where the case goes when it is missed)",
                )
        if "on_timeout" in item:
            if "deadline" not in item:
                self.err(_key_pos(item, "on_timeout"), f"{what}: 'on_timeout' needs a 'deadline'")
            node.on_timeout = self.target(item, "on_timeout", what, node)

    def node_call(self, node: Node, item: CommentedMap, what: str) -> None:
        if "process" not in item:
            self.err((node.line, node.col), f"{what} is missing required key 'process'")
        else:
            node.calls = self.ident(item, "process", what)
            self._call_positions = getattr(self, "_call_positions", {})
            self._call_positions[node.id] = _value_pos(item, "process")
        node.outcomes = self.outcomes(node, item, what, CASE_OUTCOMES, "approved")

    # cross-references that need the whole document -----------------------

    def check_conditions(self, nodes: dict[str, Node]) -> None:
        for expression, pos, _node_id in self.conditions:
            for name in sorted(expression.names):
                problem = self.name_problem(name, nodes)
                if problem:
                    self.err(pos, problem)

    def name_problem(self, name: str, nodes: dict[str, Node]) -> str | None:
        parts = name.split(".")
        head = parts[0]
        if head not in self.fields and head in self.declared_fields:
            return None  # the field itself was refused; that problem is reported already
        if head in self.fields:
            spec = self.fields[head]
            if len(parts) == 1:
                return None
            if spec.type == "table" and len(parts) == 2 and any(c.id == parts[1] for c in spec.columns):
                return None
            return f"condition names unknown field '{name}'"
        if head == "decision":
            if len(parts) == 2 and parts[1] in nodes and nodes[parts[1]].type in ("user_task", "call"):
                return None
            return f"condition names unknown decision '{name}' (use decision.<user task or call node id>)"
        if head == "result":
            if (
                len(parts) >= 2
                and parts[1] in nodes
                and nodes[parts[1]].type in ("service_task", "user_task")
            ):
                return None
            return f"condition names unknown result '{name}' (use result.<service or user task id>.<key>)"
        return f"condition names unknown field '{name}'"

    def check_clearance(self, nodes: dict[str, Node]) -> None:
        positions = getattr(self, "_clearance_positions", {})
        for node_id, fields in positions.items():
            for field_id, pos in fields.items():
                table_id, _, column_id = field_id.partition(".")
                spec = self.fields.get(table_id)
                if spec is not None and column_id:
                    spec = (
                        next((c for c in spec.columns if c.id == column_id), None)
                        if spec.type == "table"
                        else None
                    )
                if spec is None:
                    self.err(pos, f"node '{node_id}' clearance names unknown field '{field_id}'")
                elif spec.sensitivity != "secret":
                    self.err(
                        pos, f"node '{node_id}' clearance names '{field_id}', which is not a secret field"
                    )
        calls = getattr(self, "_call_positions", {})
        for node_id, pos in calls.items():
            node = nodes.get(node_id)
            if node is None or node.calls is None:
                continue
            if node.calls not in {n.process for n in nodes.values()} or node.calls == MAIN:
                self.err(pos, f"node '{node_id}' calls unknown sub-process '{node.calls}'")

    # the data catalogue ------------------------------------------------------

    def read_catalog(self, value: Any, pos: Pos, nodes: dict[str, Node]) -> CatalogSpec:
        root = self.mapping(value, pos, "catalog")
        if root is None:
            return CatalogSpec()
        self.keys(root, ("publishes", "reuses"), (), "catalog")
        publishes: list[CatalogPublish] = []
        reuses: list[CatalogReuse] = []
        for key, reader, out in (
            ("publishes", self.catalog_publish, publishes),
            ("reuses", self.catalog_reuse, reuses),
        ):
            if key not in root:
                continue
            items = self.seq(root[key], _value_pos(root, key), f"catalog '{key}'")
            if items is None:
                continue
            if len(items) > MAX_CATALOG_ENTRIES:
                self.err(
                    _value_pos(root, key), f"catalog '{key}' has more than {MAX_CATALOG_ENTRIES} entries"
                )
                continue
            for index, item in enumerate(items):
                what = f"catalog {key} entry {index + 1}"
                entry = self.mapping(item, _item_pos(items, index, _value_pos(root, key)), what)
                if entry is not None:
                    found = reader(entry, what, nodes)
                    if found is not None:
                        out.append(found)
        return CatalogSpec(tuple(publishes), tuple(reuses))

    def catalog_publish(
        self, entry: CommentedMap, what: str, nodes: dict[str, Node]
    ) -> CatalogPublish | None:
        self.keys(entry, ("dataset", "at", "key", "fields", "per"), ("dataset", "at", "key", "fields"), what)
        dataset = self.ident(entry, "dataset", what)
        per_certificate = False
        if "per" in entry:
            if entry["per"] != "certificate":
                self.err(_value_pos(entry, "per"), f"{what} 'per' can only be 'certificate'")
            per_certificate = entry["per"] == "certificate"
        at: list[str] = []
        raw_at = entry.get("at")
        for target in raw_at if isinstance(raw_at, list) else [raw_at]:
            pos = _value_pos(entry, "at")
            if target == "approved" and not per_certificate:
                at.append("approved")
                continue
            node = nodes.get(target) if isinstance(target, str) else None
            if node is None or node.type != "end" or node.outcome != "approved" or not node.certificates:
                self.err(
                    pos,
                    f"{what} 'at' must be 'approved' (the case's approval) or an end with outcome approved "
                    f"that issues certificates; got {target!r}"
                    + (" ('approved' cannot be used with per: certificate)" if target == "approved" else ""),
                )
                continue
            at.append(str(target))
        keys: list[CatalogSource] = []
        raw_key = entry.get("key")
        for part in raw_key if isinstance(raw_key, list) else [raw_key]:
            source = self.catalog_source(part, _value_pos(entry, "key"), what, nodes, per_certificate)
            if source is not None:
                keys.append(source)
        if isinstance(raw_key, list) and not 1 <= len(raw_key) <= 4:
            self.err(_value_pos(entry, "key"), f"{what} 'key' takes one to four parts")
        fields: dict[str, CatalogSource] = {}
        mapping = self.mapping(entry.get("fields"), _value_pos(entry, "fields"), f"{what} 'fields'")
        for name in mapping or ():
            pos = _key_pos(mapping, name)
            if not isinstance(name, str) or not ID_RE.match(name):
                self.err(pos, f"{what}: dataset field {name!r} must be a lowercase identifier")
                continue
            source = self.catalog_source(
                mapping[name], _value_pos(mapping, name), what, nodes, per_certificate
            )
            if source is not None:
                fields[name] = source
        if mapping is not None and not mapping:
            self.err(_value_pos(entry, "fields"), f"{what} 'fields' must name at least one dataset field")
        if dataset is None or not at or len(keys) != len(raw_key if isinstance(raw_key, list) else [raw_key]):
            return None
        return CatalogPublish(dataset, tuple(at), tuple(keys), fields, per_certificate)

    def catalog_source(
        self, value: Any, pos: Pos, what: str, nodes: dict[str, Node], per_certificate: bool
    ) -> CatalogSource | None:
        if isinstance(value, dict):
            self.keys(value, ("value",), ("value",), f"{what} fixed value")
            fixed = value.get("value")
            if isinstance(fixed, bool) or not isinstance(fixed, str | int) or not str(fixed).strip():
                self.err(pos, f"{what}: a fixed value must be non-empty text or a whole number")
                return None
            return CatalogSource(value=str(fixed)[:200])
        if not isinstance(value, str) or not value:
            self.err(
                pos, f"{what}: a source must be a field id, result.<node>.<key>, case.* or {{value: ...}}"
            )
            return None
        if value in CATALOG_CASE_SOURCES:
            return CatalogSource(path=value)
        if value in CATALOG_CERTIFICATE_SOURCES:
            if not per_certificate:
                self.err(pos, f"{what}: '{value}' needs per: certificate")
                return None
            return CatalogSource(path=value)
        parts = value.split(".")
        if parts[0] == "result":
            node = nodes.get(parts[1]) if len(parts) == 3 else None
            if node is None or node.type not in ("service_task", "user_task") or not ID_RE.match(parts[2]):
                self.err(
                    pos, f"{what}: unknown result '{value}' (use result.<service or user task id>.<key>)"
                )
                return None
            return CatalogSource(path=value)
        spec = self.fields.get(value)
        if spec is None or spec.type == "table":
            if value not in self.declared_fields or spec is not None:
                self.err(pos, f"{what}: '{value}' is not a field of the form (tables cannot be published)")
            return None
        return CatalogSource(path=value)

    def catalog_reuse(self, entry: CommentedMap, what: str, nodes: dict[str, Node]) -> CatalogReuse | None:
        self.keys(
            entry, ("dataset", "key", "fields", "expect", "related"), ("dataset", "key", "fields"), what
        )
        dataset = self.ident(entry, "dataset", what)
        key = self.ident(entry, "key", what)
        if key is not None and (key not in self.fields or self.fields[key].type == "table"):
            self.err(_value_pos(entry, "key"), f"{what} 'key' must name a field of the form; got '{key}'")
            key = None
        fields: dict[str, str] = {}
        mapping = self.mapping(entry.get("fields"), _value_pos(entry, "fields"), f"{what} 'fields'")
        for form_field in mapping or ():
            pos = _key_pos(mapping, form_field)
            target = mapping[form_field]
            if not isinstance(form_field, str) or form_field not in self.fields:
                self.err(pos, f"{what}: {form_field!r} is not a field of the form")
            elif self.fields[form_field].type == "table" or form_field == key:
                self.err(pos, f"{what}: '{form_field}' cannot be prefilled (a table, or the key itself)")
            elif not isinstance(target, str) or not ID_RE.match(target):
                self.err(_value_pos(mapping, form_field), f"{what}: {target!r} must be a dataset field id")
            else:
                fields[form_field] = target
        if mapping is not None and not mapping:
            self.err(_value_pos(entry, "fields"), f"{what} 'fields' must name at least one field")
        expect: dict[str, str] = {}
        if "expect" in entry:
            raw = self.mapping(entry["expect"], _value_pos(entry, "expect"), f"{what} 'expect'")
            for name in raw or ():
                value = raw[name]
                if not isinstance(name, str) or not ID_RE.match(name) or not isinstance(value, str):
                    self.err(_key_pos(raw, name), f"{what} 'expect' maps dataset field ids to text values")
                else:
                    expect[name] = value
        related: list[tuple[str, str]] = []
        if "related" in entry:
            items = self.seq(entry["related"], _value_pos(entry, "related"), f"{what} 'related'")
            for index, item in enumerate(items or ()):
                rel = self.mapping(
                    item, _item_pos(items, index, _value_pos(entry, "related")), f"{what} 'related'"
                )
                if rel is None:
                    continue
                self.keys(rel, ("dataset", "by"), ("dataset", "by"), f"{what} 'related'")
                rel_dataset = self.ident(rel, "dataset", f"{what} 'related'")
                by = self.ident(rel, "by", f"{what} 'related'")
                if rel_dataset and by:
                    related.append((rel_dataset, by))
        if dataset is None or key is None or not fields:
            return None
        return CatalogReuse(dataset, key, fields, expect, tuple(related))


def _offset_in_scalar(mapping: CommentedMap, key: str, value: str, offset: int) -> int:
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
