"""The kinds of written letter (书面告知) the administration sends an
applicant, each with the two letters its numbers carry (MR-YQ-2026-000001
is market regulation's first extension notice of 2026) and its title.

A new kind is one entry here: the model stores the code as text, so no
migration is needed. The codes are stored and searched: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

from govflow.errors import InvalidInput


@dataclass(frozen=True)
class LetterKind:
    code: str
    mark: str  # two capitals in the letter's number
    title_zh: str
    title_en: str


KINDS: dict[str, LetterKind] = {
    kind.code: kind
    for kind in (
        # 行政许可法 art 42: 延长审批期限
        LetterKind("extension", "YQ", "延长审批期限告知书", "Notice of extension of the time limit"),
        # art 45: 听证、检验、检测、检疫、鉴定、专家评审 not counted
        LetterKind(
            "excluded_time", "TC", "特别程序期间告知书", "Notice of time not counted (special procedure)"
        ),
        # art 32: 受理 / 不予受理 / 一次性告知补正
        LetterKind("acceptance", "SL", "受理通知书", "Notice of acceptance"),
        LetterKind("refusal_to_accept", "BS", "不予受理通知书", "Notice of refusal to accept"),
        LetterKind("correction_notice", "BZ", "补正材料通知书", "Notice of materials to correct"),
        # 容缺受理 and 告知承诺制
        LetterKind("tolerance_commitment", "RQ", "容缺受理承诺书", "Commitment for acceptance with gaps"),
        LetterKind("notification_commitment", "CN", "告知承诺书", "Notification and commitment letter"),
        # 公示 and fees
        LetterKind("public_notice", "GS", "公示告知书", "Notice of public announcement"),
        LetterKind("fee_notice", "SF", "缴费通知书", "Notice of fees"),
        # anything else
        LetterKind("other", "GZ", "告知书", "Written notice"),
    )
}


class UnknownLetterKind(InvalidInput):
    code = "unknown_letter_kind"


def kind_get(code: str) -> LetterKind:
    found = KINDS.get(code)
    if found is None:
        raise UnknownLetterKind(
            f"unknown letter kind {code!r}: add it to govflow/letters/kinds.py (known: {', '.join(KINDS)})"
        )
    return found
