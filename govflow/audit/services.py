"""Writing the audit chain.

Appends are serialised on the AuditHead row (SELECT ... FOR UPDATE), which
gives the chain one order; ids are assigned from the head so the hash of each
event covers its position. Callers gather their events and write them once,
at the end of their transaction, to hold the head lock as briefly as possible.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


@dataclass(slots=True)
class PendingAudit:
    action: str
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
    at = event.at
    body = {
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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: str, event_id: int, event: PendingAudit | AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event_id, event)).hexdigest()


def audit_write(events: list[PendingAudit]) -> list[AuditEvent]:
    """Append events to the chain. The caller must be inside a transaction."""
    if not events:
        return []
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    rows = []
    prev, last_id = head.last_hash, head.last_id
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
    AuditEvent.objects.bulk_create(rows)
    AuditHead.objects.filter(pk=1).update(last_id=last_id, last_hash=prev)
    return rows


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_verify(*, batch: int = 5000) -> ChainBreak | None:
    """Walk the chain in id order; return the first broken event, or None.
    Detects edited rows (hash mismatch), deleted or reordered rows (a gap or
    a prev_hash that is not the hash before), and a head that does not match
    the last row (truncation of the tail)."""
    prev, expected_id, last_id = GENESIS, 1, 0
    queryset = AuditEvent.objects.order_by("id")
    cursor = 0
    while True:
        rows = list(queryset.filter(id__gt=cursor)[:batch])
        if not rows:
            break
        for event in rows:
            if event.id != expected_id:
                return ChainBreak(expected_id, f"event {expected_id} is missing (next is {event.id})")
            if event.prev_hash != prev:
                return ChainBreak(event.id, "its previous-hash does not match the event before it")
            if chain_hash(prev, event.id, event) != event.hash:
                return ChainBreak(event.id, "its content does not match its hash (edited)")
            prev, expected_id, last_id = event.hash, event.id + 1, event.id
        cursor = rows[-1].id
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id != last_id or head.last_hash != prev):
        return ChainBreak(
            last_id + 1, f"the chain head names event {head.last_id} but the chain ends at {last_id}"
        )
    return None
