"""verify_audit against tampering by SQL: edited, deleted, reordered rows,
a tail cut off (with the head row fixed up), a chain re-hashed below a
signed checkpoint, forged checkpoints, and checkpoints deleted too (caught by
an exported copy). These events have no case: they are in chain 0
(tests/audit/test_partitions.py tampers with the other chains)."""

import json

import pytest
from django.db import DatabaseError, connection, transaction

from govflow.audit.checkpoints import checkpoint_create, checkpoints_export
from govflow.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from govflow.audit.services import chain_hash

from .conftest import as_database_owner, run, write_events

pytestmark = pytest.mark.django_db


def test_an_intact_chain_verifies():
    write_events(3)
    code, out = run("verify_audit")
    assert (code, out.strip()) == (0, "audit chain intact")


def test_an_edited_row_is_named():
    _first, second, _third = write_events(3)
    with as_database_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'failed' WHERE id = %s", [second])
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken at event {second} (" in out
    assert "edited" in out


def test_an_edited_hash_is_caught_by_the_next_event():
    _first, second, third = write_events(3)
    event = AuditEvent.objects.get(pk=second)
    forged = chain_hash(event.prev_hash, event.seq, AuditEvent(**{**_fields(event), "outcome": "failed"}))
    with as_database_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET outcome = 'failed', hash = %s WHERE id = %s", [forged, second]
        )
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken at event {third} (" in out


def test_a_deleted_row_is_named():
    _first, second, _third = write_events(3)
    position = AuditEvent.objects.get(pk=second).seq
    with as_database_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [second])
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken in chain 0 at position {position}: position {position} of chain 0 is missing" in out


def test_reordered_rows_are_named():
    _first, second, third = write_events(3)
    # The chain's order is its positions: swap two events' positions.
    b, c = AuditEvent.objects.get(pk=second).seq, AuditEvent.objects.get(pk=third).seq
    with as_database_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [second])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [b, third])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [c, second])
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken at event {third} (chain 0, position {b}):" in out


def test_a_cut_off_tail_is_caught_by_the_signed_checkpoint(signing_key):
    ids = write_events(4)
    checkpoint = checkpoint_create()
    last = AuditEvent.objects.get(pk=ids[-1])
    assert checkpoint.heads == [[0, last.seq, last.hash]]
    cut = AuditEvent.objects.get(pk=ids[2]).seq
    with as_database_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id >= %s", [ids[2]])
        survivor = AuditEvent.objects.get(pk=ids[1])
        cursor.execute(
            "UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE chain = 0",
            [survivor.seq, survivor.hash],
        )
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken in chain 0 at position {cut}: chain 0 ends at position {cut - 1}" in out
    assert "the tail was cut off" in out


def test_a_chain_rehashed_below_a_checkpoint_is_caught(signing_key):
    ids = write_events(3)
    checkpoint_create()
    # Rewrite the middle event and re-hash everything after it, as someone
    # who knows the hash scheme (but not the signing key) would.
    with as_database_owner() as cursor:
        prev = AuditEvent.objects.get(pk=ids[0]).hash
        for event in AuditEvent.objects.filter(id__gte=ids[1]).order_by("id"):
            if event.id == ids[1]:
                event.outcome = "failed"
            event.prev_hash = prev
            event.hash = chain_hash(prev, event.seq, event)
            cursor.execute(
                "UPDATE audit_auditevent SET outcome = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.outcome, event.prev_hash, event.hash, event.id],
            )
            prev = event.hash
        cursor.execute("UPDATE audit_audithead SET last_hash = %s WHERE chain = 0", [prev])
    code, out = run("verify_audit")
    assert code == 1
    assert f"broken at event {ids[-1]} (" in out
    assert "re-hashed" in out


def test_a_forged_checkpoint_is_refused(signing_key, monkeypatch):
    write_events(2)
    checkpoint = checkpoint_create()
    with as_database_owner() as cursor:
        cursor.execute(
            "UPDATE audit_auditcheckpoint SET signature = %s WHERE id = %s",
            [checkpoint.signature[::-1], checkpoint.pk],
        )
    code, out = run("verify_audit")
    assert code == 1
    assert "broken in its checkpoints: the checkpoint signed at" in out
    assert "does not verify" in out


def test_a_checkpoint_signed_by_another_key_is_refused(signing_key, monkeypatch):
    from .conftest import new_seed

    write_events(2)
    monkeypatch.setenv("GOVFLOW_AUDIT_SIGNING_KEY", new_seed())
    checkpoint_create()
    monkeypatch.setenv("GOVFLOW_AUDIT_SIGNING_KEY", signing_key)
    code, out = run("verify_audit")
    assert code == 1
    assert "broken in its checkpoints:" in out
    assert "unknown key" in out


