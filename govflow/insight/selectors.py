"""Read-side queries of the dashboard and the public statistics.

The dashboard's past work comes from the rollups for whole closed months
and from the fact tables for the rest (summaries.py, rollup.py), its
medians and 90th percentiles from histograms of 0.01-working-day buckets
(within 0.005 working day of the exact figure). The public page's median
over 90 days is exact (`percentile_cont` on PostgreSQL, the same formula in
Python elsewhere). What is open now (bottlenecks, overdue tasks) is read
from the live task rows, which the partial index on live tasks keeps small.

Every figure that is a duration is in working days: office seconds on the
calendar divided by the length of an office day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.accounts.permissions import may_see_insight
from govflow.audit.models import AuditHead
from govflow.cases.models import LIVE_TASK_STATUSES, OPEN_CASE_STATUSES, Case, Task
from govflow.errors import InvalidInput, NotFound
from govflow.processes.models import ProcessTemplate
from govflow.processes.services import version_definition
from govflow.processes.texts import duration_text
from govflow.timers.calendar import WorkingCalendar, tolerant
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .facts import REVIEW_KINDS, office_day_seconds
from .models import CaseFact, FactsMark, TaskFact
from .rollup import rolled_until, snapshot
from .summaries import CaseSummary, Period, TaskSummary, case_summaries, task_summaries, week_counts

DEFAULT_WEEKS = 26
MAX_RANGE_DAYS = 3 * 366
PUBLIC_DAYS = 90
BOTTLENECKS = 10
DECIDED = ("approved", "rejected")


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (linear interpolation)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError(fraction)
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def quantile(ordered: list[float], fraction: float) -> float | None:
    """The same as percentile_cont over sorted values."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _percentiles(queryset: QuerySet, group: Iterable[str], value: str) -> dict[tuple, tuple[float, float]]:
    """{group values: (median, 90th percentile)} of `value` over non-null rows."""
    group = list(group)
    queryset = queryset.filter(**{f"{value}__isnull": False})
    if connection.vendor == "postgresql":
        if not group:
            row = queryset.aggregate(p50=PercentileCont(value, 0.5), p90=PercentileCont(value, 0.9))
            return {} if row["p50"] is None else {(): (row["p50"], row["p90"])}
        rows = queryset.values(*group).annotate(
            p50=PercentileCont(value, 0.5), p90=PercentileCont(value, 0.9)
        )
        return {tuple(r[g] for g in group): (r["p50"], r["p90"]) for r in rows.order_by()}
    values: dict[tuple, list[float]] = defaultdict(list)
    for row in queryset.values_list(*group, value).order_by():
        values[tuple(row[:-1])].append(row[-1])
    result = {}
    for key, items in values.items():
        items.sort()
        result[key] = (quantile(items, 0.5), quantile(items, 0.9))
    return result


# -- filters -------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    service: ProcessTemplate | None = None
    department: Department | None = None

    def query(self) -> dict[str, str]:
        query = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.service is not None:
            query["service"] = self.service.code
        if self.department is not None:
            query["department"] = self.department.code
        return query


def _calendar() -> WorkingCalendar:
    return calendar_get(settings.GOVFLOW_DEFAULT_CALENDAR)


def local_today(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now())


def filters_parse(params, *, today: date) -> Filters:
    """Filters from a query string. Raises InvalidInput naming the field."""
    errors: dict[str, list[str]] = {}
    end = _date(params.get("to"), "to", errors) or today
    start = _date(params.get("from"), "from", errors) or (
        end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    )
    if start > end:
        errors.setdefault("from", []).append("the start date is after the end date")
    elif (end - start).days > MAX_RANGE_DAYS:
        errors.setdefault("from", []).append(f"choose at most {MAX_RANGE_DAYS} days")
    service = department = None
    code = (params.get("service") or "").strip()
    if code:
        service = ProcessTemplate.objects.filter(code=code[:64]).first()
        if service is None:
            errors.setdefault("service", []).append("unknown service")
    code = (params.get("department") or "").strip()
    if code:
        department = Department.objects.filter(code=code[:64]).first()
        if department is None:
            errors.setdefault("department", []).append("unknown department")
    if errors:
        raise InvalidInput("the filters are not valid", fields=errors)
    return Filters(start=start, end=end, service=service, department=department)


