"""The form: typed fields (tables of rows too) and attachments."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ruamel.yaml.comments import CommentedMap

from ..forms import (
    FIELD_TYPES,
    SENSITIVITIES,
    AttachmentSpec,
    Choice,
    FieldSpec,
    FormSpec,
    resolve_date_limit,
)
from ..problems import Message
from .positions import Pos, item_pos, key_pos, kind_of, pos_of, value_pos
from .primitives import DURATION_KEYS, Primitives

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
ATTACHMENT_KEYS = {
    "id",
    "label",
    "types",
    "max_size_mb",
    "required",
    "max_count",
    "deferrable",
    "deadline",
    "commitment",
}
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


class FormReader(Primitives):
    def read_form(self, value: Any, pos: Pos) -> FormSpec:
        form = self.mapping(value, pos, "form")
        if form is None:
            return FormSpec()
        self.keys(form, ("fields", "attachments"), (), "form")
        fields: list[FieldSpec] = []
        if "fields" in form:
            fields = self.read_fields(form["fields"], value_pos(form, "fields"), "form", allow_table=True)
        self.fields = {f.id: f for f in fields}
        attachments: list[AttachmentSpec] = []
        seen: set[str] = set()
        if "attachments" in form:
            items = (
                self.seq(form["attachments"], value_pos(form, "attachments"), Message("form attachments"))
                or []
            )
            for index, raw in enumerate(items):
                item = self.mapping(raw, item_pos(items, index, pos), Message("an attachment"))
                if item is None:
                    continue
                spec = self.read_attachment(item)
                if spec is None:
                    continue
                if spec.id in seen or spec.id in self.fields:
                    self.err(value_pos(item, "id"), Message("duplicate form id '{spec}'", spec=spec.id))
                    continue
                seen.add(spec.id)
                attachments.append(spec)
        return FormSpec(fields=tuple(fields), attachments=tuple(attachments))

    def read_fields(self, value: Any, pos: Pos, what: str, *, allow_table: bool) -> list[FieldSpec]:
        items = self.seq(value, pos, Message("{what} fields", what=what)) or []
        fields: list[FieldSpec] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            item = self.mapping(raw, item_pos(items, index, pos), Message("a form field"))
            if item is None:
                continue
            spec = self.read_field(item, allow_table=allow_table)
            if spec is None:
                continue
            if spec.id in seen:
                self.err(value_pos(item, "id"), Message("duplicate field id '{spec}'", spec=spec.id))
                continue
            seen.add(spec.id)
            fields.append(spec)
        return fields

    def read_field(self, item: CommentedMap, *, allow_table: bool) -> FieldSpec | None:
        field_id = self.ident(item, "id", "form field") if "id" in item else None
        if field_id:
            self.declared_fields.add(field_id)
        what = Message("field '{field_id}'", field_id=field_id) if field_id else "form field"
        self.keys(item, FIELD_KEYS, ("id", "type", "label"), what)
        kind = item.get("type")
        if "type" in item and kind not in FIELD_TYPES:
            self.err(
                value_pos(item, "type"),
                Message(
                    "unknown field type {kind} in {what} (known: {FIELD_TYPES})",
                    kind=repr(kind),
                    what=what,
                    FIELD_TYPES=", ".join(FIELD_TYPES),
                ),
            )
            kind = None
        if kind == "table" and not allow_table:
            self.err(value_pos(item, "type"), Message("{what}: a table cannot hold another table", what=what))
            kind = None
        label = self.label(item, "label", what, required=True)
        help_text = self.label(item, "help", what, required=False)
        required = self.boolean(item, "required", what, False)
        sensitivity = item.get("sensitivity", "public")
        if sensitivity not in SENSITIVITIES:
            self.err(
                value_pos(item, "sensitivity"),
                Message(
                    "{what} 'sensitivity' must be one of {SENSITIVITIES}, not {sensitivity}",
                    what=what,
                    SENSITIVITIES=", ".join(SENSITIVITIES),
                    sensitivity=repr(sensitivity),
                ),
            )
            sensitivity = "public"
        min_length = self.integer(item, "min_length", what, minimum=0, maximum=100_000)
        max_length = self.integer(item, "max_length", what, minimum=1, maximum=100_000)
        if min_length is not None and max_length is not None and min_length > max_length:
            self.err(
                value_pos(item, "min_length"),
                Message("{what}: min_length is greater than max_length", what=what),
            )
        decimals = self.integer(item, "decimals", what, minimum=0, maximum=8)
        min_rows = self.integer(item, "min_rows", what, minimum=0, maximum=10_000)
        max_rows = self.integer(item, "max_rows", what, minimum=1, maximum=10_000)
        if min_rows is not None and max_rows is not None and min_rows > max_rows:
            self.err(
                value_pos(item, "min_rows"), Message("{what}: min_rows is greater than max_rows", what=what)
            )
        pattern = self.text(item, "pattern", what, max_length=500)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.err(
                    value_pos(item, "pattern"),
                    Message("{what}: pattern is not a valid regular expression ({exc})", what=what, exc=exc),
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
                self.err(
                    key_pos(item, key),
                    Message(
                        "{what}: '{key}' does not apply to a {kind} field", what=what, key=key, kind=kind
                    ),
                )
        limits = {key: self.limit(item, key, kind, what) for key in ("min", "max") if key in item}
        low, high = limits.get("min"), limits.get("max")
        if (
            low is not None
            and high is not None
            and not isinstance(low, str)
            and not isinstance(high, str)
            and low > high
        ):
            self.err(value_pos(item, "min"), Message("{what}: min is greater than max", what=what))
        choices: list[Choice] = []
        if kind in ("choice", "multichoice"):
            if "choices" not in item:
                self.err(
                    pos_of(item), Message("{what}: a {kind} field needs 'choices'", what=what, kind=kind)
                )
            else:
                choices = self.read_choices(item, what)
        columns: list[FieldSpec] = []
        if kind == "table":
            if "columns" not in item:
                self.err(pos_of(item), Message("{what}: a table field needs 'columns'", what=what))
            else:
                columns = self.read_fields(
                    item["columns"], value_pos(item, "columns"), what, allow_table=False
                )
                if not columns:
                    self.err(
                        value_pos(item, "columns"),
                        Message("{what}: a table needs at least one column", what=what),
                    )
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
        pos = value_pos(item, key)
        if kind == "date":
            if isinstance(value, datetime):
                self.err(
                    pos,
                    Message(
                        "{what} '{key}' must be a date without a time; got {value}",
                        what=what,
                        key=key,
                        value=value,
                    ),
                )
                return None
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                try:
                    resolve_date_limit(value, date(2000, 1, 1))
                except ValueError:
                    self.err(
                        pos,
                        Message(
                            "{what} '{key}' must be a date or 'today', 'today+5y', 'today-18y'; got {value}",
                            what=what,
                            key=key,
                            value=repr(value),
                        ),
                    )
                    return None
                return str(value)
            self.err(
                pos,
                Message(
                    "{what} '{key}' must be a date, not {kind_of}", what=what, key=key, kind_of=kind_of(value)
                ),
            )
            return None
        if kind in ("number", "decimal"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.err(
                    pos,
                    Message(
                        "{what} '{key}' must be a number, not {kind_of}",
                        what=what,
                        key=key,
                        kind_of=kind_of(value),
                    ),
                )
                return None
            if kind == "number":
                if not isinstance(value, int):
                    self.err(
                        pos,
                        Message(
                            "{what} '{key}' must be a whole number for a number field", what=what, key=key
                        ),
                    )
                    return None
                if abs(value) > 10**30:
                    self.err(pos, Message("{what} '{key}' is out of range", what=what, key=key))
                    return None
                return int(value)
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) > Decimal(10) ** 30:
                self.err(pos, Message("{what} '{key}' must be a finite number", what=what, key=key))
                return None
            return number
        return None

    def read_choices(self, item: CommentedMap, what: str) -> list[Choice]:
        items = (
            self.seq(item["choices"], value_pos(item, "choices"), Message("{what} choices", what=what)) or []
        )
        choices: list[Choice] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            choice = self.mapping(
                raw,
                item_pos(items, index, value_pos(item, "choices")),
                Message("a choice of {what}", what=what),
            )
            if choice is None:
                continue
            self.keys(
                choice, ("value", "label"), ("value", "label"), Message("a choice of {what}", what=what)
            )
            value = self.text(choice, "value", Message("a choice of {what}", what=what), max_length=100)
            label = self.label(
                choice,
                "label",
                Message("choice {value} of {what}", value=repr(value), what=what),
                required=False,
            )
            if value is None or label is None:
                continue
            if value in seen:
                self.err(
                    value_pos(choice, "value"),
                    Message("duplicate choice value '{value}' in {what}", value=value, what=what),
                )
                continue
            seen.add(value)
            choices.append(Choice(value=value, label=label))
        if items and not choices and not self.problems:
            self.err(value_pos(item, "choices"), Message("{what} needs at least one choice", what=what))
        if not items:
            self.err(value_pos(item, "choices"), Message("{what} needs at least one choice", what=what))
        return choices

    def read_attachment(self, item: CommentedMap) -> AttachmentSpec | None:
        att_id = self.ident(item, "id", "attachment") if "id" in item else None
        what = Message("attachment '{att_id}'", att_id=att_id) if att_id else "attachment"
        self.keys(item, ATTACHMENT_KEYS, ("id", "label", "types"), what)
        label = self.label(item, "label", what, required=True)
        required = self.boolean(item, "required", what, False)
        deferrable, deadline, commitment = self.read_commitment_keys(item, what, required)
        max_size = self.number(item, "max_size_mb", what, minimum=0, maximum=200, exclusive_min=True)
        max_count = self.integer(item, "max_count", what, minimum=1, maximum=50)
        types: list[str] = []
        if "types" in item:
            values = (
                self.seq(item["types"], value_pos(item, "types"), Message("{what} types", what=what)) or []
            )
            for index, value in enumerate(values):
                pos = item_pos(values, index, value_pos(item, "types"))
                if not isinstance(value, str) or value not in KNOWN_MIME_TYPES:
                    self.err(
                        pos,
                        Message(
                            "{what}: unsupported file type {value} (known: {KNOWN_MIME_TYPES})",
                            what=what,
                            value=repr(value),
                            KNOWN_MIME_TYPES=", ".join(sorted(KNOWN_MIME_TYPES)),
                        ),
                    )
                else:
                    types.append(value)
            if not values:
                self.err(value_pos(item, "types"), Message("{what} needs at least one file type", what=what))
        if att_id is None or label is None or not types:
            return None
        return AttachmentSpec(
            id=att_id,
            label=label,
            types=tuple(types),
            max_size_mb=max_size if max_size is not None else 10,
            required=required,
            max_count=max_count or 1,
            deferrable=deferrable,
            deadline=deadline,
            commitment=commitment,
        )

    def read_commitment_keys(self, item: CommentedMap, what: str, required: bool) -> tuple[bool, Any, Any]:
        """容缺 (`deferrable`, `deadline`) and 告知承诺 (`commitment`) on a
        document slot; the deadline is checked against the template's
        time_limit once that is read (check_deferral_deadlines)."""
        deferrable = self.boolean(item, "deferrable", what, False)
        commitment = self.label(item, "commitment", what, required=False)
        for key in ("deferrable", "commitment"):
            if key in item and not required and item[key] not in (False, None):
                self.err(
                    key_pos(item, key),
                    Message(
                        "{what}: '{key}' applies to a required document (an optional one may "
                        "simply be missing)",
                        what=what,
                        key=key,
                    ),
                )
        if deferrable and "commitment" in item:
            self.err(
                key_pos(item, "commitment"),
                Message(
                    "{what}: a document is either deferrable (容缺, supplied later) or "
                    "replaced by a commitment (告知承诺), not both",
                    what=what,
                ),
            )
        deadline = None
        if "deadline" in item:
            if not deferrable:
                self.err(
                    key_pos(item, "deadline"),
                    Message("{what}: 'deadline' needs 'deferrable: true'", what=what),
                )
            else:
                raw = self.mapping(
                    item["deadline"], value_pos(item, "deadline"), Message("{what} deadline", what=what)
                )
                if raw is not None:
                    self.keys(raw, DURATION_KEYS, (), Message("{what} deadline", what=what))
                    deadline = self.duration(raw, Message("{what} deadline", what=what))
                    if deadline is not None:
                        self.deferral_deadlines.append((what, deadline, value_pos(item, "deadline")))
        elif deferrable:
            self.deferral_deadlines.append((what, None, key_pos(item, "deferrable")))
        return deferrable, deadline, commitment

    def check_deferral_deadlines(self, time_limit: Any, statutory_limit: Any = None) -> None:
        """A make-up deadline never reaches past the case's statutory limit
        (`statutory_limit`, else `time_limit`): with no deadline of its own
        the slot takes that limit, so one must exist."""
        cap, cap_name = (
            (statutory_limit, "statutory_limit")
            if statutory_limit is not None
            else (time_limit, "time_limit")
        )
        for what, deadline, pos in self.deferral_deadlines:
            if deadline is None and cap is None:
                self.err(
                    pos,
                    Message(
                        "{what}: a deferrable document needs a 'deadline', or the template's "
                        "'statutory_limit' or 'time_limit' (the make-up period)",
                        what=what,
                    ),
                )
            elif deadline is not None and cap is not None and deadline.working_days > cap.working_days:
                self.err(
                    pos,
                    Message(
                        "{what}: the deadline ({working_days:g} working days) is beyond the "
                        "template's {cap_name} ({working_days2:g} working days)",
                        what=what,
                        working_days=deadline.working_days,
                        cap_name=cap_name,
                        working_days2=cap.working_days,
                    ),
                )
