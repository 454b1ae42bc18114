"""The application form, generated from a template's form schema.

`data_from_post` turns posted HTML form fields into the data a draft keeps
(exactly as typed: validation happens in the services, on submit), and
`bind` pairs each field of the schema with its value and its messages for
rendering. Table fields (shareholders, contractors) post one input per
cell, named `<table>-<row>-<column>`; rows are ordered by their number, and
a row number only has to be unique, so a row added in the browser can take
any number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from govflow.engine.forms import AttachmentSpec, FieldSpec, FormSpec

MAX_ROWS_POSTED = 500
_ROW_NUMBER = re.compile(r"^[0-9]{1,12}$")

WIDGETS = {
    "text": "text",
    "address": "text",
    "textarea": "textarea",
    "number": "number",
    "decimal": "decimal",
    "date": "date",
    "choice": "select",
    "multichoice": "checkboxes",
    "boolean": "checkbox",
    "cn_id_number": "identifier",
    "uscc": "identifier",
    "phone": "tel",
    "email": "email",
    "table": "table",
}


def _label(label: Mapping[str, str] | None, lang: str) -> str:
    if not label:
        return ""
    return label.get(lang) or label.get("zh") or ""


def cell_name(table: str, row: int | str, column: str) -> str:
    return f"{table}-{row}-{column}"


def _posted_rows(spec: FieldSpec, post: QueryDict) -> list[tuple[int, dict[str, Any]]]:
    prefix = spec.id + "-"
    columns = {column.id: column for column in spec.columns}
    rows: dict[int, dict[str, Any]] = {}
    for key in post:
        if not key.startswith(prefix):
            continue
        number, _, column_id = key[len(prefix) :].partition("-")
        if not _ROW_NUMBER.match(number) or column_id not in columns:
            continue
        if len(rows) >= MAX_ROWS_POSTED and int(number) not in rows:
            continue
        row = rows.setdefault(int(number), {})
        column = columns[column_id]
        if column.type == "multichoice":
            row[column_id] = [v for v in post.getlist(key) if v]
        elif column.type == "boolean":
            row[column_id] = True
        else:
            row[column_id] = post.get(key, "")
    return sorted(rows.items())


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def data_from_post(
    form: FormSpec, post: QueryDict, *, drop_row: tuple[str, int] | None = None
) -> dict[str, Any]:
    """The draft data from a posted form, as typed. Blank values and blank
    table rows are left out; `drop_row` (table id, row number) removes a row."""
    data: dict[str, Any] = {}
    for spec in form.fields:
        if spec.type == "table":
            dropped = drop_row[1] if drop_row is not None and drop_row[0] == spec.id else None
            rows = [row for number, row in _posted_rows(spec, post) if number != dropped]
            rows = [{k: v for k, v in row.items() if not _blank(v)} for row in rows]
            rows = [row for row in rows if row]
            if rows:
                data[spec.id] = rows
        elif spec.type == "multichoice":
            values = [v for v in post.getlist(spec.id) if v]
            if values:
                data[spec.id] = values
        elif spec.type == "boolean":
            data[spec.id] = spec.id in post
        else:
            value = post.get(spec.id, "")
            if not _blank(value):
                data[spec.id] = value
    return data


@dataclass
class Option:
    value: str
    label: str
    selected: bool


@dataclass
class BoundField:
    spec: FieldSpec
    name: str
    label: str
    help: str
    widget: str
    value: str = ""
    checked: bool = False
    options: list[Option] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    columns: list[FieldSpec] = field(default_factory=list)
    column_labels: list[str] = field(default_factory=list)
    rows: list[BoundRow] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return self.spec.required

    @property
    def input_id(self) -> str:
        return "f-" + self.name

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.errors or any(c.errors for c in row.cells) for row in self.rows)


@dataclass
class BoundRow:
    number: int
    position: int
    cells: list[BoundField]
    errors: list[str] = field(default_factory=list)


@dataclass
class BoundAttachment:
    spec: AttachmentSpec
    label: str
    files: list[Any]
    errors: list[str]

    @property
    def input_id(self) -> str:
        return "a-" + self.spec.id

    @property
    def can_add(self) -> bool:
        return len(self.files) < self.spec.max_count


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "1", "yes")
    return bool(value)


def bind_field(
    spec: FieldSpec, value: Any, errors: Mapping[str, list[str]], lang: str, *, name: str, path: str
) -> BoundField:
    bound = BoundField(
        spec=spec,
        name=name,
        label=_label(spec.label, lang),
        help=_label(spec.help, lang),
        widget=WIDGETS.get(spec.type, "text"),
        errors=list(errors.get(path, [])),
    )
    if spec.type == "boolean":
        bound.checked = _truthy(value)
    elif spec.type in ("choice", "multichoice"):
        chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {_text(value)}
        bound.options = [Option(c.value, _label(c.label, lang), c.value in chosen) for c in spec.choices]
    else:
        bound.value = _text(value)
    return bound


def bind(
    form: FormSpec,
    data: Mapping[str, Any],
    errors: Mapping[str, list[str]],
    *,
    language: str = "zh",
    extra_rows: Mapping[str, int] | None = None,
) -> list[BoundField]:
    """Every field of the form with its value and messages. Error paths are
    the engine's: `id`, `table[row].column`, `table[row]`."""
    lang = "en" if language.startswith("en") else "zh"
    extra_rows = extra_rows or {}
    bound_fields = []
    for spec in form.fields:
        if spec.type != "table":
            bound_fields.append(bind_field(spec, data.get(spec.id), errors, lang, name=spec.id, path=spec.id))
            continue
        table = bind_field(spec, None, errors, lang, name=spec.id, path=spec.id)
        table.columns = list(spec.columns)
        table.column_labels = [_label(c.label, lang) for c in spec.columns]
        stored = data.get(spec.id)
        rows = [row for row in stored if isinstance(row, Mapping)] if isinstance(stored, list) else []
        wanted = max(len(rows), spec.min_rows or 1, 1) + extra_rows.get(spec.id, 0)
        for position in range(wanted):
            row = rows[position] if position < len(rows) else {}
            table.rows.append(bind_row(spec, row, errors, lang, number=position, position=position))
        bound_fields.append(table)
    return bound_fields


