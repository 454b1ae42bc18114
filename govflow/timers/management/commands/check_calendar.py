"""check_calendar [--code cn] [--today YYYY-MM-DD] — whether the loaded
working-day calendar reaches beyond the warning lead time
(GOVFLOW_CALENDAR_WARNING_DAYS). One line; exit 0 when it does, exit 1 when
next year's calendar must be loaded now (for monitoring, like reconcile)."""

from datetime import date

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.command_language import TranslatedCommand
from govflow.timers.selectors import calendar_codes, calendar_coverage


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--today: %(value)r is not a date (YYYY-MM-DD)") % {"value": value}) from None


class Command(TranslatedCommand):
    help = "Check that the working-day calendar is loaded beyond the warning lead time; exit 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("--code", default=settings.GOVFLOW_DEFAULT_CALENDAR, help="calendar (default cn)")
        parser.add_argument("--today", help="check as of this date, YYYY-MM-DD (default: today, local time)")

    def handle(self, *args, code, today, **options):
        today = _iso_date(today) if today else timezone.localdate()
        if code not in calendar_codes():
            raise CommandError(_("calendar %(code)s: no such calendar") % {"code": code})
        coverage = calendar_coverage(code, today=today)
        if not coverage.is_warning:
            self.stdout.write(
                _("calendar %(code)s: loaded through %(last)s, %(left)s days left")
                % {"code": code, "last": coverage.last_day.isoformat(), "left": coverage.days_left}
            )
            return
        if not coverage.loaded_any:
            self.stdout.write(
                _(
                    "calendar %(code)s: no year is loaded; load the State Council notice with load_calendar "
                    "(the shipped years: fixtures/calendar/%(code)s.yaml)"
                )
                % {"code": code}
            )
            raise SystemExit(1)
        if coverage.last_day is not None:
            left = _("%(left)s days left (warning from %(lead)s days)") % {
                "left": coverage.days_left,
                "lead": coverage.lead_days,
            }
        else:
            left = _("today is not covered: the loaded calendar ended %(ago)s days ago") % {
                "ago": -coverage.days_left
            }
        self.stdout.write(
            _(
                "calendar %(code)s: the %(year)s calendar is not loaded; %(left)s — "
                "load the State Council notice with load_calendar"
            )
            % {"code": code, "year": coverage.missing_year, "left": left}
        )
        raise SystemExit(1)
