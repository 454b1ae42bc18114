"""Filling the fact tables (see models.py) after cases are submitted or end
and after review tasks are decided.

The facts are derived data: nothing in a case's own transaction waits for
them. `facts_project` reads the committed audit trail past its marks
(FactsMark, one per chain) and computes the facts of the cases those events
name, from the committed rows, in one transaction with the mark's move: a
fact is written once, for a change that committed, and none is missed
(appends to a chain commit in position order). It runs on beat every few
seconds (`govflow.insight.project`), before the dashboard and its exports
read (`facts_catch_up`, bounded) and with `manage.py insight_project`; the
dashboard says how far the facts reach (selectors.facts_freshness).
`facts_backfill` computes the same rows for cases from before this app was
installed (`manage.py insight_backfill`).

How time is counted (Administrative Licensing Law art 82: working days):
- a case uses the office time on the calendar from its submission
  (acceptance follows at once) to its decision, less the time the clock
  was paused (with the applicant for a correction, or in an excluded step);
  it is within its statutory limit when that is no more than the office time
  the template's `time_limit` allows from the same start (for days: until
  office close of the N-th working day after acceptance, as the timers count);
- a review task uses its SLA budget as its breach timer measured it: the
  budget less what was left at the decision (timers are paused with the
  case), so the figure agrees with the deadline the reviewer saw. A task
  decided by silent consent is not within its SLA, whatever the clock says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.models import AuditEvent, AuditHead
from govflow.cases.models import ENDED_CASE_STATUSES, Case, CaseStatus, Task, TaskKind, TaskStatus
from govflow.engine.definition import Duration
from govflow.processes.services import version_definition
from govflow.rawsql import insert_rows
from govflow.timers.calendar import CalendarYearMissing, WorkingCalendar
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .models import CaseFact, FactsMark, TaskFact
from .rollup import first_open_month, local_tz, month_of, rollup_advance, rollup_retract

log = logging.getLogger(__name__)
REVIEW_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE)
CASE_FACT_FIELDS = [
    "template",
    "submitted_at",
    "submitted_week",
    "completed_at",
    "completed_week",
    "outcome",
    "working_seconds",
    "limit_seconds",
    "within_limit",
    "seeded",
]


def week_of(moment: datetime, calendar: WorkingCalendar) -> date:
    """Monday of the local week of an instant (the calendar's time zone)."""
    day = moment.astimezone(ZoneInfo(calendar.tz)).date()
    return day - timedelta(days=day.weekday())


def office_day_seconds(calendar: WorkingCalendar) -> int:
    opens = calendar.office_open.hour * 3600 + calendar.office_open.minute * 60
    closes = calendar.office_close.hour * 3600 + calendar.office_close.minute * 60
    return closes - opens


def allowed_seconds(calendar: WorkingCalendar, start: datetime, limit: Duration | None) -> int | None:
    """Office seconds a limit allows from `start`; None without a limit or a calendar year."""
    if limit is None:
        return None
    if limit.hours is not None:
        return round(limit.hours * 3600)
    try:
        due = calendar.due_at(start, days=limit.days, calendar_days=limit.calendar_days)
        return calendar.working_seconds_between(start, due)
    except CalendarYearMissing:
        return None


def case_used_seconds(
    calendar: WorkingCalendar,
    submitted_at: datetime,
    ended_at: datetime,
    paused_seconds: int,
    paused_since: datetime | None,
) -> int | None:
    """Office seconds counted against a case: submission to decision, less pauses.
    `paused_since` is a pause still running when the case ended (not yet in
    `paused_seconds`)."""
    stop = paused_since if paused_since is not None and paused_since < ended_at else ended_at
    try:
        used = calendar.working_seconds_between(submitted_at, stop)
    except CalendarYearMissing:
        return None
    return max(0, used - (paused_seconds or 0))


def timer_remaining(
    calendar: WorkingCalendar, at: datetime, due_at: datetime | None, remaining: int | None
) -> int | None:
    """Office seconds a breach timer had left at `at` (negative once overdue)."""
    try:
        if due_at is not None:
            if due_at >= at:
                return calendar.working_seconds_between(at, due_at)
            return -calendar.working_seconds_between(due_at, at)
    except CalendarYearMissing:
        return None
    return remaining


@dataclass
class _TaskRow:
    pk: int
    case_id: int
    node_id: str
    department_id: int
    created_at: datetime


def _task_fact(
    calendar: WorkingCalendar,
    definition,
    template_id: int,
    row: _TaskRow,
    *,
    completed_at: datetime,
    outcome: str,
    silent_consent: bool,
    escalated: bool,
    breach: tuple[datetime | None, int | None] | None,
) -> TaskFact | None:
    node = definition.nodes.get(row.node_id)
    if node is not None and node.clock_excluded:
        return None  # expert review and the like: not counted (art 45)
    limit = node.sla.limit if node is not None and node.sla is not None else None
    budget = allowed_seconds(calendar, row.created_at, limit)
    used = within = None
    if budget is not None and breach is not None:
        left = timer_remaining(calendar, completed_at, *breach)
        if left is not None:
            used = max(0, budget - left)
            within = left >= 0 and not silent_consent
    if used is None:
        try:
            used = calendar.working_seconds_between(row.created_at, completed_at)
        except CalendarYearMissing:
            used = None
        if budget is not None and used is not None:
            within = used <= budget and not silent_consent
    return TaskFact(
        task_id=row.pk,
        case_id=row.case_id,
        template_id=template_id,
        department_id=row.department_id,
        node_id=row.node_id,
        created_at=row.created_at,
        completed_at=completed_at,
        outcome=outcome,
        working_seconds=used,
        limit_seconds=budget,
        within_limit=within,
        silent_consent=silent_consent,
        escalated=escalated,
    )


def case_fact(
    calendar: WorkingCalendar,
    definition,
    case: Case,
    *,
    paused_since: datetime | None = None,
    seeded: bool = False,
) -> CaseFact:
    fact = CaseFact(
        case_id=case.pk,
        template_id=case.template_id,
        submitted_at=case.submitted_at,
        submitted_week=week_of(case.submitted_at, calendar),
        seeded=seeded,
    )
    if case.status in ENDED_CASE_STATUSES and case.completed_at is not None:
        fact.completed_at = case.completed_at
        fact.completed_week = week_of(case.completed_at, calendar)
        fact.outcome = str(case.status)
        fact.working_seconds = case_used_seconds(
            calendar, case.submitted_at, case.completed_at, case.paused_seconds, paused_since
        )
        fact.limit_seconds = allowed_seconds(calendar, case.submitted_at, definition.time_limit)
        if fact.working_seconds is not None and fact.limit_seconds is not None:
            fact.within_limit = fact.working_seconds <= fact.limit_seconds
    return fact


def case_facts_save(facts: list[CaseFact]) -> None:
    if facts:
        # bulk_create(update_conflicts=True) built its SQL anew each time
        # (about 1 ms); the same upsert with the statement built once.
        # An ended case's fact is final: two projectors may see one case at
        # once (its events can lie in two chains), and the one that read it
        # while still open must not overwrite the other's ended fact.
        insert_rows(
            facts,
            update_on=(("case",), tuple(CASE_FACT_FIELDS)),
            update_where=f"{CaseFact._meta.db_table}.outcome = ''",
        )


def task_facts_save(facts: list[TaskFact]) -> None:
    # Raw and without reading ids back: inside the bridge's pipeline this
    # statement costs no round trip of its own (govflow.rawsql).
    insert_rows(facts, ignore_conflicts=True)


# -- computing from committed rows --------------------------------------------

_CASE_COLUMNS = (
    "pk",
    "template_id",
    "version",
    "status",
    "submitted_at",
    "completed_at",
    "paused_seconds",
    "clock_paused_at",
)


def _submitted_cases():
    return (
        Case.objects.filter(submitted_at__isnull=False)
        .exclude(status=CaseStatus.DRAFT)
        .select_related("version")
        .only(*_CASE_COLUMNS)
    )


def _facts_for(cases: list[Case], *, now: datetime) -> tuple[int, int]:
    """Write the facts these cases lack: a case fact where there is none, or
    where it is open and the case has ended, and a task fact for each decided
    review task without one. Rows that exist are left alone. Rolled-up months
    the new facts fall in are taken back first (in this transaction), so a
    fact written late is read live until they are rolled up again. Returns
    (case facts, task facts) written."""
    if not cases:
        return 0, 0
    tz = local_tz()
    ids = [c.pk for c in cases]
    existing = dict(CaseFact.objects.filter(case_id__in=ids).values_list("case", "outcome"))
    # A new fact counts the case from its submission, an ended one that was
    # open from its end (its submission is counted already).
    todo = [c for c in cases if c.pk not in existing or (existing[c.pk] == "" and not c.is_open)]
    paused = _pauses_at_end([c.pk for c in todo if not c.is_open])
    facts, lands = [], []
    for case in todo:
        definition = version_definition(case.version)
        calendar = calendar_get(definition.calendar)
        facts.append(case_fact(calendar, definition, case, paused_since=paused.get(case.pk)))
        lands.append(case.submitted_at if case.pk not in existing else case.completed_at)
    tasks = _decided_task_facts({c.pk: c for c in cases})
    lands += [fact.completed_at for fact in tasks]
    lands = [at for at in lands if at is not None]
    if lands:
        _retract_for(min(lands).astimezone(tz).date(), now=now)
    case_facts_save(facts)
    task_facts_save(tasks)
    return len(facts), len(tasks)


def _retract_for(day: date, *, now: datetime) -> None:
    """Take the rollups back before facts of `day` are written, where the
    rollups may reach that day. The months still open at `now` are never
    rolled, so facts of today take no lock."""
    if month_of(day) < first_open_month(now, local_tz()):
        rollup_retract(since=day)


def _pauses_at_end(case_ids: Iterable[int]) -> dict[int, datetime]:
    """For ended cases, a clock pause that was still running at the end
    (ending clears clock_paused_at without adding that pause)."""
    case_ids = list(case_ids)
    if not case_ids:
        return {}
    running: dict[int, datetime | None] = {}
    for case_id, action, at in (
        AuditEvent.objects.filter(
            case_id__in=case_ids, action__in=[Action.CLOCK_PAUSED, Action.CLOCK_RESUMED]
        )
        .order_by("id")
        .values_list("case_id", "action", "at")
    ):
        running[case_id] = at if action == Action.CLOCK_PAUSED else None
    return {case_id: at for case_id, at in running.items() if at is not None}


def _decided_task_facts(cases: dict[int, Case]) -> list[TaskFact]:
    """The facts of the decided review tasks of these cases that have none.
    A task's SLA use is its breach timer's, as the reviewer saw it."""
    done = TaskFact.objects.filter(case_id__in=list(cases)).values("task_id")
    rows = list(
        Task.objects.filter(case_id__in=list(cases), status=TaskStatus.COMPLETED, kind__in=REVIEW_KINDS)
        .filter(department__isnull=False, completed_at__isnull=False)
        .exclude(pk__in=done)
        .values(
            "pk",
            "case_id",
            "node_id",
            "department_id",
            "created_at",
            "completed_at",
            "outcome",
            "silent_consent",
            "escalated",
        )
    )
    if not rows:
        return []
    breach = {
        task_id: (due, remaining)
        for task_id, due, remaining in Timer.objects.filter(
            task_id__in=[r["pk"] for r in rows], kind="sla_breach"
        ).values_list("task_id", "due_at", "remaining_seconds")
    }
    facts = []
    for row in rows:
        case = cases[row["case_id"]]
        definition = version_definition(case.version)
        calendar = calendar_get(definition.calendar)
        fact = _task_fact(
            calendar,
            definition,
            case.template_id,
            _TaskRow(row["pk"], row["case_id"], row["node_id"], row["department_id"], row["created_at"]),
            completed_at=row["completed_at"],
            outcome=row["outcome"],
            silent_consent=row["silent_consent"],
            escalated=row["escalated"],
            breach=breach.get(row["pk"]),
        )
        if fact is not None:
            facts.append(fact)
    return facts


# -- the projection ------------------------------------------------------------

# Audit events read per chain and transaction.
PROJECT_BATCH = 2000
# Events a dashboard request projects at most before it reads (the rest is
# left to beat; the page says how far the facts reach).
REQUEST_EVENTS = 5000


def facts_project(
    *, batch: int = PROJECT_BATCH, limit: int | None = None, wait: bool = True, now: datetime | None = None
) -> int:
    """Bring the facts up to the committed audit trail: per chain, the cases
    named by the events past its mark get the facts they lack, and the mark
    moves past those events, in one transaction per `batch` events. At most
    `limit` events in all. A chain another projector holds is waited for, or
    with wait=False skipped. Returns the events read."""
    read = 0
    for chain in AuditHead.objects.order_by("chain").values_list("chain", flat=True):
        while limit is None or read < limit:
            size = batch if limit is None else min(batch, limit - read)
            count = _project_chain(chain, size, wait=wait, now=now or timezone.now())
            read += count
            if count < size:
                break
    return read


def facts_catch_up(*, now: datetime | None = None) -> int:
    """For a dashboard request: project what beat has not yet (at most
    REQUEST_EVENTS events), never waiting for a chain another projector holds."""
    return facts_project(limit=REQUEST_EVENTS, wait=False, now=now)


def _project_chain(chain: int, size: int, *, wait: bool, now: datetime) -> int:
    FactsMark.objects.get_or_create(chain=chain)
    with transaction.atomic():
        marks = FactsMark.objects.filter(chain=chain)
        mark = marks.select_for_update(skip_locked=not wait).first()
        if mark is None:
            return 0  # another projector is on this chain
        events = list(
            AuditEvent.objects.filter(chain=chain, seq__gt=mark.seq)
            .order_by("seq")
            .values_list("seq", "case_id", "at")[:size]
        )
        if not events:
            return 0
        _project_events(events, now)
        mark.seq, _, mark.event_at = events[-1]
        mark.projected_at = now
        mark.save(update_fields=["seq", "event_at", "projected_at"])
    return len(events)


def _project_events(events: list[tuple[int, int | None, datetime]], now: datetime) -> None:
    """The facts the cases named by these (seq, case_id, at) events lack."""
    named = {case_id for _, case_id, _ in events if case_id is not None}
    if named:
        _facts_for(list(_submitted_cases().filter(pk__in=named)), now=now)


def facts_mark_appended(chain: int, count: int, event_at: datetime, *, now: datetime) -> bool:
    """For a writer that wrote the facts of its own events in the transaction
    that appended them to `chain` (seed_history): move the chain's mark over
    those `count` events, so that no projector reads them again.

    Inside that transaction the chain's head is held until the commit, so
    every event below the writer's is committed. Up to PROJECT_BATCH events
    of other writers between the mark and the writer's are projected here
    first. A mark further behind, or one a projector holds, is left alone:
    the projector then reads these events too and finds their facts
    written. Returns whether the mark moved."""
    head = AuditHead.objects.filter(chain=chain).values_list("last_seq", flat=True).first()
    if head is None:
        return False
    FactsMark.objects.get_or_create(chain=chain)
    mark = FactsMark.objects.filter(chain=chain).select_for_update(skip_locked=True).first()
    if mark is None:
        return False
    first = head - count  # the last event below the writer's
    if not 0 <= first - mark.seq <= PROJECT_BATCH:
        return False
    if first > mark.seq:
        between = AuditEvent.objects.filter(chain=chain, seq__gt=mark.seq, seq__lte=first)
        _project_events(list(between.values_list("seq", "case_id", "at")), now)
    mark.seq, mark.event_at, mark.projected_at = head, event_at, now
    mark.save(update_fields=["seq", "event_at", "projected_at"])
    return True


# -- catching up ---------------------------------------------------------------


def facts_backfill(*, batch: int = 2000, now: datetime | None = None) -> tuple[int, int]:
    """Compute the facts of submitted cases and decided review tasks that have
    none (cases from before this app was installed). Additive and idempotent:
    rows that exist are left alone. Each chunk takes the rollups back before
    the facts it writes (in its transaction), and the closed months are
    rolled up again at the end. Returns (case facts, task facts) written."""
    now = now or timezone.now()
    case_count = task_count = 0
    last = 0
    while True:
        with transaction.atomic():
            chunk = list(_submitted_cases().filter(pk__gt=last).order_by("pk")[:batch])
            if not chunk:
                break
            cases, tasks = _facts_for(chunk, now=now)
        last = chunk[-1].pk
        case_count += cases
        task_count += tasks
    rollup_advance(now=now)
    return case_count, task_count
