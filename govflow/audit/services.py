"""Writing and verifying the audit chains.

The trail is partitioned into N chains (settings.GOVFLOW_AUDIT_CHAINS): an
event about a case goes to chain `case id mod N`, one without a case to
chain 0 (which also holds every event from before partitioning). Each chain
has its own AuditHead row, so appends are serialised per chain (SELECT ...
FOR UPDATE on its head) and appends to different chains commit in
parallel. A transaction appends to one chain only: the first audit write
picks it and later writes in the same transaction follow it, so no two
transactions ever wait for each other's heads in opposite orders
(deadlock). The chain is stored on each event; N only decides where new
events go, so changing it needs no migration and leaves every existing
event where it is.

Each event's hash covers its chain, its position in the chain (`seq`) and
the previous hash; positions come from the head. Callers gather their
events and write them once, at the end of their transaction, to hold the
head lock as briefly as possible. On PostgreSQL the append is one call of a
database function (migration 0007), so the lock is taken by a statement
nobody waits for, just before the commit; verification (`audit_verify`)
recomputes every hash here in Python. Signed checkpoints cover every
chain's head at once (govflow.audit.checkpoints, .merkle).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from govflow import rawsql
from govflow.rawsql import insert_rows

from .actions import KNOWN as KNOWN_ACTIONS
from .context import current as current_context
from .models import AuditEvent, AuditHead

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


def chain_for(case_id: int | None, chains: int | None = None) -> int:
    """The chain an event about `case_id` goes to when it opens its
    transaction's appends: case id mod N, chain 0 without a case."""
    count = settings.GOVFLOW_AUDIT_CHAINS if chains is None else chains
    if case_id is None or count <= 1:
        return 0
    return int(case_id) % count


def canonical(position: int, event: PendingAudit | AuditEvent, chain: int | None = None) -> bytes:
    return _dumps(_body(position, event, chain)).encode()


def _body(position: int, event: PendingAudit | AuditEvent, chain: int | None = None) -> dict[str, Any]:
    """The hashed text's keys. `id` is the event's position in its chain
    (for chain 0, written before partitioning, also its row id); chain 0
    leaves out `chain`, so its events hash as they always did, and every
    other chain's events carry it, so no event can be moved between chains."""
    at = event.at
    if chain is None:
        chain = getattr(event, "chain", 0)
    body = {
        "id": position,
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
    if chain:
        body["chain"] = chain
    return body


def chain_hash(
    prev_hash: str, position: int, event: PendingAudit | AuditEvent, chain: int | None = None
) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(position, event, chain)).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_parts(event: PendingAudit, chain: int = 0) -> tuple[str, str]:
    """`canonical(position, event, chain)` as the text before and after the
    position, which only the chain's head knows (PostgreSQL joins them:
    0007_partitioned_chains). The keys before "id" and those after it are
    serialised as two objects, with the same options, so prefix +
    str(position) + suffix is byte for byte what `canonical` gives
    (tests/audit/test_chain.py)."""
    return _split(_body(0, event, chain))


def _split(body: dict[str, Any]) -> tuple[str, str]:
    before = _dumps({key: value for key, value in body.items() if key < "id"})
    after = _dumps({key: value for key, value in body.items() if key > "id"})
    return before[:-1] + ',"id":', "," + after[1:]


def audit_write(events: list[PendingAudit]) -> int | None:
    """Append events to the chain of this transaction (returned; None when
    there are none). The caller must be inside a transaction.

    On PostgreSQL one statement does it (the function in migration 0007):
    it needs no answer, so inside the bridge's pipeline it travels with the
    transaction's other writes, and the head's lock is held only from there
    to the commit. Elsewhere the head is locked and the rows written here."""
    if not events:
        return None
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
    chain = _transaction_chain(events)
    if connection.vendor == "postgresql":
        with rawsql.kept() as cur:
            cur.execute(_APPEND_SQL, [chain, append_payload(events, chain)])
        return chain
    head = _lock_head(chain)
    if head is None:
        AuditHead.objects.get_or_create(chain=chain, defaults={"id": chain + 1})
        head = _lock_head(chain)
    rows = []
    last_seq, prev = head
    for event in events:
        last_seq += 1
        digest = chain_hash(prev, last_seq, event, chain)
        rows.append(
            AuditEvent(
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
                chain=chain,
                seq=last_seq,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    # Nothing needs reading back: inside a pipeline these two statements
    # travel with the commit's round trip.
    insert_rows(rows)
    with rawsql.cursor() as cur:
        cur.execute(_head_update_sql(), [last_seq, prev, chain])
    return chain


def _transaction_chain(events: list[PendingAudit]) -> int:
    """The chain this transaction appends to: the one its first audit write
    chose (its head is locked until the commit), else the chain of the first
    event with a case. The choice is remembered beside an on-commit callback
    of its own: a commit runs the callback, which forgets it; a rollback (of
    the transaction, or of the savepoint that made the choice, which also
    releases the head's lock) drops the callback, so a choice whose
    callback is gone is stale."""
    chosen = getattr(connection, "_govflow_audit_chain", None)
    if chosen is not None and rawsql.on_commit_pending(chosen[1]):
        return chosen[0]
    chain = chain_for(next((e.case_id for e in events if e.case_id is not None), None))

    def forget() -> None:
        connection._govflow_audit_chain = None

    connection._govflow_audit_chain = (chain, forget)
    transaction.on_commit(forget)
    return chain


_APPEND_SQL = "SELECT govflow_audit_append(%s, %s::jsonb)"


def append_payload(events: list[PendingAudit], chain: int = 0) -> str:
    """The append function's events, as JSON text (the C encoder writes it;
    psycopg's array adaptation, in Python, cost more than the statement):
    per event the canonical body's own keys (its "id" is a placeholder the
    function ignores) and the text around the position. The function reads
    each event's columns from it; `data` becomes the same jsonb the ORM
    would have written."""
    rows = []
    for event in events:
        body = _body(0, event, chain)
        before, after = _split(body)
        rows.append({**body, "before": before, "after": after})
    return json.dumps(rows, separators=(",", ":"))


@cache
def _head_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if vendor == "postgresql" else ""
    table = quote(AuditHead._meta.db_table)
    return f"SELECT {quote('last_seq')}, {quote('last_hash')} FROM {table} WHERE {quote('chain')} = %s{lock}"


@cache
def _head_update_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(AuditHead._meta.db_table)
    return (
        f"UPDATE {table} SET {quote('last_seq')} = %s, {quote('last_hash')} = %s WHERE {quote('chain')} = %s"
    )


def _lock_head(chain: int) -> tuple[int, str] | None:
    """The chain's head, locked: appends to it are serialised here."""
    with rawsql.cursor() as cur:
        cur.execute(_head_sql(connection.vendor), [chain])
        return cur.fetchone()

