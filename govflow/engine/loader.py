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

The parts live in `govflow.engine.loading` (scanning, positions, primitives,
form, nodes, checks, catalogue); each node is read by its kind
(`govflow.engine.kinds`). This module puts them together and keeps the names
callers import from it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from . import graph
from .definition import (
    ALLOW,
    DEFAULT_REPEAT_SIGNER,
    MAIN,
    REFUSE,
    REPEAT_SIGNER_RULES,
    CatalogSpec,
    Definition,
    Node,
    Process,
    Verification,
)
from .expressions import ExpressionError, compile_expression
from .forms import FormSpec
from .kinds import KINDS
from .loading.catalogue import (
    CATALOG_CASE_SOURCES,
    CATALOG_CERTIFICATE_SOURCES,
    MAX_CATALOG_ENTRIES,
    CatalogueReader,
)
from .loading.checks import Checks
from .loading.form import ATTACHMENT_KEYS, FIELD_KEYS, KNOWN_MIME_TYPES, FormReader
from .loading.nodes import COMMON_NODE_KEYS, TIMER_KEYS, NodeReader
from .loading.positions import Pos, key_pos, pos_of, value_pos
from .loading.positions import item_pos as _item_pos
from .loading.positions import key_pos as _key_pos
from .loading.positions import kind_of as _kind
from .loading.positions import offset_in_scalar as _offset_in_scalar
from .loading.positions import pos_of as _pos
from .loading.positions import value_pos as _value_pos
from .loading.primitives import DURATION_KEYS, ID_RE, LANGUAGES, SLUG_RE
from .loading.scanning import MAX_BYTES, MAX_DEPTH, decode, scan, yaml_problem
from .loading.scanning import decode as _decode
from .loading.scanning import scan as _scan
from .loading.scanning import yaml_problem as _yaml_problem
from .problems import InvalidDefinition, Message, Problem

__all__ = [
    "ATTACHMENT_KEYS",
    "CATALOG_CASE_SOURCES",
    "CATALOG_CERTIFICATE_SOURCES",
    "COMMON_NODE_KEYS",
    "FIELD_KEYS",
    "ID_RE",
    "KNOWN_MIME_TYPES",
    "LANGUAGES",
    "MAX_BYTES",
    "MAX_CATALOG_ENTRIES",
    "MAX_DEPTH",
    "MAX_NODES",
    "NODE_KEYS",
    "SLUG_RE",
    "TIMER_KEYS",
    "TITLED_TYPES",
    "TOP_KEYS",
    "Pos",
    "_decode",
    "_item_pos",
    "_key_pos",
    "_kind",
    "_offset_in_scalar",
    "_pos",
    "_scan",
    "_value_pos",
    "_yaml_problem",
    "check_condition",
    "check_definition",
    "load_definition",
    "load_definition_file",
]

MAX_NODES = 2_000

TOP_KEYS = {
    "id": True,
    "title": True,
    "description": False,
    "calendar": False,
    "time_limit": False,
    "statutory_limit": False,
    "legal_basis": False,
    "form": False,
    "nodes": True,
    "subprocesses": False,
    "title_field": False,
    "catalog": False,
    "distinct_signers": False,
    "claim_required": False,
    "repeat_signer": False,
    "verification": False,
}
# Derived from the node kinds, for callers that read them here.
NODE_KEYS: dict[str, set[str]] = {t: set(kind.keys) for t, kind in KINDS.items()}
TITLED_TYPES = tuple(t for t, kind in KINDS.items() if kind.titled)


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
    text, problems = decode(source)
    if text is None:
        return None, problems
    problems = scan(text)
    if problems:
        return None, problems
    try:
        yaml = YAML(typ="rt", pure=True)
        yaml.allow_duplicate_keys = False
        yaml.preserve_quotes = True
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        return None, [yaml_problem(exc)]
    except YAMLError as exc:  # pragma: no cover - ruamel raises marked errors for text input
        return None, [Problem(1, 1, Message("YAML error: {exc}", exc=exc))]
    except RecursionError:
        return None, [Problem(1, 1, "the document is nested too deeply")]
    except (ValueError, IndexError, TypeError) as exc:
        # ruamel's scalar constructors can fail on odd plain scalars (`-_`
        # is resolved as an integer and then has no digits); report it, never
        # raise. The fuzz test in tests/engine/test_loader.py found it.
        return None, [
            Problem(
                1, 1, Message("the YAML could not be read ({name}: {exc})", name=type(exc).__name__, exc=exc)
            )
        ]
    reader = _Reader(
        departments=None if departments is None else frozenset(departments),
        handlers=None if handlers is None else frozenset(handlers),
    )
    reader.lines = text.splitlines()
    definition = reader.read(document)
    return (definition if not reader.problems else None), sorted(set(reader.problems))


