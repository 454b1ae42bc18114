"""The chain's append as one PostgreSQL function (govflow.audit.services).

The application computes each event's canonical text (all but its id, which
only the head knows); the function takes the head's lock, numbers the
events, hashes each with SHA-256 over the previous hash and the canonical
text, inserts them and moves the head, in one statement whose answer nobody
waits for. The hashes are the ones verify_audit recomputes in Python. On
SQLite the application does the same itself.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION govflow_audit_append(p_events jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_prev text;
    v_hash text;
    e jsonb;
BEGIN
    SELECT last_id, last_hash INTO v_id, v_prev FROM audit_audithead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_audithead (id, last_id, last_hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        SELECT last_id, last_hash INTO v_id, v_prev FROM audit_audithead WHERE id = 1 FOR UPDATE;
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        v_id := v_id + 1;
        v_hash := encode(
            sha256(convert_to(v_prev || E'\n' || (e->>'before') || v_id::text || (e->>'after'), 'UTF8')),
            'hex');
        INSERT INTO audit_auditevent (id, at, actor_id, on_behalf_of_id, action, object_type, object_id,
                                      case_id, outcome, source_ip, data, prev_hash, hash)
        VALUES (v_id, (e->>'at')::timestamptz, (e->>'actor')::bigint, (e->>'on_behalf_of')::bigint,
                e->>'action', e->>'object_type', e->>'object_id', (e->>'case')::bigint, e->>'outcome',
                (e->>'source_ip')::inet, e->'data', v_prev, v_hash);
        v_prev := v_hash;
    END LOOP;
    UPDATE audit_audithead SET last_id = v_id, last_hash = v_prev WHERE id = 1;
    RETURN v_id;
END
$$;
"""

BACKWARD = "DROP FUNCTION IF EXISTS govflow_audit_append(jsonb);"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_only")]
    operations = [migrations.RunPython(forward, backward)]
