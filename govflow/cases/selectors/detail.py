"""The case page: everything it shows, filtered for the user (progress,
timeline, attachments, a correction request, secret fields as cleared,
what corrections changed, the limits, a bundle's items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import cleared_fields
from govflow.engine.definition import Definition
from govflow.processes.services import version_definition
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from ..bundles import BundleView, case_bundle
from ..corrections import ChangeView, change_views, changes_since, last_look
from ..disclosure import OWNER, REVIEWER, Disclosure, field_views
from ..models import Attachment, Case, CaseStatus, Task, TaskKind, TaskStatus
from .access import case_access
from .clocks import CaseLimit, Sla, case_limits, sla_of
from .common import STAFF_TASK_KINDS, display_name, language_key, node_title_of
from .documents import AttachmentRow, slot_label
from .timeline import TimelineEntry, timeline_entries


@dataclass
class ProgressRow:
    task: Task
    node_title: str
    department_name: str
    holder: str
    sla: Sla
    outcome: str
    opinion: str
    decided_by: str
    offered: tuple[str, ...] = ()
    # 签收: the task must be claimed before it is decided (claim_required)
    needs_claim: bool = True


@dataclass
class CorrectionRequest:
    node_title: str
    opinion: str
    department_name: str
    deadline: datetime | None
    deadline_provisional: bool = False
    # 一次性告知: what must be corrected, item by item (kind, id, label,
    # reason); empty when the request listed nothing (the whole form is open).
    notice: list[dict[str, str]] = field(default_factory=list)

    @property
    def editable_fields(self) -> list[str]:
        return [item["id"] for item in self.notice if item["kind"] == "field"]

    @property
    def editable_materials(self) -> list[str]:
        return [item["id"] for item in self.notice if item["kind"] == "material"]


@dataclass
class SignatureGroup:
    node_title: str
    round: int
    rows: list[ProgressRow]

    @property
    def signed(self) -> int:
        return sum(1 for row in self.rows if row.outcome)


@dataclass
class CaseDetail:
    case: Case
    role: str
    definition: Definition
    service_title: str
    disclosure: Disclosure
    progress: list[ProgressRow]
    timeline: list[TimelineEntry]
    attachments: list[AttachmentRow]
    correction: CorrectionRequest | None = None
    my_tasks: list[ProgressRow] = field(default_factory=list)
    signatures: list[SignatureGroup] = field(default_factory=list)
    colleagues: list[Any] = field(default_factory=list)
    departments: tuple[Department, ...] = ()
    # For a reviewer: what the applicant's corrections changed since the
    # department last decided on the case (govflow.cases.corrections).
    changes: list[ChangeView] = field(default_factory=list)
    # The promise and the statutory limit of an accepted case (case_limits).
    limits: list[CaseLimit] = field(default_factory=list)
    # 一件事: a line per item of the template's bundle (None without one)
    bundle: BundleView | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def can_withdraw(self) -> bool:
        return self.is_owner and (self.case.status == CaseStatus.DRAFT or self.case.is_open)

    @property
    def can_correct(self) -> bool:
        return self.is_owner and self.case.status == CaseStatus.AWAITING_CORRECTION


def case_detail(*, user, reference: str, language: str = "zh", now: datetime | None = None) -> CaseDetail:
    """Everything the case page shows, filtered for the user. It writes
    nothing: the secret fields a reviewer is shown unmasked are listed in
    `disclosure.revealed`, and the view records the read once
    (govflow.cases.reads.case_reads_record)."""
    now = now or timezone.now()
    lang = language_key(language)
    access = case_access(user=user, reference=reference)
    case = access.case
    definition = version_definition(case.version)
    calendar = calendar_get(definition.calendar)
    tasks = list(
        Task.objects.filter(case=case)
        .select_related("department", "assignee", "decided_by")
        .order_by("created_at", "id")
    )
    paused = case.clock_paused_at is not None
    progress: list[ProgressRow] = []
    for task in tasks:
        if task.kind not in STAFF_TASK_KINDS:
            continue
        node = definition.nodes.get(task.node_id)
        progress.append(
            ProgressRow(
                task=task,
                node_title=node_title_of(definition, task.node_id, lang),
                department_name=task.department.name(lang) if task.department else "",
                holder=display_name(task.assignee) if task.is_live else "",
                sla=sla_of(
                    due_at=task.due_at,
                    reminder_due=task.remind_at,
                    live=task.is_live,
                    paused=paused,
                    calendar=calendar,
                    now=now,
                    completed_at=task.completed_at if task.status == TaskStatus.COMPLETED else None,
                    provisional=task.due_provisional,
                ),
                outcome=task.outcome,
                opinion=task.opinion,
                decided_by=display_name(task.decided_by),
                offered=tuple(node.outcomes) if node is not None else (),
                needs_claim=definition.needs_claim(task.node_id),
            )
        )
    detail = CaseDetail(
        case=case,
        role=access.role,
        definition=definition,
        service_title=case.template.title(lang),
        disclosure=Disclosure([]),
        progress=progress,
        timeline=timeline_entries(case, tasks, definition, lang, staff=access.role == REVIEWER),
        attachments=[
            AttachmentRow(a, slot_label(definition, a.slot, lang))
            for a in Attachment.objects.filter(case=case)
        ],
        departments=access.departments,
        limits=case_limits(case, calendar=calendar, now=now, language=lang),
        bundle=case_bundle(case, definition, lang),
    )
    if case.status == CaseStatus.AWAITING_CORRECTION:
        detail.correction = _correction_request(case, tasks, definition, lang)
    if access.role == OWNER:
        detail.disclosure = field_views(definition.form, case.data, viewer=OWNER, language=lang)
        return detail
    codes = [d.code for d in access.departments]
    detail.disclosure = field_views(
        definition.form, case.data, viewer=REVIEWER, cleared=cleared_fields(definition, codes), language=lang
    )
    detail.my_tasks = [
        row for row in progress if row.task.is_live and row.task.department_id in access.department_ids
    ]
    if any(t.kind == TaskKind.CORRECTION and t.status == TaskStatus.COMPLETED for t in tasks):
        since = last_look(case, access.department_ids)
        detail.changes = change_views(
            definition,
            changes_since(case, definition, since, lang),
            viewer=REVIEWER,
            cleared=cleared_fields(definition, codes),
            language=lang,
        )
    groups: dict[tuple[str, int], SignatureGroup] = {}
    for row in progress:
        if row.task.kind == TaskKind.SIGNATURE:
            key = (row.task.node_id, row.task.round)
            groups.setdefault(key, SignatureGroup(row.node_title, row.task.round, [])).rows.append(row)
    detail.signatures = list(groups.values())
    if detail.my_tasks:
        detail.colleagues = list(
            Membership.objects.filter(department_id__in=access.department_ids)
            .exclude(user=user)
            .exclude(user_id=case.applicant_id)
            .select_related("user", "department")
            .order_by("department__code", "user__username")
        )
    return detail


def _correction_request(
    case: Case, tasks: list[Task], definition: Definition, lang: str
) -> CorrectionRequest:
    waiting = [t for t in tasks if t.kind == TaskKind.CORRECTION and t.is_live]
    returned = [t for t in tasks if t.outcome == "return" and t.kind in STAFF_TASK_KINDS]
    last_return = max(returned, key=lambda t: (t.completed_at or t.created_at, t.pk), default=None)
    deadline, provisional = None, False
    if waiting:
        deadline, provisional = (
            Timer.objects.filter(
                case=case, task__in=waiting, kind="correction_deadline", status=Timer.PENDING
            )
            .order_by("due_at")
            .values_list("due_at", "provisional")
            .first()
        ) or (None, False)
    notice = _notice_items(definition, waiting, lang)
    return CorrectionRequest(
        notice=notice,
        node_title=node_title_of(definition, waiting[0].node_id, lang) if waiting else "",
        opinion=last_return.opinion if last_return else "",
        department_name=last_return.department.name(lang) if last_return and last_return.department else "",
        deadline=deadline,
        deadline_provisional=provisional,
    )


def _notice_items(definition: Definition, waiting: list[Task], lang: str) -> list[dict[str, str]]:
    """The open correction tasks' notices, with labels; empty if one of them lists nothing."""
    if not waiting or any(not task.notice for task in waiting):
        return []
    labels = {spec.id: spec.label for spec in (*definition.form.fields, *definition.form.attachments)}
    items: list[dict[str, str]] = []
    for task in waiting:
        for item in task.notice:
            label = labels.get(item["id"]) or {}
            items.append({**item, "label": label.get(lang) or label.get("zh") or item["id"]})
    return items
