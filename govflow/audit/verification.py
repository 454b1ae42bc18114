"""Verifying the audit chains (verify_audit, reconcile).

Every chain is walked in position order and every hash recomputed; each
chain must end where its head row says, and every signed checkpoint (in the
database, or exported and kept elsewhere) must match: its signature over
the Merkle root of the heads it lists, and each listed head against the
event at that position. So an edited, deleted or reordered event, a chain
cut short (its tail, or all of it) and a chain re-hashed below a checkpoint
are found in whichever chain they are, whatever GOVFLOW_AUDIT_CHAINS is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from .merkle import merkle_root
from .models import AuditCheckpoint, AuditEvent, AuditHead
from .services import GENESIS, chain_hash
from .signing import checkpoint_message, trusted_keys, verify


@dataclass(frozen=True)
class ChainBreak:
    """The first problem found: where (the event's id, its chain and
    position, as far as known) and why."""

    reason: str
    chain: int | None = None
    seq: int | None = None
    event_id: int | None = None

    def describe(self) -> str:
        if self.event_id is not None:
            where = f"at event {self.event_id}"
            if self.chain is not None:
                where += f" (chain {self.chain}, position {self.seq})"
        elif self.chain is not None:
            where = f"in chain {self.chain}" + (f" at position {self.seq}" if self.seq is not None else "")
        else:
            where = "in its checkpoints"
        return f"audit chain broken {where}: {self.reason}"


@dataclass(frozen=True)
class CheckpointRecord:
    """A signed checkpoint, from the database or from an exported file.
    `heads` is ((chain, seq, hash), ...); for a version 1 checkpoint, the
    one chain's head (chain 0, `seq`, `head_hash`)."""

    seq: int
    head_hash: str
    at: datetime
    key_id: str
    signature: str
    origin: str = "database"
    version: int = 1
    heads: tuple[tuple[int, int, str], ...] = field(default=())

    @classmethod
    def of(cls, row: AuditCheckpoint) -> CheckpointRecord:
        return cls(
            row.seq,
            row.head_hash,
            row.at,
            row.key_id,
            row.signature,
            version=row.version,
            heads=tuple((int(c), int(s), str(h)) for c, s, h in row.heads),
        )

    def covered(self) -> dict[int, tuple[int, str]]:
        """chain -> (position, hash) this checkpoint vouches for."""
        if self.version == 1:
            return {0: (self.seq, self.head_hash)}
        return {chain: (seq, digest) for chain, seq, digest in self.heads}

    def describe(self) -> str:
        where = "" if self.origin == "database" else f" ({self.origin})"
        return f"the checkpoint signed at {self.at.isoformat(timespec='seconds')}{where}"


def checkpoint_problem(checkpoint: CheckpointRecord, keys) -> str | None:
    """Why a checkpoint cannot be trusted, or None."""
    public = keys.get(checkpoint.key_id)
    if public is None:
        return (
            f"{checkpoint.describe()} is signed by an unknown key {checkpoint.key_id} "
            "(forged, or the key is not configured)"
        )
    if checkpoint.version == 2:
        try:
            root = merkle_root(checkpoint.heads)
        except ValueError as exc:
            return f"{checkpoint.describe()} lists its heads wrongly ({exc})"
        if root != checkpoint.head_hash or sum(s for _c, s, _h in checkpoint.heads) != checkpoint.seq:
            return f"{checkpoint.describe()} lists heads that do not give its signed Merkle root (altered)"
    elif checkpoint.version != 1:
        return f"{checkpoint.describe()} has an unknown version {checkpoint.version}"
    message = checkpoint_message(
        checkpoint.seq, checkpoint.head_hash, checkpoint.at, version=checkpoint.version
    )
    if not verify(public, message, checkpoint.signature):
        return f"{checkpoint.describe()} has a signature that does not verify"
    return None


