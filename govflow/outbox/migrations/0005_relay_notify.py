"""The outbox relay's signal: on PostgreSQL an insert into the outbox (and
an admin's retry, which sets a given-up row pending again) NOTIFYs the
channel `govflow_outbox` from inside the writing transaction, so the relay
hears it on commit and never for a rollback. One signal per statement (the
payload is empty: PostgreSQL folds a transaction's identical signals into
one). Other databases have no NOTIFY; the relay polls there."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION govflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('govflow_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_inserted_notify
    AFTER INSERT ON outbox_outboxmessage
    FOR EACH STATEMENT EXECUTE FUNCTION govflow_outbox_notify();
CREATE TRIGGER outbox_pending_again_notify
    AFTER UPDATE OF failed_at ON outbox_outboxmessage
    FOR EACH ROW WHEN (OLD.failed_at IS NOT NULL AND NEW.failed_at IS NULL AND NEW.done_at IS NULL)
    EXECUTE FUNCTION govflow_outbox_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS outbox_pending_again_notify ON outbox_outboxmessage;
DROP TRIGGER IF EXISTS outbox_inserted_notify ON outbox_outboxmessage;
DROP FUNCTION IF EXISTS govflow_outbox_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0004_drop_redundant_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