def check_condition(source: str, expression: str) -> list[tuple[int, Message]]:
    """The problems of one condition (a branch's `when`) in the template
    `source`, as (offset in the expression, message): the validator's own
    parser and its rules for names (section 14: the form's fields, a
    table's columns, decision.<node>, result.<node>.<key>). [] when the
    condition is fine. The designer checks a condition with it as it is
    typed; publishing still runs the whole validator."""
    try:
        parsed = compile_expression(expression)
    except ExpressionError as exc:
        return [(exc.offset, Message("condition does not parse: {message}", message=exc.message))]
    reader = _reader_of(source)
    if reader is None:
        return [(0, Message("the template cannot be read, so the condition's names cannot be checked"))]
    nodes = reader.nodes_read or {}
    found = []
    for name in sorted(parsed.names):
        problem = reader.name_problem(name, nodes)
        if problem:
            found.append((max(expression.find(name), 0), problem))
    return found


@functools.lru_cache(maxsize=8)
def _reader_of(source: str) -> _ConditionReader | None:
    text, _problems = decode(source)
    if text is None or scan(text):
        return None
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except (YAMLError, RecursionError, ValueError, IndexError, TypeError):
        return None
    reader = _ConditionReader(departments=None, handlers=None)
    reader.lines = text.splitlines()
    reader.read(document)
    return reader


