"""Writing the audit chain.

Appends are serialised on the AuditHead row (SELECT ... FOR UPDATE), which
gives the chain one order; ids are assigned from the head so the hash of each
event covers its position. Callers gather their events and write them once,
at the end of their transaction, to hold the head lock as briefly as possible.
On PostgreSQL the append is one call of a database function (migration
0005), so the lock is taken by a statement nobody waits for, just before the
commit; verification (`audit_verify`) recomputes every hash here in Python.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from govflow import rawsql
from govflow.rawsql import insert_rows

from .actions import KNOWN as KNOWN_ACTIONS
from .context import current as current_context
from .models import AuditCheckpoint, AuditEvent, AuditHead

GENESIS = "0" * 64


class UnknownAction(ValueError):
    """An audit event whose action is not a member of `Action`."""


@dataclass(slots=True)
class PendingAudit:
    action: str  # an Action (a str: stored and hashed as its value)
    at: datetime
    actor_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    case_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    source_ip: str | None = None
    on_behalf_of_id: int | None = None


def canonical(event_id: int, event: PendingAudit | AuditEvent) -> bytes:
    return _dumps(_body(event_id, event)).encode()


def _body(event_id: int, event: PendingAudit | AuditEvent) -> dict[str, Any]:
    at = event.at
    return {
        "id": event_id,
        "at": at.isoformat(timespec="microseconds") if isinstance(at, datetime) else str(at),
        "actor": event.actor_id,
        "on_behalf_of": event.on_behalf_of_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "case": event.case_id,
        "outcome": event.outcome,
        "source_ip": event.source_ip,
        "data": event.data,
    }


def chain_hash(prev_hash: str, event_id: int, event: PendingAudit | AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event_id, event)).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_parts(event: PendingAudit) -> tuple[str, str]:
    """`canonical(id, event)` as the text before and after the id, which
    only the chain's head knows (PostgreSQL joins them: 0005_append_function).
    The keys before "id" and those after it are serialised as two objects,
    with the same options, so prefix + str(id) + suffix is byte for byte what
    `canonical` gives (tests/audit/test_chain.py)."""
    return _split(_body(0, event))


def _split(body: dict[str, Any]) -> tuple[str, str]:
    before = _dumps({key: value for key, value in body.items() if key < "id"})
    after = _dumps({key: value for key, value in body.items() if key > "id"})
    return before[:-1] + ',"id":', "," + after[1:]


def audit_write(events: list[PendingAudit]) -> None:
    """Append events to the chain. The caller must be inside a transaction.

    On PostgreSQL one statement does it (the function in migration 0005):
    it needs no answer, so inside the bridge's pipeline it travels with the
    transaction's other writes, and the head's lock is held only from there
    to the commit. Elsewhere the head is locked and the rows written here."""
    if not events:
        return
    if settings.GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY:
        unknown = sorted({event.action for event in events} - KNOWN_ACTIONS)
        if unknown:
            raise UnknownAction(f"not a member of govflow.audit.actions.Action: {', '.join(unknown)}")
    context = current_context()
    for event in events:
        # The request's source IP (and on-behalf-of user) for events written
        # by services that are not given the request.
        if event.source_ip is None and context.source_ip:
            event.source_ip = context.source_ip
        if event.on_behalf_of_id is None and context.on_behalf_of_id is not None:
            event.on_behalf_of_id = context.on_behalf_of_id
    if connection.vendor == "postgresql":
        _append_in_database(events)
        return
    head = _lock_head()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = _lock_head()
    rows = []
    last_id, prev = head
    for event in events:
        last_id += 1
        digest = chain_hash(prev, last_id, event)
        rows.append(
            AuditEvent(
                id=last_id,
                at=event.at,
                actor_id=event.actor_id,
                on_behalf_of_id=event.on_behalf_of_id,
                action=event.action,
                object_type=event.object_type,
                object_id=str(event.object_id),
                case_id=event.case_id,
                outcome=event.outcome,
                source_ip=event.source_ip,
                data=event.data,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    # Ids come from the head, so nothing needs reading back: inside a
    # pipeline these two statements travel with the commit's round trip.
    insert_rows(rows)
    with rawsql.cursor() as cur:
        cur.execute(_head_update_sql(), [last_id, prev])


_APPEND_SQL = "SELECT govflow_audit_append(%s::jsonb)"


def append_payload(events: list[PendingAudit]) -> str:
    """The append function's one parameter, as JSON text (the C encoder
    writes it; psycopg's array adaptation, in Python, cost more than the
    statement): per event the canonical body's own keys (its "id" is a
    placeholder the function ignores) and the text around the id. The
    function reads each event's columns from it; `data` becomes the same
    jsonb the ORM would have written."""
    rows = []
    for event in events:
        body = _body(0, event)
        before, after = _split(body)
        rows.append({**body, "before": before, "after": after})
    return json.dumps(rows, separators=(",", ":"))


def _append_in_database(events: list[PendingAudit]) -> None:
    with rawsql.kept() as cur:
        cur.execute(_APPEND_SQL, [append_payload(events)])


@cache
def _head_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    table = quote(AuditHead._meta.db_table)
    return f"SELECT {quote('last_id')}, {quote('last_hash')} FROM {table} WHERE {quote('id')} = 1{lock}"


@cache
def _head_update_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(AuditHead._meta.db_table)
    return f"UPDATE {table} SET {quote('last_id')} = %s, {quote('last_hash')} = %s WHERE {quote('id')} = 1"


def _lock_head() -> tuple[int, str] | None:
    """The chain's head, locked: appends are serialised here."""
    with rawsql.cursor() as cur:
        cur.execute(_head_sql(connection.vendor))
        return cur.fetchone()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


