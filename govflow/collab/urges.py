"""催办: the only writer of urges.

The applicant may urge a case in review once per working day, and only a
step that has used half of its time limit (on the real calendar; a step
without a limit after one working day). A department head may urge any task
of their departments, a leader any task. The holder of each urged task is
told (and their acting officer), else the department; every urge is
audited, sent to webhooks (`case.urged`) and counted on the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from govflow.accounts.models import LEADER, Membership
from govflow.accounts.permissions import has_role
from govflow.audit.actions import Action
from govflow.cases import rows
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.errors import Conflict, InvalidInput, NotFound
from govflow.processes.services import version_definition
from govflow.timers.calendar import WorkingCalendar, tolerant
from govflow.timers.deadlines import deadline
from govflow.timers.services import calendar_get

from .common import STAFF_KINDS, audit, notify, now_or, text, webhook
from .models import Urge, UrgeRole

MAX_NOTE = 200


@dataclass(frozen=True)
class UrgeState:
    """What the applicant's page says about urging."""

    allowed: bool
    urged_today: bool
    opens_at: datetime | None  # when a step becomes urgeable, if none is yet
    last: Urge | None


def urge_day(calendar: WorkingCalendar, now: datetime) -> date:
    """The working day an urge at `now` counts for (Beijing date; a weekend
    or holiday urge counts for the next working day)."""
    today = timezone.localtime(now).date()

    def compute(cal: WorkingCalendar) -> date:
        return today if cal.is_working_day(today) else cal.add_working_days(today, 1)

    day, _ = tolerant(calendar, compute)
    return day


def urgeable_from(task: Task, definition, calendar: WorkingCalendar) -> datetime:
    """When the applicant may first urge this step: half its time limit."""
    node = definition.nodes.get(task.node_id)
    sla = node.sla if node is not None else None
    if sla is None:
        return deadline(calendar, task.created_at, days=1, hours=None).due_at
    limit = sla.limit
    return deadline(
        calendar,
        task.created_at,
        days=limit.days,
        hours=limit.hours,
        fraction=0.5,
        calendar_days=limit.calendar_days,
    ).due_at


def _live_tasks(case: Case) -> list[Task]:
    return list(
        Task.objects.filter(case=case, kind__in=STAFF_KINDS, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
        .select_related("department")
        .order_by("created_at", "id")
    )


def urge_state(*, case: Case, user, now: datetime | None = None) -> UrgeState:
    """For the applicant's page: may they urge now, and if not, when."""
    now = now_or(now)
    last = Urge.objects.filter(case=case, urged_by=user).order_by("-created_at").first()
    if case.applicant_id != user.pk or case.status != CaseStatus.IN_REVIEW:
        return UrgeState(False, False, None, last)
    definition = version_definition(case.version)
    calendar = calendar_get(definition.calendar)
    urged_today = last is not None and last.day == urge_day(calendar, now)
    tasks = _live_tasks(case)
    opens = [urgeable_from(task, definition, calendar) for task in tasks]
    ready = any(at <= now for at in opens)
    pending = [at for at in opens if at > now]
    return UrgeState(
        ready and not urged_today, urged_today, min(pending) if pending and not ready else None, last
    )


@transaction.atomic
def case_urge(
    *, case_id: int, actor, task_id: int | None = None, note: str = "", now: datetime | None = None
) -> list[Urge]:
    """Urge the case's open steps (or the one task `task_id`)."""
    now = now_or(now)
    case = rows.lock_case(case_id)
    if case is None:
        raise NotFound("case not found")
    note = text(note, "note", required=False, limit=MAX_NOTE)
    definition = version_definition(Case.objects.select_related("version").get(pk=case.pk).version)
    calendar = calendar_get(definition.calendar)
    tasks = _live_tasks(case)
    if task_id is not None:
        tasks = [task for task in tasks if task.pk == task_id]
    if case.applicant_id == actor.pk:
        role = UrgeRole.APPLICANT
        if case.status != CaseStatus.IN_REVIEW:
            raise Conflict("only a case in review can be urged", code="not_in_review")
        day = urge_day(calendar, now)
        if Urge.objects.filter(case=case, urged_by=actor, day=day).exists():
            raise Conflict("you can urge a case once per working day", code="urged_today")
        opens = {task.pk: urgeable_from(task, definition, calendar) for task in tasks}
        tasks = [task for task in tasks if opens[task.pk] <= now]
        if not tasks:
            soonest = min(opens.values(), default=None)
            when = timezone.localtime(soonest).strftime("%Y-%m-%d %H:%M") if soonest else ""
            raise Conflict(
                "a step can be urged once half of its time limit has passed"
                + (f" (from {when})" if when else ""),
                code="too_early",
            )
    else:
        day = urge_day(calendar, now)
        if has_role(actor, LEADER):
            role = UrgeRole.LEADER
        else:
            heads_of = set(
                Membership.objects.filter(user=actor, is_head=True).values_list("department_id", flat=True)
            )
            if not heads_of:
                raise NotFound("case not found")
            role = UrgeRole.HEAD
            tasks = [task for task in tasks if task.department_id in heads_of]
        if not tasks:
            if task_id is not None:
                raise NotFound("task not found")
            raise Conflict("this case has no open step you can urge", code="nothing_to_urge")
    if len(tasks) > 20:
        raise InvalidInput("urge at most 20 steps at once")
    try:
        with transaction.atomic():
            urges = Urge.objects.bulk_create(
                [
                    Urge(case=case, task=task, urged_by=actor, role=role, note=note, day=day, created_at=now)
                    for task in tasks
                ]
            )
    except IntegrityError:  # the same applicant urging twice at once
        raise Conflict("you can urge a case once per working day", code="urged_today") from None
    for urge, task in zip(urges, tasks, strict=True):
        audit(
            Action.CASE_URGED,
            actor,
            now,
            case_id=case.pk,
            object_type="task",
            object_id=task.engine_id,
            node=task.node_id,
            department=task.department.code if task.department else None,
            role=role.value,
            note=note or None,
        )
        notify("urged", f"urge:{urge.pk}", now, urge=urge.pk)
        webhook(
            "case.urged",
            case=case,
            subject=case.reference,
            data={
                "task": {"id": task.pk, "node": task.node_id},
                "department": task.department.code if task.department else None,
                "role": role.value,
            },
        )
    return urges
