"""A case's timeline: the audit events everyone on the case sees, and those
only reviewers see, as lines in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from govflow.audit.models import AuditEvent
from govflow.engine.definition import Definition

from ..bundles import item_words
from ..models import Case, Task
from .common import display_name, node_title_of

# Audit event kinds a case's timeline shows; everyone on the case sees the
# first set, reviewers also the second (who claimed and handed over work).
PUBLIC_TIMELINE_KINDS = (
    "CASE_CREATED",
    "CASE_SUBMITTED",
    "CASE_AWAITING_CORRECTION",
    "CASE_CORRECTED",
    "CASE_IN_REVIEW",
    "CASE_APPROVED",
    "CASE_REJECTED",
    "CASE_WITHDRAWN",
    "TASK_COMPLETED",
    "TASK_AUTO_DECIDED",
    "TASK_REPEAT_SIGNER_APPROVED",
    "SERVICE_TASK_COMPLETED",
    "CLOCK_PAUSED",
    "CLOCK_RESUMED",
    "BUNDLE_ITEM_ENDED",
)
STAFF_TIMELINE_KINDS = (
    "TASK_CLAIMED",
    "TASK_RELEASED",
    "TASK_HANDED_OVER",
    "TASK_ESCALATED",
    # the task flow (govflow.cases.operations): reviewers' business, their reasons internal
    "TASK_RETURNED",
    "TASK_DECISION_TAKEN_BACK",
    "TASK_TRANSFERRED",
    "TASK_SIGNER_ADDED",
    "TASK_SIGNER_REMOVED",
)


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    node_title: str = ""
    department_name: str = ""
    actor: str = ""
    outcome: str = ""
    opinion: str = ""


def timeline_entries(
    case: Case, tasks: list[Task], definition: Definition, lang: str, *, staff: bool
) -> list[TimelineEntry]:
    kinds = PUBLIC_TIMELINE_KINDS + (STAFF_TIMELINE_KINDS if staff else ())
    by_engine_id = {t.engine_id: t for t in tasks}
    entries = []
    for event in (
        AuditEvent.objects.filter(case=case, action__in=kinds).select_related("actor").order_by("id")
    ):
        data = event.data or {}
        task = by_engine_id.get(event.object_id) if event.object_type == "task" else None
        node_id = data.get("node") or (task.node_id if task else "")
        department = task.department if task is not None and task.department_id else None
        if event.actor_id is None:
            actor = ""
        elif event.actor_id == case.applicant_id:
            actor = "applicant"
        else:
            # Applicants see the department that acted; staff see who.
            actor = display_name(event.actor) if staff else ""
        if event.action == "BUNDLE_ITEM_ENDED":
            entries.append(item_timeline_entry(event.at, data, definition, lang))
            continue
        entries.append(
            TimelineEntry(
                at=event.at,
                kind=event.action,
                node_title=node_title_of(definition, node_id, lang) if node_id else "",
                department_name=department.name(lang) if department else "",
                actor=actor,
                outcome=str(data.get("outcome") or ""),
                opinion=str(data.get("opinion") or ""),
            )
        )
    return entries


def item_timeline_entry(
    at: datetime, data: dict[str, Any], definition: Definition, lang: str
) -> TimelineEntry:
    """一件事: an item ended, with its title, department and status in words."""
    title, department, status = item_words(
        definition, str(data.get("item", "")), str(data.get("outcome")), lang
    )
    return TimelineEntry(
        at=at,
        kind="BUNDLE_ITEM_ENDED",
        node_title=title,
        department_name=department,
        actor="",
        outcome=status,
        opinion="",
    )
