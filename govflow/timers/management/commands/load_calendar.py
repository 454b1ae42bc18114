"""load_calendar FILE — load (or reload) the years in a working-day calendar
file such as fixtures/calendar/cn.yaml, then recompute every provisional
deadline (one counted over a year that was not loaded) on the new calendar."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from govflow.cases.recompute import timers_recompute
from govflow.command_language import TranslatedCommand
from govflow.timers.services import calendar_import_file


class Command(TranslatedCommand):
    help = "Load a working-day calendar file and recompute the provisional deadlines it settles."

    def add_arguments(self, parser):
        parser.add_argument("file", help="calendar YAML file, e.g. fixtures/calendar/cn.yaml")

    def handle(self, *args, file, **options):
        try:
            calendar, years = calendar_import_file(file)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        done = timers_recompute(code=calendar.code)
        line = _(
            "calendar %(code)s: loaded %(years)s; %(timers)s deadline(s) recomputed in %(cases)s case(s)"
        ) % {
            "code": calendar.code,
            "years": ", ".join(map(str, years)) or _("no years"),
            "timers": done.timers,
            "cases": done.cases,
        }
        if done.exact:
            line += _(", %(count)s now exact") % {"count": done.exact}
        if done.still_provisional:
            line += _(", %(count)s still provisional") % {"count": done.still_provisional}
        if done.notified:
            line += _("; %(count)s notification(s) sent") % {"count": done.notified}
        self.stdout.write(line)
