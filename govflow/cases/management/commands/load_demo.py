"""load_demo — (idempotently) the demo departments, users, working-day
calendar, templates and a few cases in different states."""

from django.core.management.base import BaseCommand, CommandError

from govflow.demo import DEMO_PASSWORD, load_demo
from govflow.errors import GovflowError


class Command(BaseCommand):
    help = "Load the demo departments, users, calendar, templates and cases (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password for newly created demo users")

    def handle(self, *args, password, **options):
        try:
            users = load_demo(password=password)
        except (GovflowError, ValueError) as exc:
            raise CommandError(f"demo data could not be loaded: {getattr(exc, 'message', exc)}") from exc
        self.stdout.write(f"demo data loaded: {len(users)} users; password for new users: {password}")
