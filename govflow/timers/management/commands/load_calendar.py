"""load_calendar FILE — load (or reload) the years in a working-day calendar
file such as fixtures/calendar/cn.yaml, then recompute every provisional
deadline (one counted over a year that was not loaded) on the new calendar."""

from django.core.management.base import BaseCommand, CommandError

from govflow.cases.recompute import timers_recompute
from govflow.timers.services import calendar_import_file


class Command(BaseCommand):
    help = "Load a working-day calendar file and recompute the provisional deadlines it settles."

    def add_arguments(self, parser):
        parser.add_argument("file", help="calendar YAML file, e.g. fixtures/calendar/cn.yaml")

    def handle(self, *args, file, **options):
        try:
            calendar, years = calendar_import_file(file)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        done = timers_recompute(code=calendar.code)
        self.stdout.write(
            f"calendar {calendar.code}: loaded {', '.join(map(str, years)) or 'no years'}; "
            f"{done.timers} deadline(s) recomputed in {done.cases} case(s)"
            + (f", {done.exact} now exact" if done.exact else "")
            + (f", {done.still_provisional} still provisional" if done.still_provisional else "")
            + (f"; {done.notified} notification(s) sent" if done.notified else "")
        )
