"""The reviewer's inbox: the tasks of the user's departments, filtered,
sorted and paged, one row of it, one task, and the colleagues it may be
handed to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from govflow import rawsql
from govflow.accounts.models import Department, Membership
from govflow.engine.definition import Definition
from govflow.errors import NotFound
from govflow.processes.models import ProcessTemplate, ProcessVersion
from govflow.processes.services import version_definitions
from govflow.timers.calendar import WorkingCalendar
from govflow.timers.services import calendar_get

from ..models import LIVE_TASK_STATUSES, Case, Task, TaskStatus
from .clocks import Sla, sla_of
from .common import MAX_SEARCH, STAFF_TASK_KINDS, display_name, language_key, node_title_of

REFERENCE_PATTERN = re.compile(r"[A-Z0-9]{4,32}")
INBOX_PAGE_SIZE = 25


def _definitions(tasks: Iterable[Task]) -> dict[int, Definition]:
    """Definitions of the tasks' versions (parsed ones are cached by the
    processes app). staff_tasks() reads each version's fingerprint with its
    task, so a cached definition costs no query."""
    fingerprints = {}
    for task in tasks:
        sha = getattr(task, "version_sha256", None)
        if sha is not None:
            fingerprints[task.case.version_id] = sha
    return version_definitions((t.case.version_id for t in tasks), fingerprints)


@dataclass
class TaskRow:
    task: Task
    node_title: str
    service_title: str
    department_name: str
    holder: str
    sla: Sla
    is_mine: bool
    # the case's process definition (a detail view reads the node's outcomes from it)
    definition: Definition | None = None

    @property
    def can_claim(self) -> bool:
        return self.task.status == TaskStatus.OPEN

    @property
    def can_release(self) -> bool:
        return self.task.status == TaskStatus.CLAIMED and self.is_mine


@dataclass
class TaskPage:
    rows: list[TaskRow]
    page: int
    has_next: bool


def staff_tasks() -> QuerySet[Task]:
    return (
        Task.objects.filter(kind__in=STAFF_TASK_KINDS)
        .select_related("case", "case__template", "department", "assignee")
        .defer("case__data", "case__state")
        # the version's fingerprint: task_rows finds a parsed definition without a query
        .annotate(version_sha256=F("case__version__source_sha256"))
    )


def task_rows(tasks: list[Task], user, lang: str, now: datetime) -> list[TaskRow]:
    definitions = _definitions(tasks)
    calendars: dict[str, WorkingCalendar] = {}
    rows = []
    for task in tasks:
        definition = definitions.get(task.case.version_id)
        code = definition.calendar if definition else "cn"
        calendar = calendars.get(code) or calendars.setdefault(code, calendar_get(code))
        rows.append(
            TaskRow(
                task=task,
                node_title=node_title_of(definition, task.node_id, lang),
                service_title=task.case.template.title(lang),
                department_name=task.department.name(lang) if task.department else "",
                holder=display_name(task.assignee) if task.is_live else "",
                sla=sla_of(
                    due_at=task.due_at,
                    reminder_due=task.remind_at,
                    live=task.is_live,
                    paused=task.case.clock_paused_at is not None,
                    calendar=calendar,
                    now=now,
                    completed_at=task.completed_at if task.status == TaskStatus.COMPLETED else None,
                    provisional=task.due_provisional,
                ),
                is_mine=task.assignee_id == user.pk,
                definition=definition,
            )
        )
    return rows


INBOX_STATUSES = ("live", "open", "mine", "claimed", "done")
INBOX_DUE = ("", "overdue", "soon")


def tasks_for_reviewer(
    *,
    user,
    service: str = "",
    status: str = "live",
    due: str = "",
    sort: str = "due",
    q: str = "",
    page: int = 1,
    language: str = "zh",
    now: datetime | None = None,
    per_page: int = INBOX_PAGE_SIZE,
) -> TaskPage:
    """The review and countersignature tasks of the user's departments.

    status: live (open or claimed; the default), open, mine (claimed by me),
    claimed, done (decided). due: overdue, or soon (past the template's
    reminder point, not yet overdue). sort: due (soonest first) or -due.
    """
    now = now or timezone.now()
    if not user.is_authenticated:
        return TaskPage([], 1, False)
    departments = list(Membership.objects.filter(user=user).values_list("department_id", flat=True))
    if not departments:
        return TaskPage([], 1, False)
    tasks = Task.objects.filter(kind__in=STAFF_TASK_KINDS)
    if status == "open":
        tasks = tasks.filter(status=TaskStatus.OPEN)
    elif status == "mine":
        tasks = tasks.filter(status=TaskStatus.CLAIMED, assignee=user)
    elif status == "claimed":
        tasks = tasks.filter(status=TaskStatus.CLAIMED)
    elif status == "done":
        tasks = tasks.filter(status=TaskStatus.COMPLETED)
    else:
        tasks = tasks.filter(status__in=LIVE_TASK_STATUSES)
    if service:
        tasks = tasks.filter(case__template__code=service)
    if due == "overdue":
        tasks = tasks.filter(status__in=LIVE_TASK_STATUSES, due_at__lte=now)
    elif due == "soon":
        tasks = tasks.filter(status__in=LIVE_TASK_STATUSES, due_at__gt=now, remind_at__lte=now)
    q = (q or "").strip()[:MAX_SEARCH]
    if q:
        # A case reference is looked up by its unique index first; otherwise
        # the title is searched (a trigram index on PostgreSQL).
        reference = q.upper()
        case_id = None
        if REFERENCE_PATTERN.fullmatch(reference):
            case_id = Case.objects.filter(reference=reference).values_list("pk", flat=True).first()
        tasks = tasks.filter(case_id=case_id) if case_id else tasks.filter(case__title__icontains=q)
    if status == "done":
        key, order, column = _newest_first, ["-completed_at", "-id"], "completed_at"
    elif sort == "-due":
        # Tasks without a time limit come first here: the department index
        # read backwards gives that order without a sort.
        key, order, column = _latest_due_first, [_desc_nulls_first("due_at"), "-id"], "due_at"
    else:
        key, order, column = _soonest_due_first, [_asc("due_at"), "id"], "due_at"
    page = max(1, page)
    offset = (page - 1) * per_page
    wanted = offset + per_page + 1
    # One ordered query per department: each walks its department's index in
    # order and stops after `wanted` rows, where a single query over all the
    # departments would sort every one of their live tasks (bench/inbox.py).
    candidates: list[tuple] = []
    for department_id in departments:
        candidates.extend(
            tasks.filter(department_id=department_id).order_by(*order).values_list("pk", column)[:wanted]
        )
    candidates.sort(key=key)
    chosen = [row[0] for row in candidates[offset:wanted]]
    found = _staff_tasks(chosen[:per_page], user.pk)
    rows = [found[pk] for pk in chosen[:per_page] if pk in found]
    return TaskPage(task_rows(rows, user, language_key(language), now), page, len(chosen) > per_page)


# Sort keys of (pk, timestamp) rows, matching the SQL orders above.
def _soonest_due_first(row: tuple) -> tuple:
    pk, due = row
    return (due is None, due.timestamp() if due else 0.0, pk)


def _latest_due_first(row: tuple) -> tuple:
    pk, due = row
    return (due is not None, -due.timestamp() if due else 0.0, -pk)


def _newest_first(row: tuple) -> tuple:
    pk, completed = row
    return (completed is not None, -completed.timestamp() if completed else 0.0, -pk)


def _asc(name: str):
    return F(name).asc(nulls_last=True)


def _desc_nulls_first(name: str):
    return F(name).desc(nulls_first=True)


def task_get_for_reviewer(*, user, task_id: int) -> Task:
    """A review or countersignature task of one of the user's departments."""
    if not user.is_authenticated:
        raise NotFound("task not found")
    task = (
        Task.objects.filter(
            pk=task_id,
            kind__in=STAFF_TASK_KINDS,
            department_id__in=Membership.objects.filter(user=user).values("department_id"),
        )
        .select_related("case", "department")
        .first()
    )
    if task is None:
        raise NotFound("task not found")
    return task


