"""The written notice of an extended time limit (延长审批期限告知书,
行政许可法 art 42): what govflow.cases.operations.extension.task_extend
tells the applicant once a department head approved the extension."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from govflow.cases.models import Case, Task
from govflow.cases.operations.extension import LEGAL_BASIS, Extended
from govflow.processes.services import version_definition

from .models import Letter
from .services import letter_issue


def _when(moment: datetime | None, *, hours: bool) -> str:
    if moment is None:
        return "（计时暂停中，恢复计时后顺延）"
    local = timezone.localtime(moment)
    text = f"{local.year}年{local.month}月{local.day}日"
    return f"{text}{local:%H:%M}" if hours else text


def extension_letter(
    case: Case, task: Task, moved: Extended, *, reason: str, actor, now: datetime, key: str
) -> Letter:
    """Issue the 延长审批期限告知书 for `moved` (idempotent by `key`).
    Passed to task_extend by govflow.collab.extensions."""
    definition = version_definition(case.version)
    node = definition.nodes.get(task.node_id)
    step = node.label("zh") if node is not None else task.node_id
    service = definition.title.get("zh") or definition.id
    span = f"{moved.days}个工作日" if moved.days is not None else f"{moved.hours:g}个工作小时"
    hours = moved.days is None
    new_due = _when(moved.due_after, hours=hours)
    if moved.provisional and moved.due_after is not None:
        new_due += "（预计，以届时公布的节假日安排为准）"
    paragraphs = [
        f"你（单位）申请的“{service}”事项（办件编号 {case.reference}），"
        f"现由本机关在“{step}”环节审查。因情况复杂，本机关不能在规定期限内作出决定。",
        f"延期理由：{reason}",
        f"经本机关负责人批准，审查期限延长{span}，由原定的{_when(moved.due_before, hours=hours)}"
        f"延长至{new_due}。",
        "特此告知。你（单位）可在办件页面查询办理进度。",
    ]
    return letter_issue(
        case=case,
        kind="extension",
        title="延长审批期限告知书",
        paragraphs=paragraphs,
        legal_basis=LEGAL_BASIS,
        department=task.department,
        actor=actor,
        now=now,
        task=task,
        key=key,
    )