class _Reader(FormReader, NodeReader, Checks, CatalogueReader):
    """Pass 2 and 3: the document's structure, then its graph."""

    def read(self, document: Any) -> Definition | None:
        root = self.mapping(document, pos_of(document), Message("the process definition"))
        if root is None:
            return None
        self.keys(
            root, TOP_KEYS, [k for k, req in TOP_KEYS.items() if req], Message("the process definition")
        )
        process = Message("process")  # the top level of the document, in problems about its keys
        process_id = self.ident(root, "id", process, pattern=SLUG_RE)
        title = self.label(root, "title", process, required=True)
        description = self.label(root, "description", process, required=False)
        calendar = self.ident(root, "calendar", process) if "calendar" in root else "cn"
        legal_basis = self.text(root, "legal_basis", process, max_length=2000)
        time_limit = None
        if "time_limit" in root:
            tl = self.mapping(root["time_limit"], value_pos(root, "time_limit"), "time_limit")
            if tl is not None:
                self.keys(tl, DURATION_KEYS, (), "time_limit")
                time_limit = self.duration(tl, "time_limit")
        statutory_limit = None
        if "statutory_limit" in root:
            sl = self.mapping(root["statutory_limit"], value_pos(root, "statutory_limit"), "statutory_limit")
            if sl is not None:
                self.keys(sl, DURATION_KEYS, (), "statutory_limit")
                statutory_limit = self.duration(sl, "statutory_limit")
        form = self.read_form(root.get("form"), value_pos(root, "form")) if "form" in root else FormSpec()
        self.document_slots = {spec.id: spec for spec in form.attachments}
        self.check_deferral_deadlines(time_limit, statutory_limit)
        verification = self.read_verification(root, form)
        title_field = self.ident(root, "title_field", process) if "title_field" in root else None
        if title_field is not None and (
            title_field not in self.fields or self.fields[title_field].type not in ("text", "textarea")
        ):
            self.err(
                value_pos(root, "title_field"),
                Message(
                    "title_field '{title_field}' must name a text field of the form", title_field=title_field
                ),
            )
            title_field = None

        nodes: dict[str, Node] = {}
        processes: dict[str, Process] = {}
        seen: dict[str, Pos] = {}
        if "nodes" in root:
            start = self.read_nodes(root["nodes"], value_pos(root, "nodes"), MAIN, nodes, seen)
            if start is not None:
                processes[MAIN] = Process(MAIN, title, start)
        if "subprocesses" in root:
            subs = self.mapping(root["subprocesses"], value_pos(root, "subprocesses"), "subprocesses")
            for sub_id in subs or ():
                sub_pos = key_pos(subs, sub_id)
                if not isinstance(sub_id, str) or not ID_RE.match(sub_id) or sub_id == MAIN:
                    self.err(
                        sub_pos,
                        Message(
                            "sub-process id {sub_id} must be a lowercase identifier other than 'main'",
                            sub_id=repr(sub_id),
                        ),
                    )
                    continue
                sub = self.mapping(
                    subs[sub_id], value_pos(subs, sub_id), Message("sub-process '{sub_id}'", sub_id=sub_id)
                )
                if sub is None:
                    continue
                self.keys(
                    sub,
                    ("title", "nodes", "description"),
                    ("title", "nodes"),
                    Message("sub-process '{sub_id}'", sub_id=sub_id),
                )
                sub_title = self.label(
                    sub, "title", Message("sub-process '{sub_id}'", sub_id=sub_id), required=True
                )
                if "nodes" in sub:
                    start = self.read_nodes(sub["nodes"], value_pos(sub, "nodes"), sub_id, nodes, seen)
                    if start is not None:
                        processes[sub_id] = Process(sub_id, sub_title, start)
        if len(nodes) > MAX_NODES:
            self.err(
                pos_of(root),
                Message(
                    "too many nodes ({count_nodes}; the limit is {MAX_NODES})",
                    count_nodes=len(nodes),
                    MAX_NODES=MAX_NODES,
                ),
            )
            return None

        self.check_conditions(nodes)
        self.check_clearance(nodes)
        self.check_return_targets(nodes)
        for node in nodes.values():
            KINDS[node.type].check(self, node, nodes)
        catalog = (
            self.read_catalog(root["catalog"], value_pos(root, "catalog"), nodes)
            if "catalog" in root
            else CatalogSpec()
        )
        if self.problems or process_id is None or title is None or MAIN not in processes:
            # Graph checks on a broken structure would only repeat the same problems.
            if not self.problems:
                self.err(pos_of(root), "the process has no start node")
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
            statutory_limit=statutory_limit,
            legal_basis=legal_basis,
            form=form,
            nodes=nodes,
            processes=processes,
            departments=frozenset(self.used_departments),
            title_field=title_field,
            claim_required=self.boolean(root, "claim_required", Message("the process definition"), True),
            repeat_signer=self.read_repeat_signer(root),
            decimal_fields=tuple(f.id for f in form.fields if f.type == "decimal"),
            decimal_columns={
                f.id: tuple(c.id for c in f.columns if c.type == "decimal")
                for f in form.fields
                if f.type == "table" and any(c.type == "decimal" for c in f.columns)
            },
            catalog=catalog,
            verification=verification,
        )

    def read_repeat_signer(self, root: Any) -> str:
        """审批人去重 (`repeat_signer`); `distinct_signers: true` is its older
        spelling of `refuse` (and `false` of `allow`)."""
        if "distinct_signers" in root:
            older = self.boolean(root, "distinct_signers", "the process definition", False)
            if "repeat_signer" in root:
                self.err(
                    key_pos(root, "distinct_signers"),
                    Message(
                        "give 'repeat_signer' or the older 'distinct_signers', not both "
                        "('distinct_signers: true' is 'repeat_signer: refuse')"
                    ),
                )
            else:
                return REFUSE if older else ALLOW
        if "repeat_signer" not in root:
            return DEFAULT_REPEAT_SIGNER
        value = root["repeat_signer"]
        if not isinstance(value, str) or value not in REPEAT_SIGNER_RULES:
            shown = repr(value) if isinstance(value, str) else _kind(value)
            self.err(
                value_pos(root, "repeat_signer"),
                Message(
                    "the process definition 'repeat_signer' must be one of {rules}, not {shown}",
                    rules=", ".join(REPEAT_SIGNER_RULES),
                    shown=shown,
                ),
            )
            return DEFAULT_REPEAT_SIGNER
        return value

    def read_verification(self, root: Any, form: FormSpec) -> Verification | None:
        """告知承诺制: who verifies the commitments after the approval, and
        within how many working days; needed exactly when a document slot
        takes a commitment."""
        pledged = [spec.id for spec in form.attachments if spec.commitment]
        if "verification" not in root:
            if pledged:
                self.err(
                    pos_of(root),
                    Message(
                        "document(s) {pledged} take a commitment (告知承诺): the template needs "
                        "'verification: {{department, days}}' (who verifies the commitments "
                        "after the approval)",
                        pledged=", ".join(pledged),
                    ),
                )
            return None
        pos = value_pos(root, "verification")
        raw = self.mapping(root["verification"], pos, "verification")
        if raw is None:
            return None
        self.keys(raw, ("department", "days"), ("department", "days"), "verification")
        if not pledged:
            self.err(pos, "'verification' needs a document with 'commitment' (告知承诺) in the form")
        department = (
            self.department(raw["department"], value_pos(raw, "department"), "verification")
            if "department" in raw
            else None
        )
        days = self.integer(raw, "days", "verification", minimum=1, maximum=365) if "days" in raw else None
        if department is None or days is None:
            return None
        return Verification(department=department, days=days)


class _ConditionReader(_Reader):
    """A reader that keeps the nodes it read, for check_condition."""

    nodes_read: dict[str, Node] | None = None

    def check_conditions(self, nodes: dict[str, Node]) -> None:
        self.nodes_read = nodes
        super().check_conditions(nodes)
