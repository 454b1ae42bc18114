"""Filling the fact tables (see models.py) when cases are submitted or end
and when review tasks are decided.

`record_changes` subscribes to the events of cases submitted and ended and
of tasks decided (`govflow.cases.events`, in InsightConfig.ready): it hears
of them as the change set is flushed, inside the case's own transaction and
before the writes, so a fact commits or rolls back with the change it
describes and is never stale. It is not called when a flush neither
submits, ends a case nor decides a review task, and costs a few queries
when it does. `facts_backfill` computes the same rows for cases that were
submitted before this app was installed (`manage.py insight_backfill`).

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
from django.db.models import Q

from govflow.audit.actions import Action
from govflow.audit.models import AuditEvent
from govflow.cases.events import CaseEnded, CaseSubmitted, TaskDecided
from govflow.cases.models import ENDED_CASE_STATUSES, Case, CaseStatus, Task, TaskKind, TaskStatus
from govflow.engine.definition import Duration
from govflow.processes.services import version_definition
from govflow.rawsql import insert_rows
from govflow.timers.calendar import CalendarYearMissing, WorkingCalendar
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .models import CaseFact, TaskFact
from .rollup import local_tz, rollup_advance, rollup_retract

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
        insert_rows(facts, update_on=(("case",), tuple(CASE_FACT_FIELDS)))


def task_facts_save(facts: list[TaskFact]) -> None:
    # Raw and without reading ids back: inside the bridge's pipeline this
    # statement costs no round trip of its own (govflow.rawsql).
    insert_rows(facts, ignore_conflicts=True)


# -- the listener --------------------------------------------------------------


EVENTS = (CaseSubmitted, CaseEnded, TaskDecided)


def record_changes(changes, events: list[CaseSubmitted | CaseEnded | TaskDecided]) -> None:
    """Subscriber to EVENTS: stage the facts of what this change set submits,
    ends and decides. Runs inside the case's transaction, before the writes."""
    submitted = [e.case for e in events if type(e) is CaseSubmitted]
    # A withdrawn draft was never submitted: no fact.
    ended = [e for e in events if type(e) is CaseEnded and e.case.submitted_at is not None]
    decided = [e for e in events if type(e) is TaskDecided]
    facts = {}
    for case, paused_since in [*((c, None) for c in submitted), *((e.case, e.paused_since) for e in ended)]:
        definition = version_definition(case.version)
        calendar = calendar_get(definition.calendar)
        facts[case.pk] = case_fact(calendar, definition, case, paused_since=paused_since)
    case_facts_save(list(facts.values()))
    if decided:
        task_facts_save(_decided_task_facts(changes, decided))


