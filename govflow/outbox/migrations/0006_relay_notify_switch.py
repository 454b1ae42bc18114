"""The outbox relay's signal can be switched off per database or role:
`ALTER DATABASE govflow SET govflow.outbox_notify = 'off'`. A transaction
that NOTIFYs takes a cluster-wide lock from its commit until the commit is
flushed, so notifying writers commit one after the other, never sharing a
WAL flush (docs/deploy.md, "The outbox relay"); an installation whose
writers commit in parallel faster than that runs the relay polling every
few tens of milliseconds instead. Unset or any other value: the insert
NOTIFYs, as migration 0005 made it."""

from django.db import migrations

SWITCHED = """
CREATE OR REPLACE FUNCTION govflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('govflow.outbox_notify', true), '') <> 'off' THEN
        PERFORM pg_notify('govflow_outbox', '');
    END IF;
    RETURN NULL;
END $$;
"""

ALWAYS = """
CREATE OR REPLACE FUNCTION govflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('govflow_outbox', '');
    RETURN NULL;
END $$;
"""


def switched(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SWITCHED)


def always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALWAYS)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0005_relay_notify"),
    ]

    operations = [migrations.RunPython(switched, always, elidable=False)]
