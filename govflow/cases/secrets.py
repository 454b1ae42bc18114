"""Secret form values encrypted at the database boundary of Case.data.

Everything in govflow reads and writes `case.data` as plain values. Only
the column holds envelopes (govflow.security.crypto): `SecretDataField`
seals the values of the case's secret fields (and secret table columns, or
every cell of a secret table) in `pre_save`, from the definition of the
case's version, and opens every envelope it finds in `from_db_value`. The
raw-SQL hot path (rows.py, bulk.py) calls the same two methods, so it needs
nothing of its own.

Envelopes live at two kinds of positions: a top-level value ("field") and a
cell of a row of a top-level list ("table.column"). A value shaped like an
envelope that arrives from input (a draft may hold any JSON) is sealed as
data wherever it stands, so whatever the column holds at those positions
was sealed here and reads back as it was written.

Writes that bypass `pre_save` (QuerySet.update(data=...), bulk_update) would
store plain values; govflow has none, and `rotate_data_key` would seal what
one left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.fields.json import KeyTransform

from govflow.processes.services import version_definition
from govflow.security.crypto import DataKeyError, Keyring, is_envelope, keyring
from govflow.security.fields import SealedField

# The lookup index (migration 0003): the keyed hashes of a case's sealed
# values, from top-level envelopes and table cells.
HASHES_SQL = (
    """(jsonb_path_query_array({data}, '$.*."$h"') || jsonb_path_query_array({data}, '$.*.*."$h"'))"""
)


@dataclass(frozen=True)
class SecretPositions:
    """Where a version's form keeps secret values."""

    fields: frozenset[str] = frozenset()
    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, form) -> SecretPositions:
        fields: set[str] = set()
        columns: dict[str, frozenset[str]] = {}
        for spec in form.fields:
            if spec.type == "table":
                secret = frozenset(
                    c.id for c in spec.columns if spec.sensitivity == "secret" or c.sensitivity == "secret"
                )
                if secret:
                    columns[spec.id] = secret
            elif spec.sensitivity == "secret":
                fields.add(spec.id)
        return cls(frozenset(fields), columns)

    def __contains__(self, position: str) -> bool:
        table, _, column = position.partition(".")
        if column:
            return column in self.columns.get(table, ())
        return table in self.fields


NO_SECRETS = SecretPositions()
_positions: dict[tuple[int, str], SecretPositions] = {}
_positions_lock = threading.Lock()


def version_positions(version) -> SecretPositions:
    """The secret positions of a published version (cached like its
    definition: versions never change)."""
    key = (version.pk, version.source_sha256)
    found = _positions.get(key)
    if found is None:
        found = SecretPositions.of(version_definition(version).form)
        with _positions_lock:
            _positions[key] = found
    return found


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _unsealed(ring: Keyring, value: Any, position: str) -> Any:
    """The plain value of an envelope this keyring made for this position;
    anything else (input that only looks like one) is data as it is."""
    try:
        return ring.open(value, position)
    except DataKeyError:
        return value


def _seal_value(ring: Keyring, value: Any, position: str, secret: bool) -> Any:
    if is_envelope(value):
        value = _unsealed(ring, value, position)
        if is_envelope(value):  # input shaped like an envelope: kept as data, sealed
            return ring.seal(value, position)
    if secret and not _blank(value):
        return ring.seal(value, position)
    return value


def seal_data(data: Mapping[str, Any], positions: SecretPositions, ring: Keyring | None = None) -> dict:
    """A copy of plain case data with its secret values sealed. Idempotent:
    sealed data seals to itself (under the current key)."""
    result = dict(data)
    for name, value in data.items():
        if type(value) is list:
            secret_columns = positions.columns.get(name, ())
            rows = None
            for index, row in enumerate(value):
                if type(row) is not dict:
                    continue
                new_row = None
                for column, cell in row.items():
                    secret = column in secret_columns
                    if not (secret or is_envelope(cell)):
                        continue
                    ring = ring or keyring()
                    sealed = _seal_value(ring, cell, f"{name}.{column}", secret)
                    if sealed is not cell:
                        if new_row is None:
                            new_row = dict(row)
                        new_row[column] = sealed
                if new_row is not None:
                    if rows is None:
                        rows = list(value)
                    rows[index] = new_row
            if rows is not None:
                result[name] = rows
        elif name in positions.fields or is_envelope(value):
            ring = ring or keyring()
            result[name] = _seal_value(ring, value, name, name in positions.fields)
    return result


def open_data(data: Any, ring: Keyring | None = None) -> Any:
    """Plain case data: every envelope at a top-level or table-cell position
    opened. DataKeyError when one does not open."""
    if type(data) is not dict:
        return data
    result = None
    for name, value in data.items():
        if type(value) is dict:
            if is_envelope(value):
                ring = ring or keyring()
                if result is None:
                    result = dict(data)
                result[name] = ring.open(value, name)
        elif type(value) is list:
            rows = None
            for index, row in enumerate(value):
                if type(row) is not dict:
                    continue
                new_row = None
                for column, cell in row.items():
                    if type(cell) is dict and is_envelope(cell):
                        ring = ring or keyring()
                        if new_row is None:
                            new_row = dict(row)
                        new_row[column] = ring.open(cell, f"{name}.{column}")
                if new_row is not None:
                    if rows is None:
                        rows = list(value)
                    rows[index] = new_row
            if rows is not None:
                if result is None:
                    result = dict(data)
                result[name] = rows
    return data if result is None else result


def value_at(data: Mapping[str, Any], position: str) -> list[Any]:
    """The values at a position: the field's, or every row's cell."""
    table, _, column = position.partition(".")
    value = data.get(table)
    if not column:
        return [] if _blank(value) else [value]
    if type(value) is not list:
        return []
    return [row.get(column) for row in value if type(row) is dict and not _blank(row.get(column))]


class SecretDataField(SealedField, models.JSONField):
    """Case.data: the form data, with secret values sealed in the column.

    Another model keeping field values by id (a dataset's records) can
    subclass it and say where its secrets are in `secret_positions`."""

    def secret_positions(self, instance) -> SecretPositions:
        """The case's version's secret fields and columns. Loads the version
        if the caller did not (the services' reads all bring it along)."""
        if instance.version_id is None:
            return NO_SECRETS
        return version_positions(instance.version)

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if type(value) is not dict or not value:
            return value
        return seal_data(value, self.secret_positions(model_instance))

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        if isinstance(expression, KeyTransform):
            # data__<field> read on its own (values(), annotations): open what
            # it holds as if it stood in the document.
            if isinstance(expression.lhs, KeyTransform) or type(value) not in (dict, list):
                return value
            return open_data({expression.key_name: value})[expression.key_name]
        return open_data(value)
