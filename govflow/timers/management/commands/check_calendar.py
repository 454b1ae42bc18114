"""check_calendar [--code cn] [--today YYYY-MM-DD] — whether the loaded
working-day calendar reaches beyond the warning lead time
(GOVFLOW_CALENDAR_WARNING_DAYS). One line; exit 0 when it does, exit 1 when
next year's calendar must be loaded now (for monitoring, like reconcile)."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from govflow.timers.selectors import calendar_codes, calendar_coverage

ADVICE = "load the State Council notice with load_calendar"


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Check that the working-day calendar is loaded beyond the warning lead time; exit 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("--code", default=settings.GOVFLOW_DEFAULT_CALENDAR, help="calendar (default cn)")
        parser.add_argument("--today", help="check as of this date, YYYY-MM-DD (default: today, local time)")

    def handle(self, *args, code, today, **options):
        today = _iso_date(today) if today else timezone.localdate()
        if code not in calendar_codes():
            raise CommandError(f"calendar {code}: no such calendar")
        coverage = calendar_coverage(code, today=today)
        if not coverage.is_warning:
            self.stdout.write(
                f"calendar {code}: loaded through {coverage.last_day.isoformat()}, "
                f"{coverage.days_left} days left"
            )
            return
        if coverage.last_day is not None:
            left = f"{coverage.days_left} days left (warning from {coverage.lead_days} days)"
        else:
            left = f"today is not covered: the loaded calendar ended {-coverage.days_left} days ago"
        self.stdout.write(
            f"calendar {code}: the {coverage.missing_year} calendar is not loaded; {left} — {ADVICE}"
        )
        raise SystemExit(1)