def filters_default(*, today: date) -> Filters:
    return Filters(start=today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), end=today)


def _date(value, name: str, errors: dict[str, list[str]]) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(str(value)[:10])
    except ValueError:
        errors.setdefault(name, []).append("not a date written as YYYY-MM-DD")
        return None
    if not 1990 <= parsed.year <= 2200:
        errors.setdefault(name, []).append("not a plausible date")
        return None
    return parsed


def _instants(filters: Filters) -> tuple[datetime, datetime]:
    tz = ZoneInfo(_calendar().tz)
    start = datetime.combine(filters.start, time.min, tzinfo=tz)
    end = datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def _case_facts(filters: Filters) -> QuerySet[CaseFact]:
    queryset = CaseFact.objects.all()
    if filters.service is not None:
        queryset = queryset.filter(template=filters.service)
    if filters.department is not None:
        # Cases the department took part in (decided a task on).
        queryset = queryset.filter(
            case_id__in=TaskFact.objects.filter(department=filters.department).values("case_id")
        )
    return queryset


# -- labels ------------------------------------------------------------------------


def _templates() -> dict[int, ProcessTemplate]:
    return {t.pk: t for t in ProcessTemplate.objects.select_related("current_version")}


def _departments() -> dict[int, Department]:
    return {d.pk: d for d in Department.objects.all()}


def _lang(language: str) -> str:
    return "en" if language.startswith("en") else "zh"


# -- the dashboard -------------------------------------------------------------------


@dataclass
class WeekRow:
    week: date
    service: str
    submitted: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0


@dataclass
class DurationRow:
    key: str  # service or department code
    name: str
    decided: int
    median_days: float | None
    p90_days: float | None
    limit_text: str = ""
    with_limit: int = 0
    within_limit: int = 0
    silent_consent: int = 0
    escalated: int = 0
    rejected: int = 0
    withdrawn: int = 0

    @property
    def compliance(self) -> float | None:
        return self.within_limit / self.with_limit if self.with_limit else None


@dataclass
class TrendPoint:
    month: date
    service: str
    decided: int
    median_days: float | None


@dataclass
class Bottleneck:
    service: str
    step: str
    department: str
    waiting: int
    overdue: int
    median_wait_days: float
    oldest_wait_days: float


@dataclass
class DepartmentLoad:
    code: str
    name: str
    open: int
    overdue: int
    escalated: int


@dataclass
class OverLimit:
    open: int = 0  # open now and past the due date
    ended: int = 0  # ended in the period, after the due date

    @property
    def total(self) -> int:
        return self.open + self.ended


@dataclass
class Totals:
    submitted: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    open_now: int = 0
    overdue_now: int = 0
    silent_consent: int = 0
    escalated: int = 0
    median_days: float | None = None
    # Cases over their case-level limits (govflow.cases.limits): open ones
    # past the due date now, and ones that ended in the period after it.
    over_promise: OverLimit = field(default_factory=OverLimit)
    over_statutory: OverLimit = field(default_factory=OverLimit)


@dataclass
class HeldTimer:
    """A timer with a legal effect that is due on a provisional date: it
    waits for its year's calendar before it fires."""

    reference: str
    service: str
    step: str
    effect: str  # silent_consent | automatic_rejection | deemed_withdrawal | notice_ends
    due_at: datetime


@dataclass
class Dashboard:
    filters: Filters
    totals: Totals
    weeks: list[WeekRow]
    services: list[DurationRow]
    departments: list[DurationRow]
    trend: list[TrendPoint]
    bottlenecks: list[Bottleneck]
    loads: list[DepartmentLoad]
    service_names: dict[str, str] = field(default_factory=dict)
    # Legal effects due but waiting for next year's calendar (most urgent first).
    held: list[HeldTimer] = field(default_factory=list)
    # How far the past figures reach (the facts are projected after commit).
    freshness: Freshness | None = None


@dataclass
class Freshness:
    """How far the facts reach: `waiting` audit events are committed but not
    yet counted; `reach` is the time of the last event counted in the chain
    that lags most (None when nothing waits)."""

    waiting: int
    reach: datetime | None

    @property
    def current(self) -> bool:
        return self.waiting == 0


