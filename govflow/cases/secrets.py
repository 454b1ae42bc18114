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

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models.fields.json import KeyTransform

from govflow.audit.actions import Action
from govflow.errors import InvalidInput
from govflow.security.crypto import DataKeyError, Keyring, is_envelope, keyring, normalised

# The lookup index (migration 0003): the keyed hashes of a case's sealed
# values, from top-level envelopes and table cells.
HASHES_SQL = (
    """(jsonb_path_query_array({data}, '$.*."$h"') || jsonb_path_query_array({data}, '$.*.*."$h"'))"""
)

_POSITION = re.compile(r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?$")


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
        from govflow.processes.services import version_definition

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


class SecretDataField(models.JSONField):
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


# -- finding cases by a secret value -------------------------------------------


def case_find_by_secret(*, field: str, value: str, template: str | None = None) -> list:
    """Cases whose secret field (or secret table column, 'table.column')
    holds exactly `value` (compared as the lookup hash normalises it: white
    space, letter case and full-width forms do not matter), oldest first.
    On PostgreSQL the keyed hash is found through a GIN index; elsewhere by
    a text search of the column. Every candidate is opened and compared, so
    a hash that only collides is never a match. The caller records who
    looked (this reads personal data)."""
    from .models import Case

    if not _POSITION.match(field or ""):
        raise InvalidInput(
            "name a form field, or a table column as table.column", fields={"field": ["unknown field"]}
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("give the value to look for", fields={"value": ["required"]})
    digest = keyring().lookup_hash(value)
    table = connection.ops.quote_name(Case._meta.db_table)
    data = connection.ops.quote_name("data")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"SELECT id FROM {table} WHERE {HASHES_SQL.format(data=data)} @> %s::jsonb ORDER BY id",
                [json.dumps([digest])],
            )
        else:
            cur.execute(f"SELECT id FROM {table} WHERE {data} LIKE %s ORDER BY id", [f'%"{digest}"%'])
        ids = [row[0] for row in cur.fetchall()]
    if not ids:
        return []
    cases = Case.objects.filter(pk__in=ids).select_related("template", "version").order_by("pk")
    if template:
        cases = cases.filter(template__code=template)
    wanted = normalised(value)
    return [
        case
        for case in cases
        if field in version_positions(case.version)
        and any(normalised(found) == wanted for found in value_at(case.data, field))
    ]


# -- resealing: rotation, and the first encryption of existing rows -------------


@dataclass
class ResealReport:
    examined: int = 0
    resealed: int = 0
    last_id: int = 0
    key_id: str = ""
    # key id -> cases holding at least one value sealed with it (before resealing)
    keys_in_use: dict[str, int] = field(default_factory=dict)


def _key_ids(data: Any, ring: Keyring) -> set[str]:
    found: set[str] = set()
    if type(data) is not dict:
        return found
    for value in data.values():
        cells: Iterable[Any] = [value]
        if type(value) is list:
            cells = [cell for row in value if type(row) is dict for cell in row.values()]
        for cell in cells:
            if is_envelope(cell):
                found.add(ring.key_id_of(cell) or "?")
    return found


class _Version:
    """What the definition cache needs of a version, read without the ORM
    (so a migration can run this)."""

    def __init__(self, pk: int, source: str, source_sha256: str) -> None:
        self.pk, self.source, self.source_sha256 = pk, source, source_sha256


def cases_reseal(
    *,
    batch_size: int = 500,
    after: int = 0,
    dry_run: bool = False,
    on_batch: Callable[[ResealReport, list[int]], None] | None = None,
) -> ResealReport:
    """Seal every case's secret values under the current key and hash key,
    a batch of rows at a time, each batch in its own transaction under the
    rows' locks (taken in id order). Rows already sealed as they would be
    now are left alone, so a second run writes nothing and an interrupted
    run can start again (from the beginning, or `after` the last id it
    reported). `on_batch(report, resealed ids)` runs inside each batch's
    transaction (the command writes its audit event there)."""
    from govflow.processes.models import ProcessVersion

    from .models import Case

    ring = keyring()
    report = ResealReport(last_id=after, key_id=ring.current.id)
    quote = connection.ops.quote_name
    table = quote(Case._meta.db_table)
    data_field = Case._meta.get_field("data")
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    positions: dict[int, SecretPositions] = {}
    while True:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT id, {quote('version_id')}, {quote('data')} FROM {table} "
                    f"WHERE id > %s ORDER BY id LIMIT %s{lock}",
                    [report.last_id, batch_size],
                )
                rows = cur.fetchall()
            if not rows:
                return report
            missing = {version_id for _, version_id, _ in rows} - positions.keys()
            if missing:
                versions = ProcessVersion.objects.filter(pk__in=missing).values_list(
                    "pk", "source", "source_sha256"
                )
                for pk, source, digest in versions:
                    positions[pk] = version_positions(_Version(pk, source, digest))
            changed: list[tuple[int, dict]] = []
            for case_id, version_id, raw in rows:
                stored = json.loads(raw) if isinstance(raw, str | bytes) else raw
                for key_id in _key_ids(stored, ring):
                    report.keys_in_use[key_id] = report.keys_in_use.get(key_id, 0) + 1
                try:
                    plain = open_data(stored, ring)
                except DataKeyError as exc:
                    raise DataKeyError(f"case {case_id}: {exc.message}") from exc
                sealed = seal_data(plain, positions[version_id], ring) if type(plain) is dict else plain
                if sealed != stored:
                    changed.append((case_id, sealed))
            report.examined += len(rows)
            report.last_id = rows[-1][0]
            if dry_run or not changed:
                report.resealed += len(changed) if dry_run else 0
                continue
            with connection.cursor() as cur:
                cur.executemany(
                    f"UPDATE {table} SET {quote('data')} = %s WHERE id = %s",
                    [(data_field.get_db_prep_save(new, connection), case_id) for case_id, new in changed],
                )
            report.resealed += len(changed)
            if on_batch is not None:
                on_batch(report, [case_id for case_id, _ in changed])


