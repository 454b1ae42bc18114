"""Field-level disclosure: what a viewer sees of a case's form data.

Public fields are shown to every participant; internal fields to the
applicant and to reviewers of the case; secret fields (ID numbers, phone
numbers) are masked (1101**********1234) unless the viewer's department is
cleared for them in the template (`Definition.clearance_for`). Every secret
value shown unmasked to a reviewer is listed in `Disclosure.revealed`; the
view that shows it records one SECRET_FIELD_READ audit event for the request
(govflow.cases.reads). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from govflow.engine.forms import FieldSpec, FormSpec
from govflow.engine.identifiers import mask

OWNER = "owner"
REVIEWER = "reviewer"

_YES_NO = {True: {"zh": "是", "en": "Yes"}, False: {"zh": "否", "en": "No"}}


@dataclass(frozen=True)
class CellView:
    text: str
    masked: bool = False


@dataclass(frozen=True)
class FieldView:
    id: str
    type: str
    sensitivity: str
    label: str
    text: str = ""
    masked: bool = False
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[CellView, ...], ...] = ()

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_empty(self) -> bool:
        return not self.text and not self.rows


@dataclass
class Disclosure:
    fields: list[FieldView]
    revealed: list[str] = field(default_factory=list)


def field_views(
    form: FormSpec,
    data: Mapping[str, Any],
    *,
    viewer: str,
    cleared: frozenset[str] = frozenset(),
    language: str = "zh",
) -> Disclosure:
    """The case data as the viewer may see it. `revealed` lists the secret
    fields (and table columns, as 'table.column') shown unmasked."""
    lang = "en" if language.startswith("en") else "zh"
    views: list[FieldView] = []
    revealed: list[str] = []
    for spec in form.fields:
        if spec.sensitivity == "internal" and viewer not in (OWNER, REVIEWER):
            continue
        value = data.get(spec.id)
        label = _label(spec.label, lang)
        if spec.type == "table":
            heads = tuple(_label(column.label, lang) for column in spec.columns)
            rows: list[tuple[CellView, ...]] = []
            for row in value if isinstance(value, list) else []:
                if not isinstance(row, Mapping):
                    continue
                cells = []
                for column in spec.columns:
                    path = f"{spec.id}.{column.id}"
                    secret = spec.sensitivity == "secret" or column.sensitivity == "secret"
                    show = not secret or (viewer == REVIEWER and (spec.id in cleared or path in cleared))
                    text = _text(column, row.get(column.id), lang)
                    if secret and show and text and viewer == REVIEWER and path not in revealed:
                        revealed.append(path)
                    cells.append(
                        CellView(text if show else mask(column.type, text), masked=secret and not show)
                    )
                rows.append(tuple(cells))
            views.append(
                FieldView(spec.id, spec.type, spec.sensitivity, label, columns=heads, rows=tuple(rows))
            )
            continue
        text = _text(spec, value, lang)
        secret = spec.sensitivity == "secret"
        show = not secret or (viewer == REVIEWER and spec.id in cleared)
        if secret and show and text and viewer == REVIEWER:
            revealed.append(spec.id)
        views.append(
            FieldView(
                spec.id,
                spec.type,
                spec.sensitivity,
                label,
                text=text if show else mask(spec.type, text),
                masked=secret and not show and bool(text),
            )
        )
    return Disclosure(views, revealed)


def _label(label: Mapping[str, str] | None, lang: str) -> str:
    if not label:
        return ""
    return label.get(lang) or label.get("zh") or next(iter(label.values()), "")


def _text(spec: FieldSpec, value: Any, lang: str) -> str:
    """Display text of a stored value (choice labels, yes/no), unmasked."""
    if value is None or value == "" or value == []:
        return ""
    if spec.type == "boolean":
        if isinstance(value, str):
            value = value.lower() in ("true", "on", "1", "yes")
        return _YES_NO[bool(value)][lang]
    if spec.type in ("choice", "multichoice"):
        labels = {choice.value: _label(choice.label, lang) for choice in spec.choices}
        items = value if isinstance(value, list | tuple) else [value]
        return (
            "、".join(labels.get(str(item), str(item)) for item in items)
            if lang == "zh"
            else ", ".join(labels.get(str(item), str(item)) for item in items)
        )
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)
