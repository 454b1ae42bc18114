"""`manage.py insight_backfill`: compute the dashboard's facts for cases and
tasks that have none (cases from before the insight app was installed).
Idempotent: rows that exist are kept."""

from django.core.management.base import BaseCommand

from govflow.insight.facts import facts_backfill


class Command(BaseCommand):
    help = "Compute missing processing-time facts of past cases and tasks."

    def handle(self, *args, **options):
        cases, tasks = facts_backfill()
        if options["verbosity"] > 0:
            self.stdout.write(f"{cases} case facts and {tasks} task facts written")