def chains_present() -> list[int]:
    """Every chain that has events, by a loose index scan over
    (chain, seq): one index probe per chain, not a pass over the events."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = (
        f"WITH RECURSIVE c(chain) AS (SELECT MIN(chain) FROM {table} "
        f"UNION ALL SELECT (SELECT MIN(chain) FROM {table} WHERE chain > c.chain) "
        "FROM c WHERE c.chain IS NOT NULL) SELECT chain FROM c WHERE chain IS NOT NULL"
    )
    with connection.cursor() as cur:
        cur.execute(sql)
        return [int(row[0]) for row in cur.fetchall()]


def walk_chain(
    chain: int,
    *,
    after: int = 0,
    prev: str = GENESIS,
    upto: int | None = None,
    expected: dict[int, list[CheckpointRecord]] | None = None,
    batch: int = 5000,
) -> tuple[ChainBreak | None, int, str]:
    """Check `chain`'s events after position `after` (whose hash is
    `prev`), up to `upto` if given: positions without gaps, each linking
    onto the one before, each hash recomputed, and each position a
    checkpoint names (`expected`) holding the hash it signed. Returns
    (first problem or None, last position, its hash)."""
    position, cursor = after, after
    expected = expected or {}
    queryset = AuditEvent.objects.filter(chain=chain).order_by("seq")
    while True:
        rows = queryset.filter(seq__gt=cursor)
        if upto is not None:
            rows = rows.filter(seq__lte=upto)
        rows = list(rows[:batch])
        if not rows:
            break
        for event in rows:
            if event.seq != position + 1:
                return (
                    ChainBreak(
                        f"position {position + 1} of chain {chain} is missing "
                        f"(the next is position {event.seq}, event {event.id})",
                        chain,
                        position + 1,
                    ),
                    position,
                    prev,
                )
            if event.prev_hash != prev:
                return (
                    ChainBreak(
                        "its previous-hash does not match the event before it in its chain",
                        chain,
                        event.seq,
                        event.id,
                    ),
                    position,
                    prev,
                )
            if chain_hash(prev, event.seq, event) != event.hash:
                return (
                    ChainBreak(
                        "its content does not match its hash (edited, moved or reordered)",
                        chain,
                        event.seq,
                        event.id,
                    ),
                    position,
                    prev,
                )
            for checkpoint in expected.get(event.seq, ()):
                if checkpoint.covered()[chain][1] != event.hash:
                    return (
                        ChainBreak(
                            f"it differs from {checkpoint.describe()}: an event up to here was "
                            "changed and the chain re-hashed",
                            chain,
                            event.seq,
                            event.id,
                        ),
                        position,
                        prev,
                    )
            position, prev = event.seq, event.hash
        cursor = rows[-1].seq
    return None, position, prev


def audit_verify(
    *, batch: int = 5000, extra_checkpoints: list[CheckpointRecord] | None = None
) -> ChainBreak | None:
    """Walk every chain; return the first problem, or None. Detects edited
    rows (hash mismatch), deleted or reordered rows (a gap, or a
    prev_hash that is not the hash before), a head that does not match its
    chain's last row (or a chain with events and no head), and, against
    the signed checkpoints (those in the database and `extra_checkpoints`,
    e.g. an exported copy kept elsewhere), a checkpoint forged or altered, a
    chain rewritten below a checkpoint or cut short (a tail or the whole
    chain deleted)."""
    checkpoints = [CheckpointRecord.of(row) for row in AuditCheckpoint.objects.order_by("seq", "id")]
    checkpoints += extra_checkpoints or []
    keys = trusted_keys() if checkpoints else {}
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        problem = checkpoint_problem(checkpoint, keys)
        if problem is not None:
            return ChainBreak(problem)
    # chain -> position -> the checkpoints that name it
    expected: dict[int, dict[int, list[CheckpointRecord]]] = {}
    for checkpoint in checkpoints:
        for chain, (seq, _digest) in checkpoint.covered().items():
            expected.setdefault(chain, {}).setdefault(seq, []).append(checkpoint)
    heads = {head.chain: head for head in AuditHead.objects.all()}
    chains = sorted(set(chains_present()) | set(expected) | {c for c, h in heads.items() if h.last_seq})
    for chain in chains:
        broken, last_seq, last_hash = walk_chain(chain, expected=expected.get(chain), batch=batch)
        if broken is not None:
            return broken
        beyond = [(seq, c) for seq, named in expected.get(chain, {}).items() if seq > last_seq for c in named]
        if beyond:
            seq, latest = max(beyond, key=lambda item: item[0])
            if last_seq == 0:
                reason = (
                    f"chain {chain} has no events but {latest.describe()} covers it up to position "
                    f"{seq} (the chain's events were deleted)"
                )
            else:
                reason = (
                    f"chain {chain} ends at position {last_seq} but {latest.describe()} covers it up to "
                    f"position {seq} (the tail was cut off)"
                )
            return ChainBreak(reason, chain, last_seq + 1)
        head = heads.get(chain)
        if head is None:
            if last_seq:
                return ChainBreak(
                    f"chain {chain} has {last_seq} events but no head row (the head was deleted)", chain
                )
            continue
        if head.last_seq != last_seq or head.last_hash != last_hash:
            return ChainBreak(
                f"the head of chain {chain} names position {head.last_seq} but the chain ends at {last_seq}",
                chain,
                last_seq + 1,
            )
    return None