def data_key_rotate(
    *, batch_size: int = 500, after: int = 0, actor_id: int | None = None, now=None
) -> ResealReport:
    """Reseal every case under the current keys (`cases_reseal`), with a
    DATA_RESEALED audit event in each batch's transaction naming the cases
    rewritten, and a DATA_KEY_ROTATED event at the end: which key is
    current and which keys were still in use before the run."""
    from django.utils import timezone

    from govflow.audit.services import PendingAudit, audit_write

    def record(report: ResealReport, case_ids: list[int]) -> None:
        audit_write(
            [
                PendingAudit(
                    action=Action.DATA_RESEALED,
                    at=now or timezone.now(),
                    actor_id=actor_id,
                    object_type="case",
                    object_id=f"{case_ids[0]}..{case_ids[-1]}",
                    data={"key": report.key_id, "cases": case_ids},
                )
            ]
        )

    report = cases_reseal(batch_size=batch_size, after=after, on_batch=record)
    from govflow.security.fields import sealed_rows_reseal

    # The other sealed columns (catalogue records and claims, webhook
    # bodies, idempotent answers) are small next to the cases: all of them.
    others = sealed_rows_reseal(batch_size=batch_size)
    with transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action=Action.DATA_KEY_ROTATED,
                    at=now or timezone.now(),
                    actor_id=actor_id,
                    object_type="data_key",
                    object_id=report.key_id,
                    data={
                        "after": after,
                        "examined": report.examined,
                        "resealed": report.resealed,
                        "keys_in_use_before": dict(sorted(report.keys_in_use.items())),
                        "other_rows_resealed": others,
                    },
                )
            ]
        )
    return report


@transaction.atomic
def secret_lookup_record(
    *, field: str, template: str | None, cases: list, actor_id: int | None = None, via: str, now=None
) -> None:
    """A SECRET_LOOKUP event: who searched which field, and what was found
    (never the value searched for)."""
    from django.utils import timezone

    from govflow.audit.services import PendingAudit, audit_write

    audit_write(
        [
            PendingAudit(
                action=Action.SECRET_LOOKUP,
                at=now or timezone.now(),
                actor_id=actor_id,
                object_type="field",
                object_id=field,
                data={
                    "template": template or "",
                    "via": via,
                    "matches": len(cases),
                    "cases": [case.reference for case in cases[:100]],
                },
            )
        ]
    )
