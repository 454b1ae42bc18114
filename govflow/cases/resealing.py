"""Resealing case data: every case's secret values sealed again under the
current keys (`rotate_data_key`), and the first sealing of rows written
before the values were sealed (migration 0003). What a value is sealed
with, and where, is govflow.cases.secrets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.processes.models import ProcessVersion
from govflow.security.crypto import DataKeyError, Keyring, is_envelope, keyring
from govflow.security.fields import sealed_rows_reseal

from .models import Case
from .secrets import SecretPositions, open_data, seal_data, version_positions


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
