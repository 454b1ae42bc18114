"""The written notice of time excluded from the statutory clock (行政许可法
art 45: hearings, testing, inspection, expert review and the like are not
counted, and the office tells the applicant in writing how long they take).

When a case enters a step with `clock: excluded`, the bridge queues an
outbox message; its consumer (govflow.letters.consumers) calls
`excluded_time_notify`, which issues a letter (a numbered, sealed PDF in the
case's documents and an in-app notice) naming the step, the legal basis and
the expected length.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from govflow.cases.models import Case
from govflow.processes.services import version_definition

from .services import letter_issue

TOPIC = "excluded_time"
DEFAULT_LEGAL_BASIS = "《中华人民共和国行政许可法》第四十五条"


def _length(duration) -> str:
    if duration is None:
        return "所需时间以实际办理为准，本机关将在程序结束后告知"
    if duration.days is not None:
        return f"预计{duration.days}个工作日"
    if duration.calendar_days is not None:
        return f"预计{duration.calendar_days}日"
    return f"预计{duration.hours:g}个工作小时"


def excluded_time_notify(*, case_id: int, node_id: str, at: datetime, key: str):
    """Issue the notice for the excluded step `node_id` the case entered at
    `at` (idempotent by `key`). Returns the letter, or None when the case or
    the step is gone."""
    case = Case.objects.select_related("version", "applicant").filter(pk=case_id).first()
    if case is None:
        return None
    definition = version_definition(case.version)
    node = definition.nodes.get(node_id)
    if node is None or not node.clock_excluded:
        return None
    step = node.label("zh")
    service = definition.title.get("zh") or definition.id
    basis = node.clock_legal_basis or DEFAULT_LEGAL_BASIS
    started = timezone.localtime(at).strftime("%Y年%m月%d日")
    paragraphs = [
        f"你（单位）申请的“{service}”事项（办件编号 {case.reference}），自{started}起进入“{step}”程序。",
        f"依据{basis}，该程序所需时间不计入审批期限；{_length(node.clock_expected)}。",
        "该程序结束后，审批期限继续计算。你（单位）可在办件页面查询办理进度。",
        "特此告知。",
    ]
    return letter_issue(
        case=case,
        kind="excluded_time",
        title="特别程序期间告知书",
        paragraphs=paragraphs,
        legal_basis=basis,
        department=node.department,
        now=at,
        key=key,
    )
