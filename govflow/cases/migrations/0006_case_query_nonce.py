import secrets

from django.db import migrations, models

import govflow.cases.models


def fill_nonces(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    for pk in Case.objects.values_list("pk", flat=True).iterator():
        Case.objects.filter(pk=pk).update(query_nonce=secrets.token_hex(16))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_provisional_deadlines"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="query_nonce",
            field=models.CharField(max_length=32, blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_nonces, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="case",
            name="query_nonce",
            field=models.CharField(
                max_length=32, default=govflow.cases.models.new_query_nonce, editable=False
            ),
        ),
    ]
