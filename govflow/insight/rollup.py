"""Rollups of the fact tables per closed month, so that the dashboard over a
long period reads a few thousand rows instead of sorting every fact.

What is rolled up (models.py): per month (local time) of a case's end or a
task's decision, the durations as a histogram of buckets of BUCKET_SECONDS
(0.01 of an eight-hour office day, 4.8 office minutes) with the counters the
dashboard shows (CaseRollup, TaskRollup), and cases per day for the weekly
counts (CaseDayCount).

How it stays exact: `RollupMark.rolled_until` is the first month not rolled
up. Months before it come from the rollups, everything later (and the part
of a month at either end of a chosen period) from the fact tables, read live
by the same code, so no figure waits for a job. A month is rolled once it
ended more than GRACE ago: the services stamp a fact with the moment of the
change they describe, and no transaction of theirs stays open that long.
Whoever writes facts into the past (seed_history, insight_backfill) first
takes the rollup back to before them (`rollup_retract`, in the same
transaction), and rolls up again when done. The mark's row lock serialises
the two.

Percentiles from buckets: every duration counts as its bucket (rounded to
the nearest BUCKET_SECONDS), both in the rollups and in the live part, and
the percentile interpolates linearly between ranks as percentile_cont does.
Rounding moves each value by at most half a bucket without changing their
order, and interpolation between two values is monotonic in both, so a
figure is within half a bucket (0.005 working day) of the exact one.

Rolling happens on the dashboard's request (at most a month or two, once a
month: the first leader to look after a month closes pays ~0.1 s for it),
at the end of seed_history and insight_backfill, and with
`manage.py insight_rollup`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from govflow.timers.services import calendar_get

from .models import CaseDayCount, CaseFact, CaseRollup, RollupMark, TaskFact, TaskRollup

BUCKET_SECONDS = 288  # 0.01 of an eight-hour office day
NO_BUCKET = -1  # a fact without a duration (no calendar year for it, or a withdrawn case)
GRACE = timedelta(days=1)
# Months a dashboard request rolls up at most (the rest is read live until later).
REQUEST_MONTHS = 1
DECIDED = ("approved", "rejected")
SUBMITTED = "submitted"
ROLLUPS = (CaseRollup, TaskRollup, CaseDayCount)


def bucket_of(seconds: int | None) -> int:
    return NO_BUCKET if seconds is None else (seconds + BUCKET_SECONDS // 2) // BUCKET_SECONDS


def bucket_expression(field: str = "working_seconds"):
    """bucket_of in SQL (integer division on PostgreSQL and SQLite alike)."""
    return Coalesce((F(field) + BUCKET_SECONDS // 2) / BUCKET_SECONDS, Value(NO_BUCKET))


def local_tz() -> ZoneInfo:
    return ZoneInfo(calendar_get(settings.GOVFLOW_DEFAULT_CALENDAR).tz)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_after(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def first_open_month(now: datetime, tz: ZoneInfo) -> date:
    """The first month that may still receive facts at `now`."""
    return month_of((now - GRACE).astimezone(tz).date())


# -- histograms ----------------------------------------------------------------------


class Histogram:
    """Durations as bucket counts; percentiles as percentile_cont computes
    them over the bucketed values."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = defaultdict(int)
        self.total = 0

    def add(self, bucket: int, count: int) -> None:
        if bucket >= 0 and count:
            self.buckets[bucket] += count
            self.total += count

    def merge(self, other: Histogram) -> None:
        for bucket, count in other.buckets.items():
            self.add(bucket, count)

    def quantile(self, fraction: float) -> float | None:
        """Seconds at this fraction (linear interpolation between ranks)."""
        if not self.total:
            return None
        position = fraction * (self.total - 1)
        low = math.floor(position)
        ranks = (low, min(low + 1, self.total - 1))
        found: list[int] = []
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            while len(found) < 2 and seen > ranks[len(found)]:
                found.append(bucket)
            if len(found) == 2:
                break
        lower, upper = found
        return (lower + (upper - lower) * (position - low)) * BUCKET_SECONDS


# -- which part of a period is rolled up --------------------------------------------------


def rolled_until() -> date | None:
    return RollupMark.objects.filter(pk=1).values_list("rolled_until", flat=True).first()


