"""Signed checkpoints of the audit chain.

A checkpoint signs the chain's head (the newest event's id and hash, and
the time) with the server's Ed25519 key. Before signing, the events since
the previous checkpoint are checked to link onto it, so a checkpoint never
vouches for a chain that was already tampered with. Exported as JSON lines
and kept away from the database server, checkpoints also expose a database
administrator who deletes rows and checkpoints together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from govflow.errors import GovflowError

from .models import AuditCheckpoint, AuditEvent, AuditHead
from .services import GENESIS, CheckpointRecord, chain_hash
from .signing import checkpoint_message, sign

log = logging.getLogger(__name__)


class ChainNotIntact(GovflowError):
    code = "audit_chain_broken"
    status = 409


def _check_segment(start_seq: int, start_hash: str, end_seq: int, *, batch: int = 5000) -> None:
    """Events start_seq+1 .. end_seq link onto start_hash; raise if not."""
    prev, expected = start_hash, start_seq + 1
    cursor = start_seq
    while cursor < end_seq:
        rows = list(AuditEvent.objects.filter(id__gt=cursor, id__lte=end_seq).order_by("id")[:batch])
        if not rows:
            break
        for event in rows:
            if (
                event.id != expected
                or event.prev_hash != prev
                or chain_hash(prev, event.id, event) != event.hash
            ):
                raise ChainNotIntact(f"the audit chain is broken at event {expected}; no checkpoint signed")
            prev, expected = event.hash, event.id + 1
        cursor = rows[-1].id
    if expected != end_seq + 1:
        raise ChainNotIntact(f"the audit chain is broken at event {expected}; no checkpoint signed")


@transaction.atomic
def checkpoint_create(*, now: datetime | None = None, force: bool = False) -> AuditCheckpoint | None:
    """Sign the current head. Returns None when nothing was appended since
    the last checkpoint (unless `force`) or the chain is empty. Raises
    SigningKeyMissing without a key and ChainNotIntact on a broken chain."""
    now = now or timezone.now()
    head = AuditHead.objects.filter(pk=1).first()
    if head is None or head.last_id == 0:
        return None
    last = AuditCheckpoint.objects.order_by("-seq", "-id").first()
    if last is not None and last.seq == head.last_id and not force:
        return None
    if last is not None and last.seq > head.last_id:
        raise ChainNotIntact(
            f"the chain ends at event {head.last_id}, below the last checkpoint ({last.seq}); "
            "no checkpoint signed"
        )
    if last is not None:
        anchor = AuditEvent.objects.filter(pk=last.seq).values_list("hash", flat=True).first()
        if anchor != last.head_hash:
            raise ChainNotIntact(f"event {last.seq} no longer matches its checkpoint; no checkpoint signed")
        _check_segment(last.seq, last.head_hash, head.last_id)
    else:
        _check_segment(0, GENESIS, head.last_id)
    if AuditEvent.objects.filter(pk=head.last_id).values_list("hash", flat=True).first() != head.last_hash:
        raise ChainNotIntact("the chain head does not match its newest event; no checkpoint signed")
    key_id, signature = sign(checkpoint_message(head.last_id, head.last_hash, now))
    checkpoint = AuditCheckpoint.objects.create(
        seq=head.last_id, head_hash=head.last_hash, at=now, key_id=key_id, signature=signature
    )
    log.info("audit checkpoint signed at event %s", checkpoint.seq)
    return checkpoint


def checkpoint_json(checkpoint: AuditCheckpoint | CheckpointRecord) -> str:
    return json.dumps(
        {
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "at": checkpoint.at.isoformat(timespec="microseconds"),
            "key_id": checkpoint.key_id,
            "algorithm": "Ed25519",
            "signature": checkpoint.signature,
        },
        sort_keys=True,
    )


def checkpoints_export(*, since_seq: int = 0) -> Iterator[str]:
    """Every checkpoint (with seq above `since_seq`) as one JSON line."""
    for checkpoint in AuditCheckpoint.objects.filter(seq__gt=since_seq).order_by("seq", "id").iterator():
        yield checkpoint_json(checkpoint)


class CheckpointFileInvalid(GovflowError):
    code = "checkpoint_file_invalid"


def checkpoints_read(lines: Iterable[str], *, origin: str) -> list[CheckpointRecord]:
    """Parse exported checkpoint lines; a line that is not one is an error
    naming its line number."""
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            at = datetime.fromisoformat(item["at"])
            if at.tzinfo is None:
                raise ValueError("time without offset")
            records.append(
                CheckpointRecord(
                    seq=int(item["seq"]),
                    head_hash=str(item["head_hash"]),
                    at=at,
                    key_id=str(item["key_id"]),
                    signature=str(item["signature"]),
                    origin=f"{origin}:{number}",
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointFileInvalid(f"{origin}:{number}: not a checkpoint line ({exc})") from exc
    return records


def checkpoints_read_file(path: str | Path) -> list[CheckpointRecord]:
    with open(path, encoding="utf-8") as handle:
        return checkpoints_read(handle, origin=str(path))
