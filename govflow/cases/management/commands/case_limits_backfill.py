"""`manage.py case_limits_backfill`: start the promise and statutory-limit
timers of open cases accepted before case-level limits existed
(govflow.cases.limits_backfill). Idempotent: cases that have them are kept."""

from django.core.management.base import BaseCommand

from govflow.cases.limits_backfill import limits_backfill


class Command(BaseCommand):
    help = "Start the case-level limits (承诺时限, 法定时限) of open accepted cases that have none."

    def handle(self, *args, **options):
        done = limits_backfill()
        if options["verbosity"] > 0:
            self.stdout.write(
                f"{done.cases} case(s): {done.timers} limit timer(s) started, "
                f"{done.passed} already passed (recorded, nobody notified)"
            )
