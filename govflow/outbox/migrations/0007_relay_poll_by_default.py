"""The outbox insert no longer NOTIFYs unless asked to: the relay polls
every 0.05 s by default. A notifying transaction holds a cluster-wide lock
from its commit until its commit is flushed, so notifying writers never
share a WAL flush: measured side by side with a relay running
(bench/relay_modes.py), writers committed 30% (1), 54% (2) and 136% (4)
more one-row outbox transactions a second with the relay polling, for a
row waiting about 35 ms (p50) instead of about 15 ms (docs/deploy.md, "The
outbox relay"). `ALTER DATABASE govflow SET govflow.outbox_notify = 'on'`
brings the signal back, for installations whose writers seldom commit at
once and who want the shorter wait."""

from django.db import migrations

OPT_IN = """
CREATE OR REPLACE FUNCTION govflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('govflow.outbox_notify', true), '') = 'on' THEN
        PERFORM pg_notify('govflow_outbox', '');
    END IF;
    RETURN NULL;
END $$;
"""

OPT_OUT = """
CREATE OR REPLACE FUNCTION govflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('govflow.outbox_notify', true), '') <> 'off' THEN
        PERFORM pg_notify('govflow_outbox', '');
    END IF;
    RETURN NULL;
END $$;
"""


def opt_in(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OPT_IN)


def opt_out(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OPT_OUT)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0006_relay_notify_switch"),
    ]

    operations = [migrations.RunPython(opt_in, opt_out, elidable=False)]