def bind_row(
    spec: FieldSpec,
    row: Mapping[str, Any],
    errors: Mapping[str, list[str]],
    lang: str,
    *,
    number: int,
    position: int,
) -> BoundRow:
    cells = [
        bind_field(
            column,
            row.get(column.id),
            errors,
            lang,
            name=cell_name(spec.id, number, column.id),
            path=f"{spec.id}[{position}].{column.id}",
        )
        for column in spec.columns
    ]
    return BoundRow(
        number=number, position=position, cells=cells, errors=list(errors.get(f"{spec.id}[{position}]", []))
    )


def bind_attachments(
    form: FormSpec, attachments: list[Any], errors: Mapping[str, list[str]], *, language: str = "zh"
) -> list[BoundAttachment]:
    lang = "en" if language.startswith("en") else "zh"
    return [
        BoundAttachment(
            spec=spec,
            label=_label(spec.label, lang),
            files=[a for a in attachments if a.slot == spec.id],
            errors=list(errors.get(spec.id, [])),
        )
        for spec in form.attachments
    ]


def error_summary(
    bound: list[BoundField], attachments: list[BoundAttachment], errors: Mapping[str, list[str]]
) -> list[tuple[str, str, str]]:
    """(anchor id, field label, message) for the summary at the top of the
    form, in form order; messages for paths the form does not show come last."""
    summary: list[tuple[str, str, str]] = []
    shown: set[str] = set()
    for item in bound:
        for message in item.errors:
            summary.append((item.input_id, item.label, message))
        shown.add(item.spec.id)
        for row in item.rows:
            row_path = f"{item.spec.id}[{row.position}]"
            shown.add(row_path)
            for message in row.errors:
                summary.append((item.input_id, f"{item.label} {row.position + 1}", message))
            for cell in row.cells:
                shown.add(f"{row_path}.{cell.spec.id}")
                for message in cell.errors:
                    summary.append(
                        (cell.input_id, f"{item.label} {row.position + 1} · {cell.label}", message)
                    )
    for slot in attachments:
        shown.add(slot.spec.id)
        for message in slot.errors:
            summary.append((slot.input_id, slot.label, message))
    for path, messages in errors.items():
        if path not in shown:
            for message in messages:
                summary.append(("", path, message))
    return summary
