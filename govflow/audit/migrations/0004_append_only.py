"""Audit events and checkpoints are append-only on PostgreSQL.

A row trigger refuses UPDATE and DELETE whatever role the application
connects as (only a role that may drop or disable the trigger, the table
owner or a superuser, gets past it; docs/security.md sets up a separate
owner role). There is deliberately no TRUNCATE trigger: Django's flush and
pytest-django's transactional tests empty every table with TRUNCATE; the
application role is kept from truncating by privileges instead (REVOKE
below, and the grants in docs/security.md). On SQLite this does nothing.
"""

import os

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditcheckpoint")

FORWARD = """
CREATE OR REPLACE FUNCTION govflow_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'govflow: % on % is refused: audit rows are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FORWARD)  # no parameters: the % in RAISE stays as written
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION govflow_audit_append_only()"
        )
        schema_editor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    # The role the application runs as, when it is not the role running
    # migrations (the owner): it may read and append, never change.
    app_role = os.environ.get("GOVFLOW_DB_APP_ROLE", "").strip()
    if app_role:
        quoted = schema_editor.quote_name(app_role)
        for table in TABLES:
            schema_editor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}")
            schema_editor.execute(f"GRANT SELECT, INSERT ON {table} TO {quoted}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS govflow_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_checkpoints_retention")]
    operations = [migrations.RunPython(forward, backward)]
