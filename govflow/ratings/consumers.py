"""Outbox consumer: tell the department's heads that a poor rating waits
for their remediation (in the app and by e-mail; retried by the outbox)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from govflow.notifications.models import NotificationKind
from govflow.notifications.services import SUBJECTS, notification_send
from govflow.outbox.services import consumer

from .models import Remediation
from .services import NOTIFY_TOPIC

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@consumer(NOTIFY_TOPIC)
def notify_heads(payload: dict[str, Any], key: str) -> None:
    remediation = (
        Remediation.objects.select_related("rating__case", "department")
        .filter(pk=payload.get("remediation"))
        .first()
    )
    if remediation is None:
        return
    heads = get_user_model().objects.filter(
        memberships__department=remediation.department, memberships__is_head=True, is_active=True
    )
    case = remediation.rating.case
    due = remediation.due_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    mark = "（预计）" if remediation.due_provisional else ""
    link = settings.GOVFLOW_PUBLIC_BASE_URL + reverse("ratings:remediation", args=[remediation.pk])
    body = (
        f"{case.reference} · {remediation.department.name_zh} 收到差评"
        f"（{remediation.rating.get_level_display()}），"
        f"请于 {due}{mark} 前完成整改并回访申请人。\n"
        f"A poor rating of case {case.reference} waits for {remediation.department.code}'s remediation "
        f"and callback by {due}{' (provisional)' if mark else ''}.\n{link}\n"
    )
    notification_send(
        key=key,
        kind=NotificationKind.POOR_RATING,
        users=heads.order_by("pk"),
        subject=SUBJECTS[NotificationKind.POOR_RATING],
        body=body,
        case_id=case.pk,
        now=remediation.created_at,
    )