def colleague_get(*, actor, task_id: int, user_id: Any) -> Any:
    """A member of the task's department (the actor must be one too): the
    person a task may be handed to."""
    task = task_get_for_reviewer(user=actor, task_id=task_id)
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("colleague not found") from None
    membership = (
        Membership.objects.filter(department_id=task.department_id, user_id=user_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound("colleague not found")
    return membership.user


def task_row(*, user, task_id: int, language: str = "zh", now: datetime | None = None) -> TaskRow:
    """One inbox row: the answer to every claim over the API, and the web
    inbox's refresh after a claim or release."""
    now = now or timezone.now()
    task = _staff_tasks([task_id], user.pk).get(task_id)
    if task is None:
        raise NotFound("task not found")
    return task_rows([task], user, language_key(language), now)[0]


@cache
def _row_models() -> tuple:
    """The models of an inbox row, each with its alias and deferred fields."""
    return (
        (Task, "t", ()),
        (Case, "c", ("data", "state")),
        (ProcessTemplate, "p", ()),
        (Department, "d", ()),
        (get_user_model(), "u", ()),
    )


@lru_cache(maxsize=64)
def _staff_tasks_sql(vendor: str, count: int) -> tuple[tuple[list[str], ...], str]:
    """Tasks of the user's departments by key, with what their inbox rows
    show: staff_tasks() written once (the ORM compiled this six-table join
    on every inbox read and every claim's answer; prepared on the server, it
    is planned once per connection too). On PostgreSQL the keys are one
    array parameter, so one statement serves every page; elsewhere there is
    a statement per number of keys."""
    quote = connection.ops.quote_name
    parts = [rawsql.columns(model, alias, without) for model, alias, without in _row_models()]
    table = {alias: quote(model._meta.db_table) for model, alias, _without in _row_models()}
    kinds = ", ".join(f"'{kind.value}'" for kind in STAFF_TASK_KINDS)
    keys = "= ANY(%s::bigint[])" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * count)})"
    sql = (
        f"SELECT v.{quote('source_sha256')}, {', '.join(columns for _names, columns in parts)} "
        f"FROM {table['t']} t JOIN {table['c']} c ON c.{quote('id')} = t.{quote('case_id')} "
        f"JOIN {quote(ProcessVersion._meta.db_table)} v ON v.{quote('id')} = c.{quote('version_id')} "
        f"JOIN {table['p']} p ON p.{quote('id')} = c.{quote('template_id')} "
        f"JOIN {table['d']} d ON d.{quote('id')} = t.{quote('department_id')} "
        f"LEFT JOIN {table['u']} u ON u.{quote('id')} = t.{quote('assignee_id')} "
        f"WHERE t.{quote('id')} {keys} AND t.{quote('kind')} IN ({kinds}) AND t.{quote('department_id')} IN "
        f"(SELECT {quote('department_id')} FROM {quote(Membership._meta.db_table)} "
        f"WHERE {quote('user_id')} = %s)"
    )
    return tuple(names for names, _columns in parts), sql


def _staff_tasks(task_ids: list[int], user_id: int) -> dict[int, Task]:
    """The tasks of these keys that belong to the user's departments, by key."""
    if not task_ids:
        return {}
    postgres = connection.vendor == "postgresql"
    names, sql = _staff_tasks_sql(connection.vendor, 1 if postgres else len(task_ids))
    with rawsql.kept(1) as cur:
        cur.execute(sql, [list(task_ids), user_id] if postgres else [*task_ids, user_id])
        found = {}
        for row in cur.fetchall():
            task = _task_of(names, row)
            found[task.pk] = task
    return found


def _task_of(names: tuple[list[str], ...], row) -> Task:
    found, start = [], 1
    for (model, _alias, _without), columns in zip(_row_models(), names, strict=True):
        values = row[start : start + len(columns)]
        start += len(columns)
        # (an unclaimed task's holder, LEFT JOINed, is a row of NULLs)
        key = values[columns.index(model._meta.pk.attname)]
        found.append(None if key is None else rawsql.from_row(model, columns, values))
    task, case, template, department, assignee = found
    case.template = template
    task.case, task.department, task.assignee = case, department, assignee
    task.version_sha256 = row[0]
    return task
