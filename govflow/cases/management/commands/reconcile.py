"""reconcile — prints nothing and exits 0 on a consistent database;
otherwise one line per inconsistency, in the configured language (or
--language zh-hans|en), and exit 1."""

from govflow.cases.reconcile import reconcile
from govflow.command_language import TranslatedCommand
from govflow.messages import engine_text


class Command(TranslatedCommand):
    help = "List inconsistencies between cases, tasks, timers, the outbox and the audit trail."

    def handle(self, *args, **options):
        problems = reconcile()
        for line in problems:
            self.stdout.write(engine_text(line))
        if problems:
            raise SystemExit(1)
