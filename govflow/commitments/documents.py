"""The commitment document (容缺受理承诺书 / 告知承诺书), issued through the
shared written-letters module (govflow.letters): numbered, sealed, e-signed
with the receiving department's key, stored among the case's letters, and
the applicant notified. This is the one place that knows how it is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from govflow.letters.services import letter_issue

LETTER_KINDS = {"deferral": "tolerance_commitment", "pledge": "notification_commitment"}
LEGAL_BASIS = {
    "deferral": "容缺受理：按本地容缺受理实施办法办理（次要材料暂缺，承诺限期补齐）。",
    "pledge": "《国务院办公厅关于全面推行证明事项和涉企经营许可事项告知承诺制的指导意见》"
    "（国办发〔2020〕42号）。",
}
PROMISES = {
    "deferral": (
        "本申请人申请办理“{service}”（办件编号 {reference}），下列材料在受理时暂缺。本申请人承诺在下列期限内"
        "补齐，并对所补材料的真实性负责；逾期未补齐或所补材料经审查不符合要求的，同意终止办理本申请，"
        "由此产生的后果由本申请人承担。"
    ),
    "pledge": (
        "本申请人申请办理“{service}”（办件编号 {reference}），已知晓行政机关告知的下列条件和要求，承诺已经"
        "符合这些条件，以本承诺代替下列证明材料，愿意接受行政机关的事后核查，并对承诺的真实性承担法律"
        "责任。承诺不实的，行政机关依法撤销行政许可，并记入本申请人的信用记录。"
    ),
}


@dataclass(frozen=True)
class Item:
    label: str
    text: str  # the condition told (告知承诺) or the make-up deadline (容缺)


def commitment_letter(
    *, case, kind: str, title: str, service: str, items: list[Item], department, actor, signed_at: datetime
):
    """Issue the applicant's signed commitment as a letter of the case and
    return it (a govflow.letters Letter)."""
    head = "补齐期限" if kind == "deferral" else "告知的条件和要求"
    signer = case.title or actor.get_full_name() or actor.get_username()
    paragraphs = [
        PROMISES[kind].format(service=service, reference=case.reference),
        *[f"{item.label}——{head}：{item.text}" for item in items],
        f"承诺人：{signer}（在线签署，{timezone.localtime(signed_at):%Y年%m月%d日 %H:%M}）",
    ]
    return letter_issue(
        case=case,
        kind=LETTER_KINDS[kind],
        title=title,
        paragraphs=paragraphs,
        legal_basis=LEGAL_BASIS[kind],
        department=department,
        actor=actor,
        now=signed_at,
        key=f"commitment:{case.pk}:{kind}",
    )
