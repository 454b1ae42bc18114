"""Read-side queries for cases, tasks and attachments, with their permission
filtering. Views ask these; they never query the models themselves.

Who sees what (the selectors' filters are the permission system):

- an applicant sees only their own cases and the attachments on them;
- a reviewer sees a case only while one of their departments has, or had,
  a review or countersignature task on it, and works only the tasks of their
  departments; a department head sees the department's tasks;
- anyone else gets NotFound, the same answer as for a case that does not
  exist, so a reference cannot be probed.

Query counts of the main selectors are pinned in tests/web/test_selectors.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import cleared_fields
from govflow.audit.models import AuditEvent
from govflow.engine.definition import Definition
from govflow.errors import NotFound
from govflow.processes.models import ProcessVersion
from govflow.processes.services import version_definition
from govflow.timers.calendar import WorkingCalendar, tolerant
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from . import limits
from .bundles import BundleView, case_bundle, item_words
from .corrections import ChangeView, change_views, changes_since, last_look
from .disclosure import OWNER, REVIEWER, Disclosure, field_views
from .models import (
    ENDED_CASE_STATUSES,
    LIVE_TASK_STATUSES,
    OPEN_CASE_STATUSES,
    Attachment,
    Case,
    CaseStatus,
    Task,
    TaskKind,
    TaskStatus,
)

STAFF_TASK_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE, TaskKind.ACCEPTANCE)
REFERENCE_PATTERN = re.compile(r"[A-Z0-9]{4,32}")
INBOX_PAGE_SIZE = 25
MAX_SEARCH = 100

# Audit event kinds a case's timeline shows; everyone on the case sees the
# first set, reviewers also the second (who claimed and handed over work).
PUBLIC_TIMELINE_KINDS = (
    "CASE_CREATED",
    "CASE_SUBMITTED",
    "CASE_AWAITING_CORRECTION",
    "CASE_CORRECTED",
    "CASE_IN_REVIEW",
    "CASE_APPROVED",
    "CASE_REJECTED",
    "CASE_WITHDRAWN",
    "TASK_COMPLETED",
    "TASK_AUTO_DECIDED",
    "SERVICE_TASK_COMPLETED",
    "CLOCK_PAUSED",
    "CLOCK_RESUMED",
    "BUNDLE_ITEM_ENDED",
)
STAFF_TIMELINE_KINDS = (
    "TASK_CLAIMED",
    "TASK_RELEASED",
    "TASK_HANDED_OVER",
    "TASK_ESCALATED",
    # the task flow (govflow.cases.operations): reviewers' business, their reasons internal
    "TASK_RETURNED",
    "TASK_DECISION_TAKEN_BACK",
    "TASK_TRANSFERRED",
    "TASK_SIGNER_ADDED",
    "TASK_SIGNER_REMOVED",
)


def language_key(language: str | None) -> str:
    return "en" if (language or "").startswith("en") else "zh"


def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.first_name or user.get_username()


# -- SLA --------------------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    """The statutory clock of one task as the inbox shows it: green, amber
    once the template's reminder point has passed, red when overdue; paused
    while the case is with the applicant."""

    level: str  # green | amber | red | paused | done | closed | none
    due_at: datetime | None = None
    days: float | None = None  # working days left (or overdue by, when red)
    late: bool = False  # done, after the due date
    # due_at was counted over a calendar year not loaded yet (shown as 预计).
    provisional: bool = False

    @property
    def is_overdue(self) -> bool:
        return self.level == "red"


def sla_of(
    *,
    due_at: datetime | None,
    reminder_due: datetime | None,
    live: bool,
    paused: bool,
    calendar: WorkingCalendar,
    now: datetime,
    completed_at: datetime | None = None,
    provisional: bool = False,
) -> Sla:
    """The clock of a task; a finished task is `done` (late or not) when it
    was decided, `closed` when it was cancelled or expired. Working days
    left are counted like the deadline: over a year the calendar lacks, by
    the plain weekday rule."""
    if not live:
        if completed_at is None:
            return Sla("closed", due_at)
        return Sla("done", due_at, late=due_at is not None and completed_at > due_at)
    if due_at is None:
        return Sla("paused" if paused else "none")
    office_day = _office_day_seconds(calendar)
    if now >= due_at:
        overdue, _ = tolerant(calendar, lambda cal: cal.working_seconds_between(due_at, now))
        return Sla("red", due_at, overdue / office_day, provisional=provisional)
    left, _ = tolerant(calendar, lambda cal: cal.working_seconds_between(now, due_at))
    level = "amber" if reminder_due is not None and now >= reminder_due else "green"
    return Sla(level, due_at, left / office_day, provisional=provisional)


@dataclass(frozen=True)
class CaseLimit(Sla):
    """A case-level limit (govflow.cases.limits) as the case page and the
    API show it: `limit` is "promise" (承诺时限, the template's time_limit)
    or "statutory" (法定时限); the clock as `Sla` (green, amber past the
    warning point, red past the limit, paused while the case clock stops,
    done when the case ended, late or not)."""

    limit: str = ""
    title: str = ""


LIMIT_TITLES = {"promise": ("承诺时限", "Promised time"), "statutory": ("法定时限", "Statutory limit")}


def case_limits(
    case: Case, *, calendar: WorkingCalendar, now: datetime, language: str = "zh"
) -> list[CaseLimit]:
    """The case's promise and statutory limit, those its template sets and
    its acceptance started (none before 受理)."""
    timers = {
        t.kind: t
        for t in Timer.objects.filter(case=case, kind__in=list(limits.CASE_TIMER_KINDS)).order_by("id")
    }
    found = []
    for limit in limits.LIMITS:
        main = timers.get(limits.timer_kind(limit, warning=False))
        if main is None:
            continue
        warning = timers.get(limits.timer_kind(limit, warning=True))
        title = LIMIT_TITLES[limit][0 if language_key(language) == "zh" else 1]
        ended = case.completed_at
        if ended is not None:
            late = main.status == Timer.FIRED or (main.due_at is not None and ended > main.due_at)
            sla = Sla("done", main.due_at, late=late, provisional=main.provisional)
        elif main.status == Timer.PAUSED:
            left = (main.remaining_seconds or 0) / _office_day_seconds(calendar)
            sla = Sla("paused", None, left, provisional=main.provisional)
        else:
            sla = sla_of(
                due_at=main.due_at,
                reminder_due=warning.due_at if warning is not None else None,
                live=True,
                paused=False,
                calendar=calendar,
                now=now,
                provisional=main.provisional,
            )
        found.append(
            CaseLimit(sla.level, sla.due_at, sla.days, sla.late, sla.provisional, limit=limit, title=title)
        )
    return found


def _office_day_seconds(calendar: WorkingCalendar) -> float:
    opens = calendar.office_open.hour * 3600 + calendar.office_open.minute * 60
    closes = calendar.office_close.hour * 3600 + calendar.office_close.minute * 60
    return float(closes - opens)


def _definitions(version_ids: Iterable[int]) -> dict[int, Definition]:
    """Definitions of the given versions in one query (parsed ones are cached
    by the processes app)."""
    ids = set(version_ids)
    if not ids:
        return {}
    return {version.pk: version_definition(version) for version in ProcessVersion.objects.filter(pk__in=ids)}


def _node_title(definition: Definition | None, node_id: str, lang: str) -> str:
    if definition is None or node_id not in definition.nodes:
        return node_id
    return definition.nodes[node_id].label(lang)


# -- applicant's cases ------------------------------------------------------


def cases_for_applicant(*, user, q: str = "", status: str = "") -> QuerySet[Case]:
    """The user's own cases, newest first; `q` searches reference and title,
    `status` is draft, open or ended."""
    if not user.is_authenticated:
        return Case.objects.none()
    cases = Case.objects.filter(applicant=user).select_related("template").defer("data", "state")
    q = (q or "").strip()[:MAX_SEARCH]
    if q:
        cases = cases.filter(Q(reference__icontains=q) | Q(title__icontains=q))
    if status == "draft":
        cases = cases.filter(status=CaseStatus.DRAFT)
    elif status == "open":
        cases = cases.filter(status__in=OPEN_CASE_STATUSES)
    elif status == "ended":
        cases = cases.filter(status__in=ENDED_CASE_STATUSES)
    return cases.order_by("-created_at", "-id")


def case_get_for_applicant(*, user, reference: str) -> Case:
    """The user's own case by reference, with its version; NotFound otherwise."""
    if not user.is_authenticated:
        raise NotFound("case not found")
    case = (
        Case.objects.select_related("template", "version").filter(reference=reference, applicant=user).first()
    )
    if case is None:
        raise NotFound("case not found")
    return case


@dataclass(frozen=True)
class CaseAccess:
    case: Case
    role: str  # owner | reviewer
    departments: tuple[Department, ...] = ()

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(d.pk for d in self.departments)


def case_access(*, user, reference: str) -> CaseAccess:
    """May `user` see the case? Its applicant may; a reviewer may while one of
    their departments has or had a task on it. NotFound for everyone else."""
    if not user.is_authenticated:
        raise NotFound("case not found")
    case = Case.objects.select_related("template", "version").filter(reference=reference).first()
    if case is None:
        raise NotFound("case not found")
    if case.applicant_id == user.pk:
        return CaseAccess(case, OWNER)
    departments = tuple(
        Department.objects.filter(tasks__case=case, tasks__kind__in=STAFF_TASK_KINDS, memberships__user=user)
        .distinct()
        .order_by("code")
    )
    if not departments:
        # A copy, a delegation or a consultation (govflow.collab) lets its
        # reader see the case as their own departments' clearance allows.
        from govflow.collab.selectors import collab_departments

        departments = collab_departments(user=user, case=case)
        if departments is None:
            raise NotFound("case not found")
    return CaseAccess(case, REVIEWER, departments)


# -- the case page -----------------------------------------------------------


@dataclass
class ProgressRow:
    task: Task
    node_title: str
    department_name: str
    holder: str
    sla: Sla
    outcome: str
    opinion: str
    decided_by: str
    offered: tuple[str, ...] = ()


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    node_title: str = ""
    department_name: str = ""
    actor: str = ""
    outcome: str = ""
    opinion: str = ""


@dataclass
class CorrectionRequest:
    node_title: str
    opinion: str
    department_name: str
    deadline: datetime | None
    deadline_provisional: bool = False
    # 一次性告知: what must be corrected, item by item (kind, id, label,
    # reason); empty when the request listed nothing (the whole form is open).
    notice: list[dict[str, str]] = field(default_factory=list)

    @property
    def editable_fields(self) -> list[str]:
        return [item["id"] for item in self.notice if item["kind"] == "field"]

    @property
    def editable_materials(self) -> list[str]:
        return [item["id"] for item in self.notice if item["kind"] == "material"]


@dataclass
class AttachmentRow:
    attachment: Attachment
    slot_label: str


@dataclass
class SignatureGroup:
    node_title: str
    round: int
    rows: list[ProgressRow]

    @property
    def signed(self) -> int:
        return sum(1 for row in self.rows if row.outcome)


@dataclass
class CaseDetail:
    case: Case
    role: str
    definition: Definition
    service_title: str
    disclosure: Disclosure
    progress: list[ProgressRow]
    timeline: list[TimelineEntry]
    attachments: list[AttachmentRow]
    correction: CorrectionRequest | None = None
    my_tasks: list[ProgressRow] = field(default_factory=list)
    signatures: list[SignatureGroup] = field(default_factory=list)
    colleagues: list[Any] = field(default_factory=list)
    departments: tuple[Department, ...] = ()
    # For a reviewer: what the applicant's corrections changed since the
    # department last decided on the case (govflow.cases.corrections).
    changes: list[ChangeView] = field(default_factory=list)
    # The promise and the statutory limit of an accepted case (case_limits).
    limits: list[CaseLimit] = field(default_factory=list)
    # 一件事: a line per item of the template's bundle (None without one)
    bundle: BundleView | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def can_withdraw(self) -> bool:
        return self.is_owner and (self.case.status == CaseStatus.DRAFT or self.case.is_open)

    @property
    def can_correct(self) -> bool:
        return self.is_owner and self.case.status == CaseStatus.AWAITING_CORRECTION


def case_detail(*, user, reference: str, language: str = "zh", now: datetime | None = None) -> CaseDetail:
    """Everything the case page shows, filtered for the user. It writes
    nothing: the secret fields a reviewer is shown unmasked are listed in
    `disclosure.revealed`, and the view records the read once
    (govflow.cases.reads.case_reads_record)."""
    now = now or timezone.now()
    lang = language_key(language)
    access = case_access(user=user, reference=reference)
    case = access.case
    definition = version_definition(case.version)
    calendar = calendar_get(definition.calendar)
    tasks = list(
        Task.objects.filter(case=case)
        .select_related("department", "assignee", "decided_by")
        .order_by("created_at", "id")
    )
    paused = case.clock_paused_at is not None
    progress: list[ProgressRow] = []
    for task in tasks:
        if task.kind not in STAFF_TASK_KINDS:
            continue
        node = definition.nodes.get(task.node_id)
        progress.append(
            ProgressRow(
                task=task,
                node_title=_node_title(definition, task.node_id, lang),
                department_name=task.department.name(lang) if task.department else "",
                holder=display_name(task.assignee) if task.is_live else "",
                sla=sla_of(
                    due_at=task.due_at,
                    reminder_due=task.remind_at,
                    live=task.is_live,
                    paused=paused,
                    calendar=calendar,
                    now=now,
                    completed_at=task.completed_at if task.status == TaskStatus.COMPLETED else None,
                    provisional=task.due_provisional,
                ),
                outcome=task.outcome,
                opinion=task.opinion,
                decided_by=display_name(task.decided_by),
                offered=tuple(node.outcomes) if node is not None else (),
            )
        )
    detail = CaseDetail(
        case=case,
        role=access.role,
        definition=definition,
        service_title=case.template.title(lang),
        disclosure=Disclosure([]),
        progress=progress,
        timeline=_timeline(case, tasks, definition, lang, staff=access.role == REVIEWER),
        attachments=[
            AttachmentRow(a, _slot_label(definition, a.slot, lang))
            for a in Attachment.objects.filter(case=case)
        ],
        departments=access.departments,
        limits=case_limits(case, calendar=calendar, now=now, language=lang),
        bundle=case_bundle(case, definition, lang),
    )
    if case.status == CaseStatus.AWAITING_CORRECTION:
        detail.correction = _correction_request(case, tasks, definition, lang)
    if access.role == OWNER:
        detail.disclosure = field_views(definition.form, case.data, viewer=OWNER, language=lang)
        return detail
    codes = [d.code for d in access.departments]
    detail.disclosure = field_views(
        definition.form, case.data, viewer=REVIEWER, cleared=cleared_fields(definition, codes), language=lang
    )
    detail.my_tasks = [
        row for row in progress if row.task.is_live and row.task.department_id in access.department_ids
    ]
    if any(t.kind == TaskKind.CORRECTION and t.status == TaskStatus.COMPLETED for t in tasks):
        since = last_look(case, access.department_ids)
        detail.changes = change_views(
            definition,
            changes_since(case, definition, since, lang),
            viewer=REVIEWER,
            cleared=cleared_fields(definition, codes),
            language=lang,
        )
    groups: dict[tuple[str, int], SignatureGroup] = {}
    for row in progress:
        if row.task.kind == TaskKind.SIGNATURE:
            key = (row.task.node_id, row.task.round)
            groups.setdefault(key, SignatureGroup(row.node_title, row.task.round, [])).rows.append(row)
    detail.signatures = list(groups.values())
    if detail.my_tasks:
        detail.colleagues = list(
            Membership.objects.filter(department_id__in=access.department_ids)
            .exclude(user=user)
            .exclude(user_id=case.applicant_id)
            .select_related("user", "department")
            .order_by("department__code", "user__username")
        )
    return detail


def _slot_label(definition: Definition, slot: str, lang: str) -> str:
    for spec in definition.form.attachments:
        if spec.id == slot:
            return spec.label.get(lang) or spec.label.get("zh") or slot
    return slot


def _correction_request(
    case: Case, tasks: list[Task], definition: Definition, lang: str
) -> CorrectionRequest:
    waiting = [t for t in tasks if t.kind == TaskKind.CORRECTION and t.is_live]
    returned = [t for t in tasks if t.outcome == "return" and t.kind in STAFF_TASK_KINDS]
    last_return = max(returned, key=lambda t: (t.completed_at or t.created_at, t.pk), default=None)
    deadline, provisional = None, False
    if waiting:
        deadline, provisional = (
            Timer.objects.filter(
                case=case, task__in=waiting, kind="correction_deadline", status=Timer.PENDING
            )
            .order_by("due_at")
            .values_list("due_at", "provisional")
            .first()
        ) or (None, False)
    notice = _notice_items(definition, waiting, lang)
    return CorrectionRequest(
        notice=notice,
        node_title=_node_title(definition, waiting[0].node_id, lang) if waiting else "",
        opinion=last_return.opinion if last_return else "",
        department_name=last_return.department.name(lang) if last_return and last_return.department else "",
        deadline=deadline,
        deadline_provisional=provisional,
    )


def _notice_items(definition: Definition, waiting: list[Task], lang: str) -> list[dict[str, str]]:
    """The open correction tasks' notices, with labels; empty if one of them lists nothing."""
    if not waiting or any(not task.notice for task in waiting):
        return []
    labels = {spec.id: spec.label for spec in (*definition.form.fields, *definition.form.attachments)}
    items: list[dict[str, str]] = []
    for task in waiting:
        for item in task.notice:
            label = labels.get(item["id"]) or {}
            items.append({**item, "label": label.get(lang) or label.get("zh") or item["id"]})
    return items


def _timeline(
    case: Case, tasks: list[Task], definition: Definition, lang: str, *, staff: bool
) -> list[TimelineEntry]:
    kinds = PUBLIC_TIMELINE_KINDS + (STAFF_TIMELINE_KINDS if staff else ())
    by_engine_id = {t.engine_id: t for t in tasks}
    entries = []
    for event in (
        AuditEvent.objects.filter(case=case, action__in=kinds).select_related("actor").order_by("id")
    ):
        data = event.data or {}
        task = by_engine_id.get(event.object_id) if event.object_type == "task" else None
        node_id = data.get("node") or (task.node_id if task else "")
        department = task.department if task is not None and task.department_id else None
        if event.actor_id is None:
            actor = ""
        elif event.actor_id == case.applicant_id:
            actor = "applicant"
        else:
            # Applicants see the department that acted; staff see who.
            actor = display_name(event.actor) if staff else ""
        if event.action == "BUNDLE_ITEM_ENDED":
            entries.append(item_timeline_entry(event.at, data, definition, lang))
            continue
        entries.append(
            TimelineEntry(
                at=event.at,
                kind=event.action,
                node_title=_node_title(definition, node_id, lang) if node_id else "",
                department_name=department.name(lang) if department else "",
                actor=actor,
                outcome=str(data.get("outcome") or ""),
                opinion=str(data.get("opinion") or ""),
            )
        )
    return entries


def item_timeline_entry(
    at: datetime, data: dict[str, Any], definition: Definition, lang: str
) -> TimelineEntry:
    """一件事: an item ended, with its title, department and status in words."""
    title, department, status = item_words(
        definition, str(data.get("item", "")), str(data.get("outcome")), lang
    )
    return TimelineEntry(
        at=at,
        kind="BUNDLE_ITEM_ENDED",
        node_title=title,
        department_name=department,
        actor="",
        outcome=status,
        opinion="",
    )


# -- attachments ----------------------------------------------------------------


def attachment_get_for_user(*, user, reference: str, attachment_id: int) -> Attachment:
    """An attachment of a case the user may see; NotFound otherwise."""
    access = case_access(user=user, reference=reference)
    attachment = Attachment.objects.filter(pk=attachment_id, case=access.case).first()
    if attachment is None:
        raise NotFound("attachment not found")
    return attachment


def attachments_for_case(*, case: Case) -> list[Attachment]:
    return list(Attachment.objects.filter(case=case))


# -- reviewer inbox --------------------------------------------------------------


@dataclass
class TaskRow:
    task: Task
    node_title: str
    service_title: str
    department_name: str
    holder: str
    sla: Sla
    is_mine: bool

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


def _staff_tasks() -> QuerySet[Task]:
    return (
        Task.objects.filter(kind__in=STAFF_TASK_KINDS)
        .select_related("case", "case__template", "department", "assignee")
        .defer("case__data", "case__state")
    )


def _rows(tasks: list[Task], user, lang: str, now: datetime) -> list[TaskRow]:
    definitions = _definitions(t.case.version_id for t in tasks)
    calendars: dict[str, WorkingCalendar] = {}
    rows = []
    for task in tasks:
        definition = definitions.get(task.case.version_id)
        code = definition.calendar if definition else "cn"
        calendar = calendars.get(code) or calendars.setdefault(code, calendar_get(code))
        rows.append(
            TaskRow(
                task=task,
                node_title=_node_title(definition, task.node_id, lang),
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
    found = {task.pk: task for task in _staff_tasks().filter(pk__in=chosen[:per_page])}
    rows = [found[pk] for pk in chosen[:per_page] if pk in found]
    return TaskPage(_rows(rows, user, language_key(language), now), page, len(chosen) > per_page)


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
    from django.db.models import F

    return F(name).asc(nulls_last=True)


def _desc_nulls_first(name: str):
    from django.db.models import F

    return F(name).desc(nulls_first=True)


def _desc(name: str):
    from django.db.models import F

    return F(name).desc(nulls_last=True)


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
    """One inbox row (for an HTMX refresh after claim or release)."""
    now = now or timezone.now()
    task = (
        _staff_tasks()
        .filter(pk=task_id, department_id__in=Membership.objects.filter(user=user).values("department_id"))
        .first()
    )
    if task is None:
        raise NotFound("task not found")
    return _rows([task], user, language_key(language), now)[0]


# -- department heads ---------------------------------------------------------------


@dataclass
class DepartmentLoad:
    department: Department
    rows: list[TaskRow]
    members: list[Any]

    @property
    def open_count(self) -> int:
        return sum(1 for row in self.rows if row.task.status == TaskStatus.OPEN)

    @property
    def claimed_count(self) -> int:
        return sum(1 for row in self.rows if row.task.status == TaskStatus.CLAIMED)

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.sla.is_overdue)

    @property
    def soon_count(self) -> int:
        return sum(1 for row in self.rows if row.sla.level == "amber")

    @property
    def escalated_count(self) -> int:
        return sum(1 for row in self.rows if row.task.escalated)


def department_tasks_for_head(
    *, user, language: str = "zh", now: datetime | None = None, overdue_only: bool = False
) -> list[DepartmentLoad]:
    """For each department the user heads: its live tasks (overdue first),
    the counts a head watches, and the members a task can be reassigned to."""
    now = now or timezone.now()
    if not user.is_authenticated:
        return []
    departments = list(
        Department.objects.filter(memberships__user=user, memberships__is_head=True).order_by("code")
    )
    if not departments:
        return []
    ids = [d.pk for d in departments]
    tasks = _staff_tasks().filter(department_id__in=ids, status__in=LIVE_TASK_STATUSES)
    if overdue_only:
        tasks = tasks.filter(due_at__lte=now)
    rows = _rows(list(tasks.order_by(_asc("due_at"), "id")), user, language_key(language), now)
    members: dict[int, list[Any]] = {pk: [] for pk in ids}
    for membership in (
        Membership.objects.filter(department_id__in=ids).select_related("user").order_by("user__username")
    ):
        members[membership.department_id].append(membership.user)
    return [
        DepartmentLoad(
            department=d,
            rows=[row for row in rows if row.task.department_id == d.pk],
            members=members[d.pk],
        )
        for d in departments
    ]
