"""Outbox consumers for case work: service tasks and notifications."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from govflow.outbox.services import consumer

from .automation import service_task_execute
from .models import Task

log = logging.getLogger(__name__)


@consumer("service_task")
def run_service_task(payload: dict[str, Any]) -> None:
    service_task_execute(case_id=payload["case"], task_engine_id=payload["task"])


SUBJECTS = {
    "task_created": "新的审批任务 / New review task",
    "reminder": "审批任务即将到期 / Review task due soon",
    "escalation": "审批任务已超期 / Review task overdue",
    "correction_requested": "请补正材料 / Please correct your application",
}


@consumer("notify")
def notify(payload: dict[str, Any]) -> None:
    """E-mail the people concerned. Messages carry the case reference and the
    step's name only, never form data."""
    task = (
        Task.objects.select_related("case", "department", "case__applicant")
        .filter(case_id=payload["case"], engine_id=payload["task"])
        .first()
    )
    if task is None:
        return
    kind = payload.get("kind", "task_created")
    if kind == "correction_requested":
        recipients = [task.case.applicant.email] if task.case.applicant.email else []
    else:
        members = task.department.memberships.select_related("user") if task.department else []
        heads_only = kind == "escalation"
        recipients = [m.user.email for m in members if m.user.email and (m.is_head or not heads_only)]
    if not recipients:
        return
    body = (
        f"{task.case.reference} · {task.node_id}\n"
        f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{task.case.reference}/\n"
    )
    send_mail(SUBJECTS.get(kind, kind), body, None, recipients, fail_silently=False)
