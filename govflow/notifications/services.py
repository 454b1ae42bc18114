"""Notifying people about tasks: in-app rows and e-mail.

`notification_deliver` is what the outbox `notify` consumer calls. It is
idempotent per outbox key: the rows of one key are inserted, and the e-mail
sent, inside one transaction, and the (key, user) unique constraint makes a
concurrent second delivery wait for the first and then fail without
sending anything; a later redelivery finds the rows and does nothing.
E-mails carry the case reference and the step's name, never form data.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from govflow.errors import NotFound

from .models import Notification, NotificationKind

SUBJECTS = {
    NotificationKind.TASK_CREATED: "新的审批任务 / New review task",
    NotificationKind.REMINDER: "审批任务即将到期 / Review task due soon",
    NotificationKind.ESCALATION: "审批任务已超期 / Review task overdue",
    NotificationKind.CORRECTION_REQUESTED: "请补正材料 / Please correct your application",
}


def _recipients(task, kind: str) -> list:
    """Who hears about it: the applicant for a correction; the reviewer
    holding the task for a reminder (else the department); the department
    head(s) on an escalation; the whole department for a new task."""
    if kind == NotificationKind.CORRECTION_REQUESTED:
        return [task.case.applicant]
    if kind == NotificationKind.REMINDER and task.assignee_id is not None:
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


def _body(task) -> str:
    from govflow.processes.services import version_definition

    node = version_definition(task.case.version).nodes.get(task.node_id)
    step_zh = node.label("zh") if node is not None else task.node_id
    step_en = node.label("en") if node is not None else task.node_id
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{task.case.reference}/"
    return f"{task.case.reference} · {step_zh} / {step_en}\n{link}\n"


def notification_deliver(
    *, key: str, kind: str, case_id: int, task_engine_id: str, now: datetime | None = None
) -> int:
    """Write one outbox message's notifications and e-mail them; returns how
    many were written (0 when this key was delivered before)."""
    from govflow.cases.models import Task

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
    with transaction.atomic():
        Notification.objects.bulk_create(
            [
                Notification(user=user, kind=kind, case_id=case_id, task=task, outbox_key=key, created_at=now)
                for user in recipients
            ]
        )
        addresses = sorted({user.email for user in recipients if user.email})
        if addresses:
            subject, body = SUBJECTS[kind], _body(task)
            # One message per address: recipients do not see each other.
            get_connection(fail_silently=False).send_messages(
                [EmailMessage(subject, body, None, [address]) for address in addresses]
            )
    return len(recipients)


def notification_mark_read(*, notification_id: int, actor, now: datetime | None = None) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, user=actor).first()
    if notification is None:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor, now: datetime | None = None) -> int:
    return Notification.objects.filter(user=actor, read_at__isnull=True).update(read_at=now or timezone.now())
