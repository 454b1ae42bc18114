"""Template filters for bilingual template texts, statuses and clocks."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from govflow.cases.attachments import type_name
from govflow.cases.models import CaseStatus, TaskStatus
from govflow.processes.texts import duration_text

register = template.Library()


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


_URL_LINE = re.compile(r"^https?://\S+$")
_FIRST_LETTER = re.compile(r"[^\W\d_]")
_HAN = re.compile(r"[\u3400-\u9fff]")


@register.filter
def notice_text(body) -> str:
    """A notice's text for the notification page: its lines in the reader's
    language when it was written in both (the e-mail keeps both), without the
    link the notice itself opens."""
    lines = [line for line in str(body or "").splitlines() if line.strip()]
    lines = [line for line in lines if not _URL_LINE.match(line.strip())]

    def chinese(line: str) -> bool:
        first = _FIRST_LETTER.search(line)
        return bool(first and _HAN.match(first.group(0)))

    zh = [line for line in lines if chinese(line)]
    en = [line for line in lines if not chinese(line)]
    if zh and en:
        lines = en if _lang() == "en" else zh
    return "\n".join(lines)


@register.filter
def department_name(department) -> str:
    """A department's name in the current language (市场监督管理局 / Market Regulation Bureau)."""
    return department.name(_lang()) if department is not None else ""


@register.filter
def tr(value) -> str:
    """A template text ({zh: ..., en: ...}) in the current language."""
    if isinstance(value, Mapping):
        return value.get(_lang()) or value.get("zh") or ""
    return "" if value is None else str(value)


@register.filter
def case_status(value) -> str:
    try:
        return str(CaseStatus(value).label)
    except ValueError:
        return str(value)


@register.filter
def task_status(value) -> str:
    try:
        return str(TaskStatus(value).label)
    except ValueError:
        return str(value)


@register.filter
def outcome(value) -> str:
    return {
        "approve": _("Approved"),
        "reject": _("Rejected"),
        "return": _("Returned for correction"),
        "corrected": _("Corrected"),
        "returned": _("Sent back to an earlier step"),
        "taken_back": _("Decision taken back"),
        "accept": _("Accepted"),
        "refuse": _("Not accepted"),
        "notice": _("Correction notice given"),
    }.get(str(value), str(value))


@register.filter
def outcome_verb(value) -> str:
    return {
        "approve": _("Approve"),
        "reject": _("Reject"),
        "return": _("Return for correction"),
        "accept": _("Accept"),
        "refuse": _("Refuse to accept"),
        "notice": _("Give a one-time correction notice"),
    }.get(str(value), str(value))


@register.filter
def working_days(value) -> str:
    """A number of working days, to one decimal place ("0.5", "3")."""
    if value is None:
        return ""
    number = float(value)
    if 0 < number < 0.1:
        return "<0.1"
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


@register.filter
def duration_days(duration) -> str:
    """A template time limit as text (govflow.processes.texts)."""
    return duration_text(duration)


@register.filter
def type_names(types) -> str:
    separator = "、" if _lang() == "zh" else ", "
    return separator.join(dict.fromkeys(type_name(t) for t in types))


@register.filter
def filesize(size) -> str:
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1048576:.1f} MB"


@register.filter
def get_item(mapping, key):
    if isinstance(mapping, Mapping):
        return mapping.get(key)
    return None


@register.filter
def event_label(kind) -> str:
    """A timeline entry's headline."""
    return {
        "CASE_CREATED": _("Draft started"),
        "CASE_SUBMITTED": _("Application submitted and accepted"),
        "CASE_IN_REVIEW": _("Review resumed"),
        "CASE_AWAITING_CORRECTION": _("Returned to the applicant for correction"),
        "CASE_CORRECTED": _("Correction sent by the applicant"),
        "CASE_APPROVED": _("Approved: all departments done"),
        "CASE_REJECTED": _("Not approved"),
        "CASE_WITHDRAWN": _("Withdrawn"),
        "TASK_COMPLETED": _("Decision"),
        "TASK_AUTO_DECIDED": _("Deemed approved when the time limit ran out"),
        "TASK_REPEAT_SIGNER_APPROVED": _("Approved automatically: the same reviewer decided an earlier step"),
        "SERVICE_TASK_COMPLETED": _("Automatic check done"),
        "CLOCK_PAUSED": _("Clock paused"),
        "CLOCK_RESUMED": _("Clock running again"),
        "BUNDLE_ITEM_ENDED": _("Item of the bundle ended"),
        "TASK_CLAIMED": _("Task claimed"),
        "TASK_RELEASED": _("Task put back in the queue"),
        "TASK_HANDED_OVER": _("Task handed over"),
        "TASK_ESCALATED": _("Overdue: escalated to the department head"),
        "TASK_RETURNED": _("Sent back to an earlier step"),
        "TASK_DECISION_TAKEN_BACK": _("Decision taken back"),
        "TASK_TRANSFERRED": _("Task transferred to another department"),
        "TASK_SIGNER_ADDED": _("Signer added"),
        "TASK_SIGNER_REMOVED": _("Signer removed"),
    }.get(str(kind), str(kind))
