"""Append-only audit events, each chained to the one before by SHA-256.

The trail is N chains (partitions, settings.GOVFLOW_AUDIT_CHAINS), each with
its own AuditHead row: appends to one chain are serialised on its head,
appends to different chains commit in parallel. Each event stores its chain
and its position (`seq`) in it; `id` only orders rows across chains.
`govflow.audit.services.audit_write` is the only writer. docs/audit.md.
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Indexed by audit_by_case (case, id), which also serves lookups by case
    # alone: a second index would be written on every append for nothing.
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_index=False,
    )
    outcome = models.CharField(max_length=16, default="ok")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict)
    # The chain (partition) this event belongs to and its position in it:
    # the hash covers both (chain 0, from before partitioning, as the id).
    chain = models.PositiveSmallIntegerField(default=0)
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    # Not indexed: nothing looks an event up by its hash (verify_audit walks
    # the ids), and two random 64-character keys per append (the unique index
    # and its pattern-ops twin) were the chain's most expensive writes. A
    # duplicated or altered hash breaks the chain, which verify_audit finds.
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["case", "id"], name="audit_by_case"),
            models.Index(fields=["action", "at"], name="audit_by_action"),
        ]
        # Walks one chain in order (verify_audit, checkpoints); a position
        # taken twice is refused by the database, not only found later.
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_position")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"


class AuditHead(models.Model):
    """One row per chain: the position and hash of its newest event. The
    row of chain k has id k + 1 (chain 0's is the single chain's old row)."""

    chain = models.PositiveSmallIntegerField(unique=True, default=0)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain {self.chain} at position {self.last_seq}"


class AuditCheckpoint(models.Model):
    """Every chain's head at one moment, signed with the server's Ed25519
    key. Version 2: `heads` lists each chain's [chain, seq, hash], `head_hash`
    is their Merkle root (govflow.audit.merkle) and `seq` the number of
    events covered (the sum of the positions); the signature covers the root.
    Version 1 (before partitioning): `seq` and `head_hash` are the one
    chain's (chain 0's) head, `heads` is empty. A chain cut short below a
    checkpoint, or a checkpoint whose signature does not verify, is
    reported by verify_audit. Append-only, like the events."""

    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=1)
    heads = models.JSONField(default=list)
    at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["seq"], name="audit_checkpoint_seq")]

    def __str__(self) -> str:
        return f"checkpoint {self.seq} at {self.at:%Y-%m-%d %H:%M:%S}"


class RetentionPurge(models.Model):
    """What the retention purge removed from a closed case: its secret field
    values and/or its attachments (one row per case, updated as each part is
    purged). The case page and the API can tell a purged value from one
    that was never given."""

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="retention_purge")
    secrets_purged_at = models.DateTimeField(null=True, blank=True)
    secret_fields = models.JSONField(default=list)
    attachments_purged_at = models.DateTimeField(null=True, blank=True)
    attachments_removed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"retention purge of case {self.case_id}"
