"""What the applicant is told when a certificate of their case is issued or
revoked: the text of the notices govflow.notifications.applicant queues
(`certificate_notice`, from the certificates service) and delivers,
registered with it in CertificatesConfig.ready."""

from __future__ import annotations

from typing import Any

from govflow.notifications.applicant import Told, case_line
from govflow.notifications.models import NotificationKind

from .models import Certificate


def told_certificate(payload: dict[str, Any]) -> Told | None:
    certificate = (
        Certificate.objects.select_related("case__applicant")
        .filter(pk=payload.get("certificate"), case_id=payload.get("case"))
        .first()
    )
    if certificate is None:
        return None
    case = certificate.case
    zh, en = case_line(case)
    names = (
        f"{certificate.title('zh')} {certificate.number}",
        f"{certificate.title('en')} {certificate.number}",
    )
    if payload["what"] == "certificate_issued":
        text = (
            f"{zh}的{names[0]}已签发，可在办件页面下载，也可扫码核验。\n"
            f"{en}: {names[1]} is issued; download it from the case page.\n"
        )
        return Told(case, text, NotificationKind.CERTIFICATE_ISSUED)
    text = (
        f"{zh}的{names[0]}已被撤销，原因：{certificate.revoked_reason}\n"
        f"{en}: {names[1]} was revoked. Reason: {certificate.revoked_reason}\n"
    )
    return Told(case, text, NotificationKind.CERTIFICATE_REVOKED)
