"""Notifying people about a case's tasks (a new task, a reminder, an
escalation, a correction asked for, a moved deadline, ...): who hears of it
and what it says. `notification_deliver` is what the outbox `notify`
consumer (govflow.cases.consumers) calls; it writes through the
notifications app (`notification_write`: in-app rows, e-mail, SMS), once
per outbox key. E-mails carry the case reference and the step's name,
never form data."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from govflow.notifications.models import Notification, NotificationKind
from govflow.notifications.services import LOCAL_TZ, SUBJECTS, notification_write
from govflow.processes.services import version_definition
from govflow.timers.models import Timer

from .models import Task


def _recipients(task, kind: str) -> list:
    """Who hears about it: the applicant for a correction; the reviewer
    holding the task for a reminder (else the department); the department
    head(s) on an escalation; the whole department for a new task. A changed
    deadline goes to whoever has the task: the applicant for a correction,
    else the reviewer holding it, else the department."""
    if kind in (
        NotificationKind.CORRECTION_REQUESTED,
        NotificationKind.APPLICANT_STEP,
        NotificationKind.OBJECTION_FILED,
    ):
        return [task.case.applicant]
    if kind == NotificationKind.DEADLINE_CHANGED and task.kind in ("correction", "applicant"):
        return [task.case.applicant]
    holder_first = (NotificationKind.REMINDER, NotificationKind.DEADLINE_CHANGED)
    if kind in holder_first and task.assignee_id is not None:
        return [task.assignee]
    if task.department_id is None:
        return []
    members = [
        m for m in task.department.memberships.select_related("user").order_by("user_id") if m.user.is_active
    ]
    if kind == NotificationKind.ESCALATION:
        heads = [m for m in members if m.is_head]
        members = heads or members
    return [m.user for m in members]


def _current_due(task) -> tuple[datetime | None, bool]:
    """The task's deadline as it stands, and whether it is provisional: a
    correction's is its correction_deadline timer's (the applicant's time),
    a review's is the task's own due date (its SLA breach)."""
    if task.kind == "correction":
        timer = Timer.objects.filter(task=task, kind="correction_deadline").order_by("-id").first()
        if timer is None:
            return None, False
        return timer.due_at, timer.provisional
    return task.due_at, task.due_provisional


def _due_line(task) -> str:
    due, provisional = _current_due(task)
    if due is None:
        return "办理期限：待定 / Deadline: not set yet"
    text = timezone.localtime(due, LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if provisional:
        return f"办理期限：{text}（预计）/ Deadline: {text} (provisional)"
    return f"办理期限：{text} / Deadline: {text}"


def _body(task, kind: str = "") -> str:
    node = version_definition(task.case.version).nodes.get(task.node_id)
    step_zh = node.label("zh") if node is not None else task.node_id
    step_en = node.label("en") if node is not None else task.node_id
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{task.case.reference}/"
    due = f"{_due_line(task)}\n" if kind == NotificationKind.DEADLINE_CHANGED else ""
    return f"{task.case.reference} · {step_zh} / {step_en}\n{due}{link}\n"


def notification_deliver(
    *, key: str, kind: str, case_id: int, task_engine_id: str, now: datetime | None = None
) -> int:
    """Write one outbox message's notifications and e-mail them; returns how
    many were written (0 when this key was delivered before)."""
    now = now or timezone.now()
    if kind not in NotificationKind.values:
        kind = NotificationKind.TASK_CREATED
    if Notification.objects.filter(outbox_key=key).exists():
        return 0
    found = list(
        Task.objects.select_related("case__applicant", "case__version", "department", "assignee")
        .filter(case_id=case_id, engine_id=task_engine_id)
        .order_by()[:1]
    )
    if not found:
        return 0
    task = found[0]
    recipients = _recipients(task, kind)
    if not recipients:
        return 0
    return notification_write(
        key=key,
        kind=kind,
        users=recipients,
        subject=SUBJECTS[kind],
        body=_body(task, kind),
        case_id=case_id,
        task=task,
        now=now,
    )
