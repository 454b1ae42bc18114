"""load_calendar FILE — load (or reload) the years in a working-day calendar
file such as fixtures/calendar/cn.yaml, then give a due date to every timer
that was waiting for one of them."""

from django.core.management.base import BaseCommand, CommandError

from govflow.timers.services import calendar_import_file, timers_reschedule_unscheduled


class Command(BaseCommand):
    help = "Load a working-day calendar file and reschedule timers that had no due date."

    def add_arguments(self, parser):
        parser.add_argument("file", help="calendar YAML file, e.g. fixtures/calendar/cn.yaml")

    def handle(self, *args, file, **options):
        try:
            calendar, years = calendar_import_file(file)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        rescheduled, missing = timers_reschedule_unscheduled(code=calendar.code)
        self.stdout.write(
            f"calendar {calendar.code}: loaded {', '.join(map(str, years)) or 'no years'}; "
            f"{rescheduled} timer(s) rescheduled"
            + (f", {missing} still without a due date (see `manage.py reconcile`)" if missing else "")
        )