def test_a_retired_key_still_verifies_when_trusted(signing_key, monkeypatch):
    from govflow.audit.signing import parse_private_key, public_text

    from .conftest import new_seed

    write_events(2)
    checkpoint_create()
    monkeypatch.setenv("GOVFLOW_AUDIT_SIGNING_KEY", new_seed())
    monkeypatch.setenv("GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS", public_text(parse_private_key(signing_key)))
    assert run("verify_audit")[0] == 0


def test_an_exported_copy_exposes_deleting_rows_and_checkpoints_together(signing_key, tmp_path):
    ids = write_events(3)
    checkpoint_create()
    exported = tmp_path / "checkpoints.jsonl"
    exported.write_text("\n".join(checkpoints_export()) + "\n", encoding="utf-8")
    with as_database_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [ids[-1]])
        survivor = AuditEvent.objects.get(pk=ids[-2])
        cursor.execute(
            "UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE chain = 0",
            [survivor.seq, survivor.hash],
        )
    code, out = run("verify_audit", "--checkpoints", str(exported))
    assert code == 1
    assert f"broken in chain 0 at position {survivor.seq + 1}:" in out
    assert str(exported) in out


def test_a_damaged_checkpoint_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 1}\n', encoding="utf-8")
    code, out = run("verify_audit", "--checkpoints", str(bad))
    assert code == 1
    assert f"{bad}:1: not a checkpoint line" in out


def test_checkpoints_export_as_json_lines(signing_key):
    ids = write_events(2)
    made = checkpoint_create()
    lines = list(checkpoints_export())
    last = AuditEvent.objects.get(pk=ids[-1])
    assert json.loads(lines[-1]) == {
        "seq": last.seq,
        "version": 2,
        "heads": [[0, last.seq, last.hash]],
        "head_hash": made.head_hash,
        "at": made.at.isoformat(timespec="microseconds"),
        "key_id": made.key_id,
        "algorithm": "Ed25519",
        "signature": made.signature,
    }
    _code, out = run("export_audit_checkpoints")
    assert out.strip().splitlines()[-1] == lines[-1]


@pytest.mark.postgres
def test_the_application_cannot_update_or_delete_audit_rows():
    (event_id,) = write_events(1)
    for statement in (
        "UPDATE audit_auditevent SET outcome = 'failed' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event_id])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event_id).delete()
    assert AuditEvent.objects.get(pk=event_id).outcome == "ok"
    # The head row is not an audit row: appending keeps moving it.
    (next_id,) = write_events(1)
    assert AuditHead.objects.get(chain=0).last_seq == AuditEvent.objects.get(pk=next_id).seq


@pytest.mark.postgres
def test_checkpoints_cannot_be_changed_either(signing_key):
    write_events(1)
    checkpoint = checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(seq=0)


def _fields(event):
    return {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"opinion": "材料齐全，同意。", "nested": {"b": [1, 2.5, None], "a": True}, "z": ""},
        {"quote": 'say "hi"\n\ttab \\ back', "control": "\u0000\u001f", "emoji": "🏛"},
    ],
)
def test_the_databases_text_for_an_event_is_the_verifiers(data):
    """What the PostgreSQL append function hashes (prefix + id + suffix) is
    byte for byte the canonical form verify_audit recomputes."""
    from datetime import UTC, datetime

    from govflow.audit.services import PendingAudit, canonical, canonical_parts

    event = PendingAudit(
        action="TASK_COMPLETED",
        at=datetime(2026, 3, 3, 2, 0, 0, 123456, tzinfo=UTC),
        actor_id=7,
        object_type="task",
        object_id="t-1",
        case_id=None,
        data=data,
        source_ip="2001:db8::1",
    )
    prefix, suffix = canonical_parts(event)
    for event_id in (1, 42, 10**12):
        assert (prefix + str(event_id) + suffix).encode() == canonical(event_id, event)
    prefix, suffix = canonical_parts(event, chain=3)
    assert (prefix + "42" + suffix).encode() == canonical(42, event, 3) != canonical(42, event)


def test_events_with_chinese_text_and_a_source_ip_written_in_one_call_verify():
    from django.utils import timezone

    from govflow.audit.services import PendingAudit, audit_write

    with transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action="TASK_COMPLETED",
                    at=timezone.now(),
                    object_type="task",
                    object_id=str(n),
                    data={"opinion": f"同意（第{n}条）", "n": n, "list": [n, {"k": "v"}]},
                    source_ip="10.0.0.1" if n % 2 else None,
                )
                for n in range(5)
            ]
        )
    write_events(2)
    code, out = run("verify_audit")
    assert (code, out.strip()) == (0, "audit chain intact")
    head = AuditHead.objects.get(chain=0)
    assert head.last_seq == AuditEvent.objects.order_by("-id").first().seq
    assert head.last_hash == AuditEvent.objects.order_by("-id").first().hash
