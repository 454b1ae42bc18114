"""`manage.py insight_project`: bring the dashboard's facts up to the
committed audit trail now (beat does it every few seconds)."""

from django.core.management.base import BaseCommand

from govflow.insight.facts import facts_project


class Command(BaseCommand):
    help = "Compute the processing-time facts of everything committed since the last projection."

    def handle(self, *args, **options):
        events = facts_project()
        if options["verbosity"] > 0:
            self.stdout.write(f"{events} audit events projected")
