"""Figures of a period read from the rollups (whole closed months) and the
fact tables (the rest), combined so that nothing waits for a job; see
rollup.py for how the two parts are kept apart.

Every function here takes the period as local days [start, end) and the
optional service and department filters as ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth

from .models import CaseDayCount, CaseFact, CaseRollup, TaskFact, TaskRollup
from .rollup import (
    DECIDED,
    NO_BUCKET,
    SUBMITTED,
    TASK_COUNTERS,
    Histogram,
    Span,
    bucket_expression,
    live_q,
    midnight,
    span_of,
    task_counters,
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    tz: ZoneInfo
    template_id: int | None = None
    department_id: int | None = None
    mark: date | None = None  # RollupMark.rolled_until

    @property
    def span(self) -> Span:
        return span_of(self.start, self.end, tz=self.tz, mark=self.mark)


@dataclass
class TaskSummary:
    histogram: Histogram = field(default_factory=Histogram)
    tasks: int = 0
    with_limit: int = 0
    within_limit: int = 0
    silent_consent: int = 0
    escalated: int = 0
    rejected: int = 0

    def add(
        self,
        bucket: int,
        tasks: int,
        with_limit: int,
        within: int,
        silent: int,
        escalated: int,
        rejected: int,
    ):
        self.histogram.add(bucket, tasks)
        self.tasks += tasks
        self.with_limit += with_limit
        self.within_limit += within
        self.silent_consent += silent
        self.escalated += escalated
        self.rejected += rejected


@dataclass
class CaseSummary:
    histogram: Histogram = field(default_factory=Histogram)  # decided cases
    decided: int = 0
    rejected: int = 0
    withdrawn: int = 0
    with_limit: int = 0
    within_limit: int = 0

    def add(self, outcome: str, bucket: int, cases: int, with_limit: int, within_limit: int) -> None:
        if outcome in DECIDED:
            self.decided += cases
            self.histogram.add(bucket, cases)
        if outcome == "rejected":
            self.rejected += cases
        elif outcome == "withdrawn":
            self.withdrawn += cases
        self.with_limit += with_limit
        self.within_limit += within_limit

    def merge(self, other: CaseSummary) -> None:
        self.histogram.merge(other.histogram)
        for name in ("decided", "rejected", "withdrawn", "with_limit", "within_limit"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _took_part(department_id: int) -> Exists:
    """Cases the department decided a task on (index taskfact_department_case)."""
    return Exists(TaskFact.objects.filter(department_id=department_id, case_id=OuterRef("case_id")))


def task_summaries(period: Period) -> dict[int, TaskSummary]:
    """Decided review tasks per department."""
    span = period.span
    result: dict[int, TaskSummary] = defaultdict(TaskSummary)
    if span.rolled:
        rows = TaskRollup.objects.filter(month__gte=span.first_month, month__lt=span.last_month)
        if period.template_id is not None:
            rows = rows.filter(template_id=period.template_id)
        if period.department_id is not None:
            rows = rows.filter(department_id=period.department_id)
        rows = rows.values_list("department_id", "bucket").annotate(**{n: Sum(n) for n in TASK_COUNTERS})
        for department_id, *counts in _fetch(rows.order_by()):
            result[department_id].add(*counts)
    which = live_q(span)
    if which is not None:
        facts = TaskFact.objects.filter(which)
        if period.template_id is not None:
            facts = facts.filter(template_id=period.template_id)
        if period.department_id is not None:
            facts = facts.filter(department_id=period.department_id)
        facts = (
            facts.annotate(bucket=bucket_expression())
            .values_list("department_id", "bucket")
            .annotate(**task_counters())
        )
        for department_id, *counts in _fetch(facts.order_by()):
            result[department_id].add(*counts)
    return dict(result)


def _fetch(queryset) -> list[tuple]:
    """The rows of a values_list query as the driver gives them: thousands
    of plain integers, for which the ORM's per-value converters would cost
    more than the query. Dates (SQLite gives text) go through _day."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _day(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def case_summaries(period: Period) -> dict[tuple[date, int], CaseSummary]:
    """Ended cases per (month of their end, service)."""
    span = period.span
    result: dict[tuple[date, int], CaseSummary] = defaultdict(CaseSummary)
    if span.rolled:
        rows = CaseRollup.objects.filter(month__gte=span.first_month, month__lt=span.last_month)
        if period.department_id is not None:
            rows = rows.filter(department_id=period.department_id)
        else:
            rows = rows.filter(department__isnull=True)
        if period.template_id is not None:
            rows = rows.filter(template_id=period.template_id)
        rows = rows.values_list("month", "template_id", "outcome", "bucket").annotate(
            cases=Sum("cases"), limited=Sum("with_limit"), within=Sum("within_limit")
        )
        for month, template_id, outcome, bucket, cases, with_limit, within in _fetch(rows.order_by()):
            result[(_day(month), template_id)].add(outcome, bucket, cases, with_limit, within)
    which = live_q(span)
    if which is not None:
        facts = _case_facts(period).filter(which).exclude(outcome="")
        decided = Q(outcome__in=DECIDED)
        for month, template_id, outcome, bucket, cases, with_limit, within in (
            facts.annotate(
                month=TruncMonth("completed_at", tzinfo=period.tz),
                bucket=CaseWhen(When(decided, then=bucket_expression()), default=Value(NO_BUCKET)),
            )
            .values_list("month", "template_id", "outcome", "bucket")
            .annotate(
                cases=Count("pk"),
                limited=Count("pk", filter=decided & Q(within_limit__isnull=False)),
                within=Count("pk", filter=decided & Q(within_limit=True)),
            )
            .order_by()
        ):
            month = month.astimezone(period.tz).date() if isinstance(month, datetime) else month
            result[(month, template_id)].add(outcome, bucket, cases, with_limit, within)
    return dict(result)