def facts_freshness() -> Freshness:
    """Two small reads: each audit chain's head against its facts mark."""
    marks = {chain: (seq, at) for chain, seq, at in FactsMark.objects.values_list("chain", "seq", "event_at")}
    waiting, reaches = 0, []
    for chain, head in AuditHead.objects.values_list("chain", "last_seq"):
        seq, at = marks.get(chain, (0, None))
        if head > seq:
            waiting += head - seq
            reaches.append(at)
    # A lagging chain counted nothing yet: how far the facts reach is unknown.
    reach = min(reaches) if reaches and None not in reaches else None
    return Freshness(waiting=waiting, reach=reach)


def dashboard_get(*, filters: Filters, now: datetime | None = None, language: str = "zh") -> Dashboard:
    with snapshot():
        return _dashboard(filters, now or timezone.now(), language)


def _dashboard(filters: Filters, now: datetime, language: str) -> Dashboard:
    lang = _lang(language)
    templates = _templates()
    departments = _departments()
    day = office_day_seconds(_calendar())
    period = _period(filters)
    cases = case_summaries(period)
    services = service_durations(cases, templates, lang, day)
    dept_rows = department_durations(task_summaries(period), departments, lang, day)
    weeks = weekly_counts(week_counts(period), templates)
    bottlenecks, loads = live_work(filters, templates, departments, lang, now)
    overall = CaseSummary()
    for summary in cases.values():
        overall.merge(summary)
    totals = Totals(
        submitted=sum(w.submitted for w in weeks),
        approved=sum(w.approved for w in weeks),
        rejected=sum(w.rejected for w in weeks),
        withdrawn=sum(w.withdrawn for w in weeks),
        open_now=_open_cases(filters),
        overdue_now=sum(x.overdue for x in loads),
        silent_consent=sum(r.silent_consent for r in dept_rows),
        escalated=sum(r.escalated for r in dept_rows),
        median_days=_days(overall.histogram.quantile(0.5), day),
        over_promise=cases_over_limit(filters, "case_promise", now),
        over_statutory=cases_over_limit(filters, "case_statutory", now),
    )
    return Dashboard(
        filters=filters,
        totals=totals,
        weeks=weeks,
        services=services,
        departments=dept_rows,
        trend=monthly_trend(cases, templates, day),
        bottlenecks=bottlenecks,
        loads=loads,
        service_names={t.code: t.title(lang) for t in templates.values()},
        held=held_timers(filters, templates, lang, now),
        freshness=facts_freshness(),
    )


HELD_LIMIT = 50


def held_timers(
    filters: Filters, templates: dict[int, ProcessTemplate], lang: str, now: datetime
) -> list[HeldTimer]:
    """Timers with a legal effect that are due on a provisional date, and so
    wait for their year's calendar (reconcile lists them too)."""
    held = Timer.objects.filter(
        status=Timer.PENDING, provisional=True, legal_effect=True, due_at__lte=now
    ).order_by("due_at", "id")
    if filters.service is not None:
        held = held.filter(case__template=filters.service)
    rows = []
    for reference, template_id, node_id, kind, due_at in held.values_list(
        "case__reference", "case__template_id", "node_id", "kind", "due_at"
    )[:HELD_LIMIT]:
        template = templates[template_id]
        node = None
        if template.current_version is not None:
            node = version_definition(template.current_version).nodes.get(node_id)
        if kind == "sla_breach":
            on_breach = node.sla.on_breach if node is not None and node.sla is not None else "approve"
            effect = "silent_consent" if on_breach == "approve" else "automatic_rejection"
        else:
            effect = {"correction_deadline": "deemed_withdrawal"}.get(kind, "notice_ends")
        step = node.label(lang) if node is not None else node_id
        rows.append(HeldTimer(reference, template.title(lang), step, effect, due_at))
    return rows


def _period(filters: Filters) -> Period:
    """The filters as the summaries take them, with how far the rollups reach."""
    return Period(
        start=filters.start,
        end=filters.end + timedelta(days=1),
        tz=ZoneInfo(_calendar().tz),
        template_id=filters.service.pk if filters.service is not None else None,
        department_id=filters.department.pk if filters.department is not None else None,
        mark=rolled_until(),
    )


def _days(seconds: float | None, day: int) -> float | None:
    return None if seconds is None else seconds / day


