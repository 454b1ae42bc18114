"""`manage.py seed_history --cases N [--seed S] [--since DATE]`: past cases
with realistic working-day durations (see govflow.insight.seeding).

Additive: every run adds N cases (references starting with HIS)."""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from govflow.insight.seeding import SeedError, seed_history


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: {value!r} is not a date written as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Add N past cases of the shipped services with realistic working-day durations (demo data)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="how many cases to add")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable history")
        parser.add_argument(
            "--since", type=_date, default=None, help="first submission day (default: start of the calendar)"
        )
        parser.add_argument("--batch", type=int, default=1000, help="cases per transaction")

    def handle(self, *args, cases: int, seed, since, batch: int, **options):
        if cases < 0:
            raise CommandError("--cases must be zero or more")
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        verbose = options["verbosity"] > 0
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if verbose and total >= 5000 and (done % 10_000 == 0 or done == total):
                self.stderr.write(f"  {done}/{total} cases")

        try:
            result = seed_history(cases=cases, seed=seed, since=since, batch=batch, progress=progress)
        except SeedError as exc:
            raise CommandError(str(exc)) from None
        if verbose:
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result.by_outcome.items()))
            self.stdout.write(
                f"added {result.cases} cases ({outcomes}; {result.open_cases} still open), "
                f"{result.tasks} tasks, {result.timers} timers, {result.audit_events} audit events "
                f"in {time.perf_counter() - started:.1f} s"
            )