@dataclass(frozen=True)
class CheckpointRecord:
    """A signed checkpoint, from the database or from an exported file."""

    seq: int
    head_hash: str
    at: datetime
    key_id: str
    signature: str
    origin: str = "database"

    @classmethod
    def of(cls, row: AuditCheckpoint) -> CheckpointRecord:
        return cls(row.seq, row.head_hash, row.at, row.key_id, row.signature)

    def describe(self) -> str:
        where = "" if self.origin == "database" else f" ({self.origin})"
        return f"the checkpoint signed at {self.at.isoformat(timespec='seconds')}{where}"


def _checkpoint_problem(checkpoint: CheckpointRecord, keys) -> ChainBreak | None:
    from .signing import checkpoint_message, verify

    public = keys.get(checkpoint.key_id)
    if public is None:
        return ChainBreak(
            checkpoint.seq,
            f"{checkpoint.describe()} is signed by an unknown key {checkpoint.key_id} "
            "(forged, or the key is not configured)",
        )
    message = checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.at)
    if not verify(public, message, checkpoint.signature):
        return ChainBreak(checkpoint.seq, f"{checkpoint.describe()} has a signature that does not verify")
    return None


def audit_verify(
    *, batch: int = 5000, extra_checkpoints: list[CheckpointRecord] | None = None
) -> ChainBreak | None:
    """Walk the chain in id order; return the first broken event, or None.
    Detects edited rows (hash mismatch), deleted or reordered rows (a gap or
    a prev_hash that is not the hash before), a head that does not match
    the last row, and, against the signed checkpoints (those in the
    database and `extra_checkpoints`, e.g. an exported copy kept elsewhere),
    a chain rewritten below a checkpoint or cut short (truncation)."""
    from .signing import trusted_keys

    checkpoints = [CheckpointRecord.of(row) for row in AuditCheckpoint.objects.order_by("seq", "id")]
    checkpoints += extra_checkpoints or []
    keys = trusted_keys() if checkpoints else {}
    bad_signature = None
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        bad_signature = _checkpoint_problem(checkpoint, keys)
        if bad_signature is not None:
            break
    expected: dict[int, list[CheckpointRecord]] = {}
    for checkpoint in checkpoints:
        expected.setdefault(checkpoint.seq, []).append(checkpoint)

    prev, expected_id, last_id = GENESIS, 1, 0
    queryset = AuditEvent.objects.order_by("id")
    cursor = 0
    while True:
        rows = list(queryset.filter(id__gt=cursor)[:batch])
        if not rows:
            break
        for event in rows:
            if bad_signature is not None and event.id >= bad_signature.event_id:
                return bad_signature
            if event.id != expected_id:
                return ChainBreak(expected_id, f"event {expected_id} is missing (next is {event.id})")
            if event.prev_hash != prev:
                return ChainBreak(event.id, "its previous-hash does not match the event before it")
            if chain_hash(prev, event.id, event) != event.hash:
                return ChainBreak(event.id, "its content does not match its hash (edited)")
            for checkpoint in expected.get(event.id, ()):
                if checkpoint.head_hash != event.hash:
                    return ChainBreak(
                        event.id,
                        f"it differs from {checkpoint.describe()}: an event up to here was changed "
                        "and the chain re-hashed",
                    )
            prev, expected_id, last_id = event.hash, event.id + 1, event.id
        cursor = rows[-1].id
    if bad_signature is not None:
        return bad_signature
    beyond = [c for c in checkpoints if c.seq > last_id]
    if beyond:
        latest = max(beyond, key=lambda c: c.seq)
        return ChainBreak(
            last_id + 1,
            f"the chain ends at event {last_id} but {latest.describe()} covers events up to "
            f"{latest.seq} (the tail was cut off)",
        )
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id != last_id or head.last_hash != prev):
        return ChainBreak(
            last_id + 1, f"the chain head names event {head.last_id} but the chain ends at {last_id}"
        )
    return None