def _decided_task_facts(changes, decided: list[TaskDecided]) -> list[TaskFact]:
    rows: dict = {}
    breach: dict = {}
    unknown = []
    for decision in decided:
        task, case = decision.task, decision.case
        key = (case.pk, decision.task_id)
        # A reviewer's decision brings the task row read under the lock; its
        # due date is its breach timer's (copied while the clock runs), and a
        # node without an SLA has no breach timer, so the common cases need
        # no query. Paused clocks and decisions by silent consent read the rows.
        node = version_definition(case.version).nodes.get(task.node_id) if task else None
        if task is not None and (task.due_at is not None or (node is not None and node.sla is None)):
            if task.kind in REVIEW_KINDS and task.department_id is not None:
                rows[key] = {
                    "pk": task.pk,
                    "case_id": task.case_id,
                    "engine_id": task.engine_id,
                    "node_id": task.node_id,
                    "department_id": task.department_id,
                    "created_at": task.created_at,
                    "escalated": task.escalated,
                }
                if task.due_at is not None:
                    breach[task.pk] = (task.due_at, None)
        else:
            unknown.append(key)
    if unknown:
        which = Q()
        for case_id, engine_id in unknown:
            which |= Q(case_id=case_id, engine_id=engine_id)
        found = {
            (r["case_id"], r["engine_id"]): r
            for r in Task.objects.filter(which, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
            .filter(kind__in=REVIEW_KINDS, department__isnull=False)
            .values("pk", "case_id", "engine_id", "node_id", "department_id", "created_at", "escalated")
        }
        if found:
            breach.update(
                {
                    task_id: (due, remaining)
                    for task_id, due, remaining in Timer.objects.filter(
                        task_id__in=[r["pk"] for r in found.values()], kind="sla_breach"
                    ).values_list("task_id", "due_at", "remaining_seconds")
                }
            )
        rows.update(found)
    if not rows:
        return []
    escalated_now = set(changes.escalated)
    facts = []
    for decision in decided:
        case = decision.case
        key = (case.pk, decision.task_id)
        row = rows.get(key)
        if row is None:
            continue
        definition = version_definition(case.version)
        calendar = calendar_get(definition.calendar)
        fact = _task_fact(
            calendar,
            definition,
            case.template_id,
            _TaskRow(row["pk"], row["case_id"], row["node_id"], row["department_id"], row["created_at"]),
            completed_at=changes.now,
            outcome=decision.outcome,
            silent_consent=decision.silent_consent,
            escalated=row["escalated"] or key in escalated_now,
            breach=breach.get(row["pk"]),
        )
        if fact is not None:
            facts.append(fact)
    return facts


# -- catching up ---------------------------------------------------------------


def facts_backfill(*, batch: int = 2000) -> tuple[int, int]:
    """Compute the facts of submitted cases and decided review tasks that have
    none (cases from before this app was installed). Additive and idempotent:
    rows that exist are left alone. Each chunk takes the rollups back before
    the facts it writes (in its transaction), and the closed months are
    rolled up again at the end. Returns (case facts, task facts) written."""
    case_count = task_count = 0
    last = 0
    while True:
        with transaction.atomic():
            chunk, facts, tasks = _backfill_chunk(last, batch)
        if not chunk:
            break
        last = chunk[-1].pk
        case_count += facts
        task_count += tasks
    rollup_advance()
    return case_count, task_count


def _backfill_chunk(last: int, batch: int) -> tuple[list[Case], int, int]:
    chunk = list(
        Case.objects.filter(pk__gt=last, submitted_at__isnull=False)
        .exclude(status=CaseStatus.DRAFT)
        .select_related("version")
        .order_by("pk")
        .only(
            "pk",
            "template_id",
            "version",
            "status",
            "submitted_at",
            "completed_at",
            "paused_seconds",
            "clock_paused_at",
        )[:batch]
    )
    if not chunk:
        return [], 0, 0
    # Facts about the past are read live until rolled up again (facts_backfill).
    since = min(c.submitted_at for c in chunk).astimezone(local_tz()).date()
    ids = [c.pk for c in chunk]
    have = set(CaseFact.objects.filter(case_id__in=ids).exclude(outcome="").values_list("case", flat=True))
    open_have = set(CaseFact.objects.filter(case_id__in=ids, outcome="").values_list("case", flat=True))
    todo = [c for c in chunk if c.pk not in have and not (c.pk in open_have and c.is_open)]
    paused = _pauses_at_end([c.pk for c in todo if not c.is_open])
    facts = []
    for case in todo:
        definition = version_definition(case.version)
        calendar = calendar_get(definition.calendar)
        facts.append(case_fact(calendar, definition, case, paused_since=paused.get(case.pk)))
    if facts:
        rollup_retract(since=since)
    case_facts_save(facts)
    return chunk, len(facts), _backfill_tasks({c.pk: c for c in chunk}, since)


def _pauses_at_end(case_ids: Iterable[int]) -> dict[int, datetime]:
    """For ended cases, a clock pause that was still running at the end
    (ending clears clock_paused_at without adding that pause)."""
    running: dict[int, datetime | None] = {}
    for case_id, action, at in (
        AuditEvent.objects.filter(
            case_id__in=list(case_ids), action__in=[Action.CLOCK_PAUSED, Action.CLOCK_RESUMED]
        )
        .order_by("id")
        .values_list("case_id", "action", "at")
    ):
        running[case_id] = at if action == Action.CLOCK_PAUSED else None
    return {case_id: at for case_id, at in running.items() if at is not None}


def _backfill_tasks(cases: dict[int, Case], since: date) -> int:
    done = set(TaskFact.objects.filter(case_id__in=list(cases)).values_list("task_id", flat=True))
    rows = (
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
    rows = list(rows)
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
    if facts:
        rollup_retract(since=since)
    task_facts_save(facts)
    return len(facts)
