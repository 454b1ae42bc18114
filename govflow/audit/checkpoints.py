"""Signed checkpoints of the audit chains.

A checkpoint signs, in one statement, the Merkle root of every chain's head
(each chain's number, the position of its newest event and that event's
hash; govflow.audit.merkle), the number of events covered and the time,
with the server's Ed25519 key. Before signing, each chain's events since
the previous checkpoint are checked to link onto it, so a checkpoint never
vouches for a chain that was already tampered with; a chain that the
previous checkpoint named must still be there, at least as long. Exported
as JSON lines and kept away from the database server, checkpoints also
expose a database administrator who deletes rows and checkpoints together.
Checkpoints signed before partitioning (version 1) name the one chain's
head; they stay valid as checkpoints of chain 0.
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

from .merkle import merkle_root
from .models import AuditCheckpoint, AuditEvent, AuditHead
from .services import GENESIS
from .signing import checkpoint_message, sign
from .verification import CheckpointRecord, walk_chain

log = logging.getLogger(__name__)


class ChainNotIntact(GovflowError):
    code = "audit_chain_broken"
    status = 409


@transaction.atomic
def checkpoint_create(*, now: datetime | None = None, force: bool = False) -> AuditCheckpoint | None:
    """Sign every chain's current head. Returns None when nothing was
    appended since the last checkpoint (unless `force`) or the trail is
    empty. Raises SigningKeyMissing without a key and ChainNotIntact on a
    broken chain."""
    now = now or timezone.now()
    # One statement: the heads of one moment (appends commit in between).
    current = {
        head.chain: (head.last_seq, head.last_hash)
        for head in AuditHead.objects.filter(last_seq__gt=0).order_by("chain")
    }
    if not current:
        return None
    last_row = AuditCheckpoint.objects.order_by("-seq", "-id").first()
    last = CheckpointRecord.of(last_row).covered() if last_row is not None else {}
    if last == current and not force:
        return None
    for chain, (seq, _digest) in last.items():
        now_seq = current.get(chain, (0, GENESIS))[0]
        if now_seq < seq:
            raise ChainNotIntact(
                f"chain {chain} ends at position {now_seq}, below the last checkpoint ({seq}); "
                "no checkpoint signed"
            )
    for chain, (seq, digest) in current.items():
        after, anchor = last.get(chain, (0, GENESIS))
        if after:
            found = AuditEvent.objects.filter(chain=chain, seq=after).values_list("hash", flat=True).first()
            if found != anchor:
                raise ChainNotIntact(
                    f"chain {chain} position {after} no longer matches its checkpoint; no checkpoint signed"
                )
        broken, end, end_hash = walk_chain(chain, after=after, prev=anchor, upto=seq)
        if broken is not None:
            raise ChainNotIntact(f"{broken.describe()}; no checkpoint signed")
        if (end, end_hash) != (seq, digest):
            raise ChainNotIntact(
                f"the head of chain {chain} does not match its newest event; no checkpoint signed"
            )
    heads = [(chain, seq, digest) for chain, (seq, digest) in sorted(current.items())]
    root, covered = merkle_root(heads), sum(seq for _chain, seq, _digest in heads)
    key_id, signature = sign(checkpoint_message(covered, root, now, version=2))
    checkpoint = AuditCheckpoint.objects.create(
        seq=covered,
        head_hash=root,
        version=2,
        heads=[list(head) for head in heads],
        at=now,
        key_id=key_id,
        signature=signature,
    )
    log.info("audit checkpoint signed over %s chains, %s events", len(heads), covered)
    return checkpoint


def checkpoint_json(checkpoint: AuditCheckpoint | CheckpointRecord) -> str:
    item = {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "at": checkpoint.at.isoformat(timespec="microseconds"),
        "key_id": checkpoint.key_id,
        "algorithm": "Ed25519",
        "signature": checkpoint.signature,
    }
    if checkpoint.version != 1:  # version 1 lines stay as they were exported
        item["version"] = checkpoint.version
        item["heads"] = [list(head) for head in checkpoint.heads]
    return json.dumps(item, sort_keys=True)


def checkpoints_export(*, since_seq: int = 0) -> Iterator[str]:
    """Every checkpoint (with seq, the events it covers, above `since_seq`)
    as one JSON line."""
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
                    version=int(item.get("version", 1)),
                    heads=tuple((int(c), int(q), str(h)) for c, q, h in item.get("heads", ())),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointFileInvalid(f"{origin}:{number}: not a checkpoint line ({exc})") from exc
    return records


def checkpoints_read_file(path: str | Path) -> list[CheckpointRecord]:
    with open(path, encoding="utf-8") as handle:
        return checkpoints_read(handle, origin=str(path))