@dataclass(frozen=True)
class Span:
    """How the local days [start, end) are read: the whole months
    [first_month, last_month) from the rollups (none when equal), the
    instant ranges in `live` from the fact tables. `rolled_until` is the
    mark as an instant (None: nothing rolled)."""

    first_month: date
    last_month: date
    live: tuple[tuple[datetime, datetime], ...]
    rolled_until: datetime | None

    @property
    def rolled(self) -> bool:
        return self.first_month < self.last_month


def span_of(start: date, end: date, *, tz: ZoneInfo, mark: date | None) -> Span:
    """`end` is exclusive."""
    first = start if start.day == 1 else month_after(month_of(start))
    last = min(month_of(end), mark) if mark is not None else first
    if last <= first:
        return Span(first, first, ((midnight(start, tz), midnight(end, tz)),), _instant(mark, tz))
    live = []
    if start < first:
        live.append((midnight(start, tz), midnight(first, tz)))
    if last < end:
        live.append((midnight(last, tz), midnight(end, tz)))
    return Span(first, last, tuple(live), _instant(mark, tz))


def _instant(day: date | None, tz: ZoneInfo) -> datetime | None:
    return None if day is None else midnight(day, tz)


def live_q(span: Span, field: str = "completed_at") -> Q | None:
    """The live part of a span as a filter on `field`; None when empty."""
    which = None
    for start, end in span.live:
        part = Q(**{f"{field}__gte": start, f"{field}__lt": end})
        which = part if which is None else which | part
    return which


# -- rolling up ----------------------------------------------------------------------------


def _locked_mark(*, wait: bool) -> RollupMark | None:
    """The mark row, locked for this transaction; None when wait=False and
    another transaction holds it."""
    RollupMark.objects.get_or_create(pk=1)
    return RollupMark.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()


def _first_fact_month(tz: ZoneInfo) -> date | None:
    earliest = [
        CaseFact.objects.aggregate(at=Min("submitted_at"))["at"],
        TaskFact.objects.aggregate(at=Min("completed_at"))["at"],
    ]
    earliest = [at for at in earliest if at is not None]
    return month_of(min(earliest).astimezone(tz).date()) if earliest else None


def rollup_advance(*, now: datetime | None = None, months: int | None = None, wait: bool = True) -> int:
    """Roll up the closed months that are not yet (at most `months` of them,
    oldest first). Returns how many were rolled. With wait=False it returns
    0 at once while another transaction rolls up or retracts."""
    now = now or timezone.now()
    tz = local_tz()
    until = first_open_month(now, tz)
    with transaction.atomic():
        mark = _locked_mark(wait=wait)
        if mark is None:
            return 0
        month = mark.rolled_until
        if month is None:
            month = _first_fact_month(tz) or until
        rolled = 0
        while month < until and (months is None or rolled < months):
            _roll_month(month, tz)
            month = month_after(month)
            rolled += 1
        if month != mark.rolled_until and month <= until:
            mark.rolled_until, mark.rolled_at = month, now
            mark.save(update_fields=["rolled_until", "rolled_at"])
    return rolled


def rollup_due(*, now: datetime | None = None) -> bool:
    """Whether a closed month waits to be rolled up (one indexed read)."""
    mark = rolled_until()
    return mark is None or mark < first_open_month(now or timezone.now(), local_tz())


def rollup_catch_up(*, now: datetime | None = None) -> int:
    """For a dashboard request: roll up a closed month if one waits (at most
    REQUEST_MONTHS), never waiting for a lock someone else holds."""
    if not rollup_due(now=now):
        return 0
    return rollup_advance(now=now, months=REQUEST_MONTHS, wait=False)


