"""rotate_data_key — seal every case's secret values under the current keys.

After putting a new key first in GOVFLOW_DATA_KEYS (the old ones after it),
or changing GOVFLOW_DATA_HMAC_KEY, run this; when it reports that no case
still uses an old key, remove that key. Safe to run again or to interrupt:
rows already sealed under the current keys are skipped (docs/security.md).
"""

from django.core.management.base import BaseCommand, CommandError

from govflow.cases.resealing import cases_reseal, data_key_rotate
from govflow.security.crypto import DataKeyError, generate_key


class Command(BaseCommand):
    help = "Re-encrypt every case's secret field values under the current data key (batched, resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="cases per transaction (default 500)")
        parser.add_argument("--after", type=int, default=0, help="start after this case id (to resume)")
        parser.add_argument(
            "--dry-run", action="store_true", help="count the cases that need resealing; change nothing"
        )
        parser.add_argument(
            "--generate", action="store_true", help="print a new random key and exit (nothing is changed)"
        )

    def handle(self, *args, **options):
        if options["generate"]:
            self.stdout.write(generate_key())
            return
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000")
        try:
            if options["dry_run"]:
                report = cases_reseal(batch_size=options["batch_size"], after=options["after"], dry_run=True)
            else:
                report = data_key_rotate(batch_size=options["batch_size"], after=options["after"])
        except DataKeyError as exc:
            raise CommandError(exc.message) from exc
        verb = "would reseal" if options["dry_run"] else "resealed"
        self.stdout.write(
            f"{verb} {report.resealed} of {report.examined} case(s) under data key {report.key_id}"
            f" (last case id {report.last_id})"
        )
        old = {key: count for key, count in report.keys_in_use.items() if key != report.key_id}
        if options["dry_run"]:
            for key, count in sorted(old.items()):
                self.stdout.write(f"  {count} case(s) still hold values sealed with data key {key}")
        elif old:
            self.stdout.write(
                "no case uses the older key(s) "
                + ", ".join(sorted(old))
                + " any more; remove them from GOVFLOW_DATA_KEYS when every process runs with the new list"
            )