def _decided(filters: Filters) -> QuerySet[CaseFact]:
    start, end = _instants(filters)
    return _case_facts(filters).filter(outcome__in=DECIDED, completed_at__gte=start, completed_at__lt=end)


def weekly_counts(
    counts: dict[tuple[date, int], dict[str, int]], templates: dict[int, ProcessTemplate]
) -> list[WeekRow]:
    rows = [
        WeekRow(
            week=week,
            service=templates[template_id].code,
            submitted=n.get("submitted", 0),
            approved=n.get("approved", 0),
            rejected=n.get("rejected", 0),
            withdrawn=n.get("withdrawn", 0),
        )
        for (week, template_id), n in counts.items()
    ]
    return sorted(rows, key=lambda r: (r.week, r.service))


def service_durations(
    cases: dict[tuple[date, int], CaseSummary], templates: dict[int, ProcessTemplate], lang: str, day: int
) -> list[DurationRow]:
    by_service: dict[int, CaseSummary] = defaultdict(CaseSummary)
    for (_month, template_id), summary in cases.items():
        by_service[template_id].merge(summary)
    rows = []
    for template_id, summary in by_service.items():
        template = templates[template_id]
        limit = ""
        if template.current_version is not None:
            limit = duration_text(version_definition(template.current_version).time_limit)
        rows.append(
            DurationRow(
                key=template.code,
                name=template.title(lang),
                decided=summary.decided,
                median_days=_days(summary.histogram.quantile(0.5), day),
                p90_days=_days(summary.histogram.quantile(0.9), day),
                limit_text=limit,
                with_limit=summary.with_limit,
                within_limit=summary.within_limit,
                rejected=summary.rejected,
                withdrawn=summary.withdrawn,
            )
        )
    return sorted(rows, key=lambda r: r.key)


def department_durations(
    tasks: dict[int, TaskSummary], departments: dict[int, Department], lang: str, day: int
) -> list[DurationRow]:
    rows = []
    for department_id, summary in tasks.items():
        department = departments[department_id]
        rows.append(
            DurationRow(
                key=department.code,
                name=department.name(lang),
                decided=summary.tasks,
                median_days=_days(summary.histogram.quantile(0.5), day),
                p90_days=_days(summary.histogram.quantile(0.9), day),
                with_limit=summary.with_limit,
                within_limit=summary.within_limit,
                silent_consent=summary.silent_consent,
                escalated=summary.escalated,
                rejected=summary.rejected,
            )
        )
    return sorted(rows, key=lambda r: r.key)


def monthly_trend(
    cases: dict[tuple[date, int], CaseSummary], templates: dict[int, ProcessTemplate], day: int
) -> list[TrendPoint]:
    points = [
        TrendPoint(
            month, templates[template_id].code, summary.decided, _days(summary.histogram.quantile(0.5), day)
        )
        for (month, template_id), summary in cases.items()
        if summary.decided
    ]
    return sorted(points, key=lambda p: (p.month, p.service))


def cases_over_limit(filters: Filters, kind: str, now: datetime) -> OverLimit:
    """Cases over a case-level limit (timer `kind`: case_promise, the
    promise 承诺时限, or case_statutory, 法定时限): open cases whose limit
    has passed (fired, or due and not swept yet), and cases that ended in
    the period after it. A limit paused with time left is not passed."""
    timers = Timer.objects.filter(kind=kind).exclude(status=Timer.PAUSED)
    if filters.service is not None:
        timers = timers.filter(case__template=filters.service)
    if filters.department is not None:
        timers = timers.filter(case__in=Task.objects.filter(department=filters.department).values("case_id"))
    passed = Q(status=Timer.FIRED) | Q(due_at__lte=now, status=Timer.PENDING)
    start, end = _instants(filters)
    late = Q(status=Timer.FIRED) | Q(due_at__lt=F("case__completed_at"))
    return OverLimit(
        open=timers.filter(passed, case__status__in=OPEN_CASE_STATUSES).count(),
        ended=timers.filter(late, case__completed_at__gte=start, case__completed_at__lt=end).count(),
    )


def _open_cases(filters: Filters) -> int:
    cases = Case.objects.filter(status__in=OPEN_CASE_STATUSES)
    if filters.service is not None:
        cases = cases.filter(template=filters.service)
    if filters.department is not None:
        cases = cases.filter(
            pk__in=Task.objects.filter(department=filters.department, status__in=LIVE_TASK_STATUSES).values(
                "case_id"
            )
        )
    return cases.count()


