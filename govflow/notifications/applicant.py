"""What the applicant is told without asking: the decision on their
application (approved, refused, withdrawn or deemed withdrawn) and each
certificate issued or revoked, in the app and by e-mail.

The decision is heard from the case's typed events (`CaseEnded`, staged
with the case's own writes); a certificate by a call from the certificates
service in the certificate's transaction. Both leave an outbox message, so
the notice goes out after commit, once per key, with retries
(govflow.notifications.consumers). Tasks the applicant must act on
(corrections, applicant steps) are notified where they are created
(`notification_deliver`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .models import NotificationKind
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


def _case_line(case) -> tuple[str, str]:
    title = f"（{case.title}）" if case.title else ""
    title_en = f" ({case.title})" if case.title else ""
    return f"您的申请 {case.reference}{title}", f"Your application {case.reference}{title_en}"


def applicant_notice_deliver(*, key: str, payload: dict[str, Any], now: datetime | None = None) -> int:
    """The outbox consumer's work: one notice to the case's applicant, once
    per key. Returns how many notifications were written (0 the second time,
    or when the case or certificate is gone)."""
    from govflow.cases.models import Case
    from govflow.certificates.models import Certificate

    now = now or timezone.now()
    what = payload.get("what")
    case = Case.objects.select_related("applicant").filter(pk=payload.get("case")).first()
    if case is None or what not in SUBJECTS:
        return 0
    zh, en = _case_line(case)
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{case.reference}/"
    if what == "item_ended":
        text = _item_text(case, str(payload.get("item", "")), str(payload.get("status", "")), zh, en)
        kind = NotificationKind.CASE_ENDED
    elif what in ("certificate_issued", "certificate_revoked"):
        certificate = Certificate.objects.filter(pk=payload.get("certificate"), case=case).first()
        if certificate is None:
            return 0
        names = (
            f"{certificate.title('zh')} {certificate.number}",
            f"{certificate.title('en')} {certificate.number}",
        )
        if what == "certificate_issued":
            text = (
                f"{zh}的{names[0]}已签发，可在办件页面下载，也可扫码核验。\n"
                f"{en}: {names[1]} is issued; download it from the case page.\n"
            )
            kind = NotificationKind.CERTIFICATE_ISSUED
        else:
            text = (
                f"{zh}的{names[0]}已被撤销，原因：{certificate.revoked_reason}\n"
                f"{en}: {names[1]} was revoked. Reason: {certificate.revoked_reason}\n"
            )
            kind = NotificationKind.CERTIFICATE_REVOKED
    else:
        text = {
            "approved": f"{zh}已准予许可。\n{en} was approved.\n",
            "rejected": (
                f"{zh}未予许可，理由见办件页面。\n{en} was refused; the reasons are on the case page.\n"
            ),
            "withdrawn": f"{zh}已撤回（或依法视为撤回）。\n{en} was withdrawn (or is deemed withdrawn).\n",
        }[what]
        kind = NotificationKind.CASE_ENDED
    return notification_send(
        key=key,
        kind=kind,
        users=[case.applicant],
        subject=SUBJECTS[what],
        body=text + link + "\n",
        case_id=case.pk,
        now=now,
    )


def _item_text(case, item: str, status: str, zh: str, en: str) -> str:
    """One item's end in both languages: its title, department and how it ended."""
    from govflow.cases.bundles import item_words
    from govflow.processes.services import version_definition

    definition = version_definition(case.version)
    title_zh, department_zh, status_zh = item_words(definition, item, status, "zh")
    title_en, department_en, status_en = item_words(definition, item, status, "en")
    alone = status != "approved"  # a refused item ends alone
    return (
        f"{zh}中的事项“{title_zh}”（{department_zh}）：{status_zh}。"
        + ("其他事项不受影响，" if alone else "")
        + "详见办件页面。\n"
        + f"{en}: the item \"{title_en}\" ({department_en}): {status_en}. "
        + ("The other items are not affected; " if alone else "")
        + "see the case page.\n"
    )

