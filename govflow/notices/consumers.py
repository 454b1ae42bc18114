"""Outbox consumer: a case waits for a fee (a `fee` node was entered): the
applicant is told in the app and by e-mail, once per outbox key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from govflow.cases.models import Case
from govflow.notifications.models import NotificationKind
from govflow.notifications.services import notification_send
from govflow.outbox.services import consumer
from govflow.processes.services import version_definition


@consumer("fee_due")
def fee_due(payload: dict[str, Any], key: str) -> None:
    case = Case.objects.select_related("applicant", "version").filter(pk=payload["case"]).first()
    if case is None:
        return
    node = version_definition(case.version).nodes.get(payload["node"])
    if node is None or node.type != "fee":
        return
    amount = node.settings.get("amount", "")
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{case.reference}/"
    notification_send(
        key=key,
        kind=NotificationKind.APPLICANT_STEP,
        users=[case.applicant],
        subject="请缴纳费用 / A fee to pay",
        body=f"{case.reference} · {node.label('zh')} / {node.label('en')}\n"
        f"待缴费 ¥{amount} / Amount due: CNY {amount}\n{link}\n",
        case_id=case.pk,
        now=timezone.now(),
    )