def _case_facts(period: Period) -> QuerySet[CaseFact]:
    facts = CaseFact.objects.all()
    if period.template_id is not None:
        facts = facts.filter(template_id=period.template_id)
    if period.department_id is not None:
        facts = facts.filter(_took_part(period.department_id))
    return facts


def week_counts(period: Period) -> dict[tuple[date, int], dict[str, int]]:
    """Cases submitted and ended (per outcome) per (week, service): rolled
    days from CaseDayCount, the rest from the facts."""
    counts: dict[tuple[date, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if period.mark is not None:
        rows = CaseDayCount.objects.filter(day__gte=period.start, day__lt=period.end)
        if period.department_id is not None:
            rows = rows.filter(department_id=period.department_id)
        else:
            rows = rows.filter(department__isnull=True)
        if period.template_id is not None:
            rows = rows.filter(template_id=period.template_id)
        for day, template_id, kind, cases in _fetch(
            rows.values_list("day", "template_id", "kind").annotate(n=Sum("cases")).order_by()
        ):
            day = _day(day)
            counts[(day - timedelta(days=day.weekday()), template_id)][kind] += cases
    start, end = midnight(period.start, period.tz), midnight(period.end, period.tz)
    mark = midnight(period.mark, period.tz) if period.mark is not None else None
    live_from = max(start, mark) if mark is not None else start
    facts = _case_facts(period)
    # Ends are rolled by the month they fall in.
    for week, template_id, outcome, cases in (
        facts.filter(completed_at__gte=live_from, completed_at__lt=end)
        .exclude(outcome="")
        .values_list("completed_week", "template_id", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[(week, template_id)][outcome] += cases
    # Submissions: of every case by the month of submission; of a
    # department's cases once the case ended (its part is final then).
    if period.department_id is None:
        submitted = facts.filter(submitted_at__gte=live_from, submitted_at__lt=end)
    else:
        submitted = facts.filter(submitted_at__gte=start, submitted_at__lt=end)
        if mark is not None:
            # Written so that each branch matches a partial index.
            submitted = submitted.filter(Q(outcome="") | (~Q(outcome="") & Q(completed_at__gte=mark)))
    for week, template_id, cases in (
        submitted.values_list("submitted_week", "template_id").annotate(n=Count("pk")).order_by()
    ):
        counts[(week, template_id)][SUBMITTED] += cases
    return counts
