"""Case.data seals secret values (govflow.cases.secrets).

Existing rows are sealed here, a batch at a time, each batch committed on
its own (the migration is not atomic, so a large table is not locked whole
and an interrupted run resumes: rows already sealed are skipped). The keys
must be set when it runs (system check govflow.E301). `manage.py
rotate_data_key` does the same work later, audited.

On PostgreSQL a GIN index on the sealed values' keyed hashes serves
`case_find_by_secret`; it is built CONCURRENTLY, so writes go on meanwhile.
It is not part of the model state (an expression over jsonpath that SQLite
does not have).
"""

from django.db import migrations

import govflow.cases.resealing
import govflow.cases.secrets

INDEX = "case_secret_hashes"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("cases", "Case")._meta.db_table)
    hashes = govflow.cases.secrets.HASHES_SQL.format(data=schema_editor.quote_name("data"))
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} USING gin ({hashes} jsonb_path_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


def seal_existing(apps, schema_editor):
    report = govflow.cases.resealing.cases_reseal(batch_size=500)
    if report.resealed:
        print(f"\n  sealed the secret values of {report.resealed} of {report.examined} cases")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0002_task_remind_at"),
        ("processes", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="data",
            field=govflow.cases.secrets.SecretDataField(default=dict, verbose_name="form data"),
        ),
        migrations.RunPython(seal_existing, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_index, drop_index),
    ]
