"""reconcile — prints nothing and exits 0 on a consistent database;
otherwise one line per inconsistency and exit 1."""

from django.core.management.base import BaseCommand

from govflow.cases.reconcile import reconcile


class Command(BaseCommand):
    help = "List inconsistencies between cases, tasks, timers, the outbox and the audit trail."

    def handle(self, *args, **options):
        problems = reconcile()
        for line in problems:
            self.stdout.write(line)
        if problems:
            raise SystemExit(1)
