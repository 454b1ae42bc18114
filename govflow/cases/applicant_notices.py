"""What the applicant is told when their application ends (approved,
refused, withdrawn or deemed withdrawn) and, for 一件事, when each item of it
ends: the text of the notices govflow.notifications.applicant queues and
delivers, registered with it in CasesConfig.ready."""

from __future__ import annotations

from typing import Any

from govflow.notifications.applicant import Told, case_line
from govflow.notifications.models import NotificationKind
from govflow.processes.services import version_definition

from .bundles import item_words
from .models import Case

CASE_ENDS = ("approved", "rejected", "withdrawn")


def _case(payload: dict[str, Any]) -> Case | None:
    return Case.objects.select_related("applicant").filter(pk=payload.get("case")).first()


def told_case_ended(payload: dict[str, Any]) -> Told | None:
    case = _case(payload)
    if case is None:
        return None
    zh, en = case_line(case)
    text = {
        "approved": f"{zh}已准予许可。\n{en} was approved.\n",
        "rejected": (
            f"{zh}未予许可，理由见办件页面。\n{en} was refused; the reasons are on the case page.\n"
        ),
        "withdrawn": f"{zh}已撤回（或依法视为撤回）。\n{en} was withdrawn (or is deemed withdrawn).\n",
    }[payload["what"]]
    return Told(case, text, NotificationKind.CASE_ENDED)


def told_item_ended(payload: dict[str, Any]) -> Told | None:
    """One item's end in both languages: its title, department and how it ended."""
    case = _case(payload)
    if case is None:
        return None
    zh, en = case_line(case)
    item, status = str(payload.get("item", "")), str(payload.get("status", ""))
    definition = version_definition(case.version)
    title_zh, department_zh, status_zh = item_words(definition, item, status, "zh")
    title_en, department_en, status_en = item_words(definition, item, status, "en")
    alone = status != "approved"  # a refused item ends alone
    text = (
        f"{zh}中的事项“{title_zh}”（{department_zh}）：{status_zh}。"
        + ("其他事项不受影响，" if alone else "")
        + "详见办件页面。\n"
        + f'{en}: the item "{title_en}" ({department_en}): {status_en}. '
        + ("The other items are not affected; see the case page.\n" if alone else "See the case page.\n")
    )
    return Told(case, text, NotificationKind.CASE_ENDED)