def live_work(
    filters: Filters,
    templates: dict[int, ProcessTemplate],
    departments: dict[int, Department],
    lang: str,
    now: datetime,
) -> tuple[list[Bottleneck], list[DepartmentLoad]]:
    """Where open cases wait now (by step), and each department's open and overdue tasks."""
    live = Task.objects.filter(status__in=LIVE_TASK_STATUSES, kind__in=REVIEW_KINDS, department__isnull=False)
    if filters.service is not None:
        live = live.filter(case__template=filters.service)
    if filters.department is not None:
        live = live.filter(department=filters.department)
    calendar = _calendar()
    day = office_day_seconds(calendar)
    groups: dict[tuple[int, str, int], list[tuple[float, bool]]] = defaultdict(list)
    loads: dict[int, DepartmentLoad] = {}
    for template_id, node_id, department_id, created_at, due_at, escalated in live.values_list(
        "case__template_id", "node_id", "department_id", "created_at", "due_at", "escalated"
    ).order_by():
        waited = tolerant(calendar, lambda cal, at=created_at: cal.working_seconds_between(at, now))[0] / day
        overdue = due_at is not None and due_at < now
        groups[(template_id, node_id, department_id)].append((waited, overdue))
        department = departments[department_id]
        load = loads.get(department_id)
        if load is None:
            load = loads[department_id] = DepartmentLoad(department.code, department.name(lang), 0, 0, 0)
        load.open += 1
        load.overdue += overdue
        load.escalated += bool(escalated)
    bottlenecks = []
    for (template_id, node_id, department_id), items in groups.items():
        template = templates[template_id]
        step = node_id
        if template.current_version is not None:
            node = version_definition(template.current_version).nodes.get(node_id)
            step = node.label(lang) if node is not None else node_id
        waits = sorted(w for w, _overdue in items)
        bottlenecks.append(
            Bottleneck(
                service=template.title(lang),
                step=step,
                department=departments[department_id].name(lang),
                waiting=len(items),
                overdue=sum(1 for _w, o in items if o),
                median_wait_days=quantile(waits, 0.5) or 0.0,
                oldest_wait_days=waits[-1],
            )
        )
    bottlenecks.sort(key=lambda b: (-b.oldest_wait_days, -b.waiting))
    return bottlenecks[:BOTTLENECKS], sorted(loads.values(), key=lambda x: (-x.overdue, -x.open, x.code))


# -- public statistics --------------------------------------------------------------


@dataclass(frozen=True)
class PublicStatistics:
    code: str
    title: str
    time_limit_text: str
    start: date
    end: date
    decided: int
    median_days: float | None
    within_share: float | None


def public_statistics(*, code: str, now: datetime | None = None, language: str = "zh") -> PublicStatistics:
    """Published processing times of an offered service over the last 90 days:
    cases decided (approved or rejected) in that window."""
    template = (
        ProcessTemplate.objects.filter(code=code, is_active=True, current_version__isnull=False)
        .select_related("current_version")
        .first()
    )
    if template is None:
        raise NotFound("service not found")
    today = local_today(now)
    filters = Filters(start=today - timedelta(days=PUBLIC_DAYS - 1), end=today, service=template)
    decided = _decided(filters)
    counts = decided.aggregate(
        n=Count("pk"),
        with_limit=Count("pk", filter=Q(within_limit__isnull=False)),
        within=Count("pk", filter=Q(within_limit=True)),
    )
    median = _percentiles(decided, [], "working_seconds").get((), (None, None))[0]
    definition = version_definition(template.current_version)
    return PublicStatistics(
        code=template.code,
        title=template.title(_lang(language)),
        time_limit_text=duration_text(definition.time_limit),
        start=filters.start,
        end=filters.end,
        decided=counts["n"],
        median_days=_days(median, office_day_seconds(_calendar())),
        within_share=counts["within"] / counts["with_limit"] if counts["with_limit"] else None,
    )


# -- who may look ---------------------------------------------------------------------


def insight_allowed(user) -> bool:
    """Leaders and admins see the dashboard (govflow.accounts.permissions)."""
    return may_see_insight(user)
