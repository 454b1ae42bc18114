"""Migration 0007 (one chain to N): events written by the single chain and
a checkpoint it signed stay verifiable as chain 0, new events go to their
partitions, and the next checkpoint covers chain 0 from where the old one
left off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from govflow.audit.checkpoints import checkpoint_create
from govflow.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from govflow.audit.services import GENESIS, PendingAudit, audit_write, chain_hash
from govflow.audit.signing import checkpoint_message, sign
from govflow.cases.services import case_create

from .conftest import as_database_owner, made_up_actions, run

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("audit", "0006_drop_redundant_indexes")
AT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _write_as_the_single_chain(count: int) -> list[tuple[int, str]]:
    """What 0005's append did: ids 1.. from the one head, hashed over the id,
    the head row (id 1) moved; then a version 1 checkpoint of the head."""
    jsonb = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    written, prev = [], GENESIS
    with connection.cursor() as cursor:
        for event_id in range(1, count + 1):
            event = PendingAudit(
                action="TEST_EVENT",
                at=AT + timedelta(seconds=event_id),
                object_type="test",
                object_id=str(event_id),
                data={"n": event_id, "text": "同意"},
            )
            digest = chain_hash(prev, event_id, event)
            cursor.execute(
                "INSERT INTO audit_auditevent (id, at, action, object_type, object_id, outcome, data, "
                f"prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, {jsonb}, %s, %s)",
                [
                    event_id,
                    event.at,
                    event.action,
                    "test",
                    str(event_id),
                    "ok",
                    json.dumps(event.data),
                    prev,
                    digest,
                ],
            )
            written.append((event_id, digest))
            prev = digest
        cursor.execute("UPDATE audit_audithead SET last_id = %s, last_hash = %s WHERE id = 1", [count, prev])
        key_id, signature = sign(checkpoint_message(count, prev, AT))
        cursor.execute(
            "INSERT INTO audit_auditcheckpoint (seq, head_hash, at, key_id, signature) "
            "VALUES (%s, %s, %s, %s, %s)",
            [count, prev, AT, key_id, signature],
        )
    return written


def _empty_audit_tables() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "TRUNCATE audit_auditevent, audit_auditcheckpoint, audit_audithead RESTART IDENTITY"
            )
        else:
            for table in ("audit_auditevent", "audit_auditcheckpoint", "audit_audithead"):
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("DELETE FROM sqlite_sequence WHERE name LIKE 'audit_%'")
        cursor.execute(
            "INSERT INTO audit_audithead (id, chain, last_seq, last_hash) VALUES (1, 0, 0, %s)", [GENESIS]
        )


def test_the_single_chain_stays_verifiable_as_chain_0(applicant, settings, signing_key):
    settings.GOVFLOW_AUDIT_CHAINS = 4
    _empty_audit_tables()
    _migrate([BEFORE])
    try:
        written = _write_as_the_single_chain(5)
    finally:
        _migrate(_latest())
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.id, e.chain, e.seq, e.hash) for e in events] == [(i, 0, i, h) for i, h in written]
    head = AuditHead.objects.get(chain=0)
    assert (head.pk, head.last_seq, head.last_hash) == (1, 5, written[-1][1])
    (old,) = AuditCheckpoint.objects.all()
    assert (old.version, old.heads) == (1, [])
    assert run("verify_audit") == (0, "audit chain intact\n")

    # New events: ids from the sequence, past the old ones; positions from
    # their chain's head.
    case = case_create(applicant=applicant, template_code="business_setup")
    with made_up_actions():
        audit_write([PendingAudit(action="TEST_EVENT", at=AT, case_id=case.pk)])
    newest = AuditEvent.objects.order_by("-id").first()
    assert newest.id > 5
    assert newest.chain == case.pk % 4
    if newest.chain:
        assert newest.seq == AuditEvent.objects.filter(chain=newest.chain).count()
    made = checkpoint_create()
    assert made.version == 2
    assert [0, AuditHead.objects.get(chain=0).last_seq] == made.heads[0][:2]
    assert run("verify_audit") == (0, "audit chain intact\n")

    # The old checkpoint alone still guards chain 0: cut its tail, fix the head.
    with transaction.atomic(), as_database_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE id = %s", [made.pk])
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = 0 AND seq > 3")
        cursor.execute(
            "UPDATE audit_audithead SET last_seq = 3, last_hash = %s WHERE chain = 0", [written[2][1]]
        )
    code, out = run("verify_audit")
    assert code == 1
    assert "chain 0 ends at position 3 but the checkpoint signed at 2026-03-03T02:00:00+00:00" in out
