"""What the applicant is told without asking: the decision on their
application (approved, refused, withdrawn or deemed withdrawn) and each
certificate issued or revoked, in the app and by e-mail.

The decision is heard from the case's typed events (`CaseEnded`, staged
with the case's own writes); a certificate by a call from the certificates
service in the certificate's transaction. Both leave an outbox message, so
the notice goes out after commit, once per key, with retries
(govflow.notifications.consumers). What the notice says is composed by the
app whose rows it is about, registered here by `what` in its AppConfig.ready
(govflow.cases.applicant_notices: the case's and its items' ends;
govflow.certificates.notices: a certificate issued or revoked), so this app
imports neither. Tasks the applicant must act on (corrections, applicant
steps) are notified where they are created
(govflow.cases.task_notices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .services import notification_send

TOPIC = "applicant_notice"

SUBJECTS = {
    "approved": "申请已准予许可 / Your application was approved",
    "rejected": "申请未予许可 / Your application was refused",
    "withdrawn": "申请已撤回 / Your application was withdrawn",
    "certificate_issued": "证照已签发 / Your certificate is issued",
    "certificate_revoked": "证照已撤销 / Your certificate was revoked",
    "item_ended": "事项办理结果 / An item of your application was decided",
}
#: 一件事: the item ends the applicant is told of (one that does not apply is not news)
TOLD_ITEM_ENDS = ("approved", "rejected", "withdrawn", "not_started")


def case_ended(changes, events) -> None:
    """CaseEnded subscriber: tell the applicant how their application ended
    (a draft deleted before submission is not an application)."""
    for event in events:
        if event.previous == "draft":
            continue
        changes.emit(TOPIC, f"applicant:ended:{event.case.pk}", what=event.outcome, case=event.case.pk)


def bundle_item_ended(changes, events) -> None:
    """BundleItemEnded subscriber: 一件事 - tell the applicant how each item
    of their bundle ended as it ends (an item refused ends alone; the case
    goes on with the others)."""
    for event in events:
        if event.status not in TOLD_ITEM_ENDS:
            continue
        changes.emit(
            TOPIC,
            f"applicant:item:{event.case.pk}:{event.item}",
            what="item_ended",
            case=event.case.pk,
            item=event.item,
            status=event.status,
        )


def certificate_notice(certificate, what: str, now: datetime) -> None:
    """From the certificates service, inside the transaction that issues or
    revokes `certificate`: tell its applicant after commit."""
    message = OutboxMessage.objects.create(
        key=f"applicant:{what}:{certificate.pk}",
        topic=TOPIC,
        payload={"what": what, "case": certificate.case_id, "certificate": certificate.pk},
        created_at=now,
    )
    dispatch_on_commit([message.pk])


def case_line(case) -> tuple[str, str]:
    """How a notice names the application, in Chinese and in English."""
    title = f"（{case.title}）" if case.title else ""
    title_en = f" ({case.title})" if case.title else ""
    return f"您的申请 {case.reference}{title}", f"Your application {case.reference}{title_en}"


@dataclass(frozen=True)
class Told:
    """What a composer found to tell: the case (its applicant is told, its
    page linked), the text in both languages, and the notification's kind."""

    case: Any
    text: str
    kind: str


Composer = Callable[[dict[str, Any]], Told | None]  # (payload) -> None when its rows are gone
_composers: dict[str, Composer] = {}


def on_applicant_notice(what: str, composer: Composer) -> Composer:
    """Register the composer of the notices of kind `what` (one of SUBJECTS)."""
    _composers[what] = composer
    return composer


def applicant_notice_deliver(*, key: str, payload: dict[str, Any], now: datetime | None = None) -> int:
    """The outbox consumer's work: one notice to the case's applicant, once
    per key. Returns how many notifications were written (0 the second time,
    or when the case or certificate is gone)."""
    now = now or timezone.now()
    what = payload.get("what")
    compose = _composers.get(what) if what in SUBJECTS else None
    told = compose(payload) if compose is not None else None
    if told is None:
        return 0
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{told.case.reference}/"
    return notification_send(
        key=key,
        kind=told.kind,
        users=[told.case.applicant],
        subject=SUBJECTS[what],
        body=told.text + link + "\n",
        case_id=told.case.pk,
        now=now,
    )
