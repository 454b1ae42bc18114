"""The audit trail as N chains, each with its own head (docs/audit.md).

Existing events stay where they are, as chain 0: their position (`seq`) is
their id, and their hashes, which covered the id, still verify unchanged;
the one head row becomes chain 0's head, and version 1 checkpoints stay
valid as checkpoints of chain 0. New events take their ids from the table's
sequence (moved past the highest id here) and their positions from their
chain's head. Filling `seq` rewrites each audit row once (on PostgreSQL
with the append-only trigger switched off for that statement: migrations
run as the table's owner); plan the migration's time on a large trail.

The append function now takes the chain: it locks that chain's head (made
on first use, with id chain + 1), numbers and hashes the events from it and
moves it, as 0005's did for the one chain.
"""

import importlib

from django.db import migrations, models

APPEND = r"""
CREATE OR REPLACE FUNCTION govflow_audit_append(p_chain integer, p_events jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_prev text;
    v_hash text;
    e jsonb;
BEGIN
    SELECT last_seq, last_hash INTO v_seq, v_prev FROM audit_audithead WHERE chain = p_chain FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_audithead (id, chain, last_seq, last_hash) VALUES (p_chain + 1, p_chain, 0, repeat('0', 64))
            ON CONFLICT DO NOTHING;
        SELECT last_seq, last_hash INTO v_seq, v_prev FROM audit_audithead WHERE chain = p_chain FOR UPDATE;
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        v_seq := v_seq + 1;
        v_hash := encode(
            sha256(convert_to(v_prev || E'\n' || (e->>'before') || v_seq::text || (e->>'after'), 'UTF8')),
            'hex');
        INSERT INTO audit_auditevent (at, actor_id, on_behalf_of_id, action, object_type, object_id,
                                      case_id, outcome, source_ip, data, chain, seq, prev_hash, hash)
        VALUES ((e->>'at')::timestamptz, (e->>'actor')::bigint, (e->>'on_behalf_of')::bigint,
                e->>'action', e->>'object_type', e->>'object_id', (e->>'case')::bigint, e->>'outcome',
                (e->>'source_ip')::inet, e->'data', p_chain, v_seq, v_prev, v_hash);
        v_prev := v_hash;
    END LOOP;
    UPDATE audit_audithead SET last_seq = v_seq, last_hash = v_prev WHERE chain = p_chain;
    RETURN v_seq;
END
$$;
"""

SINGLE_CHAIN_APPEND_DROP = "DROP FUNCTION IF EXISTS govflow_audit_append(jsonb);"


def fill_positions(apps, schema_editor):
    """Chain 0's positions are the ids the single chain hashed."""
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cursor.execute("UPDATE audit_auditevent SET seq = id WHERE seq IS NULL")
        if vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")
            # The single chain wrote its ids itself; from now on the sequence does.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), "
                "COALESCE((SELECT MAX(id) FROM audit_auditevent), 0) + 1, false)"
            )


def functions_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(SINGLE_CHAIN_APPEND_DROP)
            cursor.execute(APPEND)


def functions_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        single_chain = importlib.import_module("govflow.audit.migrations.0005_append_function")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP FUNCTION IF EXISTS govflow_audit_append(integer, jsonb);")
            cursor.execute(single_chain.FORWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_drop_redundant_indexes")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(fill_positions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_chain_position"),
        ),
        migrations.RenameField(model_name="audithead", old_name="last_id", new_name="last_seq"),
        migrations.AddField(
            model_name="audithead",
            name="chain",
            field=models.PositiveSmallIntegerField(default=0, unique=True),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="heads",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(functions_forward, functions_backward),
    ]