@contextmanager
def snapshot():
    """Run the dashboard's queries on one snapshot (PostgreSQL, outside a
    transaction): the mark, the rollups and the facts are then read as of
    one moment even if a roll-up or a retraction commits in between."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def rollup_retract(*, since: date | None = None) -> None:
    """Take the rollups back to the month of `since` (None: entirely), so
    that facts about to be written from that day on are read live. Call it
    inside the transaction that writes them: the mark stays locked until it
    commits, so no roll-up can pass them by."""
    mark = _locked_mark(wait=True)
    month = month_of(since) if since is not None else None
    if mark.rolled_until is None or (month is not None and mark.rolled_until <= month):
        return
    for model in ROLLUPS:
        rows = model.objects.all() if month is None else model.objects.filter(month__gte=month)
        rows.delete()
    mark.rolled_until = month
    mark.save(update_fields=["rolled_until"])


def rollup_rebuild(*, now: datetime | None = None) -> int:
    """Recompute every rollup from the facts; returns the months rolled."""
    with transaction.atomic():
        rollup_retract(since=None)
        return rollup_advance(now=now)


def _roll_month(month: date, tz: ZoneInfo) -> None:
    start, end = midnight(month, tz), midnight(month_after(month), tz)
    _roll_tasks(month, start, end)
    ended = list(
        CaseFact.objects.filter(completed_at__gte=start, completed_at__lt=end)
        .exclude(outcome="")
        .values_list(
            "case_id",
            "template_id",
            "outcome",
            "working_seconds",
            "within_limit",
            "submitted_at",
            "completed_at",
        )
    )
    departments: dict[int, list[int]] = defaultdict(list)
    if ended:
        # The departments that decided a task on each case (its tasks were
        # all decided by the time it ended, after it was submitted).
        pairs = (
            TaskFact.objects.filter(
                case_id__in=CaseFact.objects.filter(completed_at__gte=start, completed_at__lt=end)
                .exclude(outcome="")
                .values("case_id"),
                completed_at__gte=min(row[5] for row in ended),
                completed_at__lt=end,
            )
            .values_list("case_id", "department_id")
            .distinct()
        )
        for case_id, department_id in pairs:
            departments[case_id].append(department_id)
    durations: Counter = Counter()  # (template, department, outcome, bucket) -> cases
    limits: Counter = Counter()
    within: Counter = Counter()
    days: Counter = Counter()  # (day, template, department, kind) -> cases
    for case_id, template_id, outcome, seconds, is_within, submitted_at, completed_at in ended:
        decided = outcome in DECIDED
        bucket = bucket_of(seconds) if decided else NO_BUCKET
        submitted_day = submitted_at.astimezone(tz).date()
        ended_day = completed_at.astimezone(tz).date()
        for department_id in (None, *departments.get(case_id, ())):
            key = (template_id, department_id, outcome, bucket)
            durations[key] += 1
            limits[key] += decided and is_within is not None
            within[key] += decided and is_within is True
            days[(ended_day, template_id, department_id, outcome)] += 1
            if department_id is not None:
                # A department's part in a case is final once the case ended.
                days[(submitted_day, template_id, department_id, SUBMITTED)] += 1
    for submitted_at, template_id in CaseFact.objects.filter(
        submitted_at__gte=start, submitted_at__lt=end
    ).values_list("submitted_at", "template_id"):
        days[(submitted_at.astimezone(tz).date(), template_id, None, SUBMITTED)] += 1
    _insert(
        CaseRollup,
        ["month", "template_id", "department_id", "outcome", "bucket", "cases", "with_limit", "within_limit"],
        [(month, *key, count, limits[key], within[key]) for key, count in durations.items()],
    )
    _insert(
        CaseDayCount,
        ["month", "day", "template_id", "department_id", "kind", "cases"],
        [(month, *key, count) for key, count in days.items()],
    )


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Plain rows of integers, dates and text (no ORM instances: a month
    holds thousands of rollup rows)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _roll_tasks(month: date, start: datetime, end: datetime) -> None:
    """One INSERT ... SELECT: the aggregation never leaves the database."""
    rows = (
        TaskFact.objects.filter(completed_at__gte=start, completed_at__lt=end)
        .annotate(bucket=bucket_expression())
        .values_list("template_id", "department_id", "bucket")
        .annotate(**task_counters())
        .order_by()
    )
    select, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ["month", "template_id", "department_id", "bucket", *TASK_COUNTERS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(TaskRollup._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
            f"SELECT %s, rolled.* FROM ({select}) rolled",
            [month, *params],
        )


TASK_COUNTERS = ("tasks", "with_limit", "within_limit", "silent_consent", "escalated", "rejected")


def task_counters() -> dict:
    """The dashboard's counters of decided tasks, as aggregates over TaskFact."""
    return {
        "tasks": Count("pk"),
        "with_limit": Count("pk", filter=Q(within_limit__isnull=False)),
        "within_limit": Count("pk", filter=Q(within_limit=True)),
        "silent_consent": Count("pk", filter=Q(silent_consent=True)),
        "escalated": Count("pk", filter=Q(escalated=True)),
        "rejected": Count("pk", filter=Q(outcome="reject")),
    }


def rollup_extent() -> dict:
    """What the rollups hold, for the command's report."""
    return {
        "rolled_until": rolled_until(),
        "months": CaseRollup.objects.aggregate(first=Min("month"), last=Max("month")),
        "rows": {model._meta.model_name: model.objects.count() for model in ROLLUPS},
    }
