"""`manage.py insight_rollup [--rebuild]`: roll up the closed months of the
dashboard's facts that are not yet (the dashboard also does this itself, a
month per request); --rebuild recomputes every rollup from the facts."""

from django.core.management.base import BaseCommand

from govflow.insight.rollup import rollup_advance, rollup_extent, rollup_rebuild


class Command(BaseCommand):
    help = "Roll up the closed months of the dashboard's processing-time facts."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute every rollup from the facts")

    def handle(self, *args, rebuild: bool, **options):
        months = rollup_rebuild() if rebuild else rollup_advance()
        if options["verbosity"] > 0:
            extent = rollup_extent()
            rows = ", ".join(f"{name} {count}" for name, count in extent["rows"].items())
            self.stdout.write(
                f"{months} months rolled up; rolled up until {extent['rolled_until']} ({rows} rows)"
            )
