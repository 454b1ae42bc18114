"""The facts are projected from the committed audit trail instead of being
written inside each case's transaction (govflow.insight.facts). Until now
they were written with every change, so the marks start at each chain's
head: everything up to it already has its facts."""

from django.db import migrations, models


def marks_at_heads(apps, schema_editor):
    AuditHead = apps.get_model("audit", "AuditHead")
    FactsMark = apps.get_model("insight", "FactsMark")
    FactsMark.objects.bulk_create(
        [FactsMark(chain=head.chain, seq=head.last_seq) for head in AuditHead.objects.all()]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_partitioned_chains"),
        ("insight", "0002_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="FactsMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain", models.PositiveSmallIntegerField(unique=True)),
                ("seq", models.BigIntegerField(default=0)),
                ("event_at", models.DateTimeField(blank=True, null=True)),
                ("projected_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"verbose_name": "facts mark"},
        ),
        migrations.RunPython(marks_at_heads, migrations.RunPython.noop),
    ]
