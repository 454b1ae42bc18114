"""Outbox consumer: tell administrators about proposed template versions
(four-eyes, govflow.processes.proposals), once per key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from govflow.notifications.services import notification_send
from govflow.outbox.services import consumer

SUBJECTS = {
    "template_proposed": "模板新版本待复核 / A template version waits for your approval",
    "template_proposal_decided": "模板新版本复核结果 / Your proposed template version was decided",
}


@consumer("process_notice")
def process_notice(payload: dict[str, Any], key: str) -> None:
    kind = payload.get("kind")
    if kind not in SUBJECTS:
        return
    users = get_user_model().objects.filter(pk__in=payload.get("users") or [], is_active=True).order_by("pk")
    notification_send(
        key=key,
        kind=kind,
        users=users,
        subject=SUBJECTS[kind],
        body=payload.get("body", ""),
        now=timezone.now(),
    )
