"""Signing checkpoints: only when the chain moved, never over a broken
chain, from the environment or a key file; the beat job; and the append-only
trigger leaves Django's flush (TRUNCATE) working."""

import stat

import pytest
from django.core.management import call_command

from govflow.audit.checkpoints import ChainNotIntact, checkpoint_create
from govflow.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from govflow.audit.signing import SigningKeyMissing

from .conftest import as_database_owner, run, write_events


@pytest.mark.django_db
def test_a_checkpoint_is_signed_only_when_the_chain_moved(signing_key):
    write_events(2)
    first = checkpoint_create()
    assert checkpoint_create() is None
    write_events(1)
    second = checkpoint_create()
    assert second.seq == first.seq + 1
    assert run("verify_audit")[0] == 0


@pytest.mark.django_db
def test_no_checkpoint_over_a_broken_chain(signing_key):
    ids = write_events(3)
    with as_database_owner() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'failed' WHERE id = %s", [ids[1]])
    before = AuditCheckpoint.objects.count()
    with pytest.raises(ChainNotIntact):
        checkpoint_create()
    assert AuditCheckpoint.objects.count() == before
    code, out = run("audit_checkpoint")
    assert code == 1
    assert f"broken at event {ids[1]}" in out


@pytest.mark.django_db
def test_without_a_key_the_command_says_how_to_make_one(monkeypatch, settings, tmp_path):
    monkeypatch.delenv("GOVFLOW_AUDIT_SIGNING_KEY", raising=False)
    settings.GOVFLOW_AUDIT_KEY_FILE = tmp_path / "none.pem"
    write_events(1)
    with pytest.raises(SigningKeyMissing):
        checkpoint_create()
    code, out = run("audit_checkpoint")
    assert code == 1
    assert "audit_keygen" in out


@pytest.mark.django_db
def test_keygen_writes_a_private_key_file_and_refuses_to_overwrite(monkeypatch, settings, tmp_path):
    monkeypatch.delenv("GOVFLOW_AUDIT_SIGNING_KEY", raising=False)
    path = tmp_path / "keys" / "audit-signing.pem"
    settings.GOVFLOW_AUDIT_KEY_FILE = path
    code, out = run("audit_keygen")
    assert code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "public key:" in out
    with pytest.raises(Exception, match="--rotate"):
        call_command("audit_keygen")
    before = path.read_bytes()
    code, out = run("audit_keygen", "--if-missing")  # what `make run` calls every time
    assert code == 0
    assert "nothing to do" in out
    assert path.read_bytes() == before
    write_events(1)
    assert checkpoint_create() is not None
    old = path.read_bytes()
    code, out = run("audit_keygen", "--rotate")
    assert path.read_bytes() != old
    assert "retired public key" in out


@pytest.mark.django_db
def test_the_beat_job_signs_checkpoints(signing_key):
    from govflow.audit.tasks import checkpoint
    from govflow.celery import app

    assert "govflow.audit.checkpoint" in {entry["task"] for entry in app.conf.beat_schedule.values()}
    write_events(1)
    assert checkpoint() == sum(head.last_seq for head in AuditHead.objects.all())
    assert checkpoint() is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_audit_tables(base_data, signing_key):
    """pytest-django's transactional tests and `manage.py flush` TRUNCATE
    every table; the append-only trigger is a row trigger and lets them."""
    write_events(2)
    checkpoint_create()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.filter(action="TEST_EVENT").exists()
    assert not AuditCheckpoint.objects.exists()
    # The chain starts again from its genesis (anything flush re-creates on
    # post_migrate and audits is chained from there too).
    write_events(1)
    assert AuditEvent.objects.order_by("id").first().seq == 1
    assert AuditHead.objects.get(chain=0).last_seq == AuditEvent.objects.order_by("-id").first().seq
    assert run("verify_audit")[0] == 0
