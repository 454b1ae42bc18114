"""Reading delegations, consultations, copies, urges, proxies and saved
opinions, filtered for the reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.operations.extension import extension_check
from govflow.errors import Conflict
from govflow.processes.services import version_definition

from .common import STAFF_KINDS
from .guards import active_proxy_of
from .models import (
    Consultation,
    Copy,
    Delegation,
    ExtensionRequest,
    ExtensionStatus,
    Proxy,
    RequestStatus,
    SavedOpinion,
    Urge,
)


def collab_departments(*, user, case: Case) -> tuple[Department, ...] | None:
    """For `case_access`: the departments whose clearance a reader who is
    on the case only through a copy, a delegation or a consultation reads it
    with (their own), or None when they are not on it at all."""
    mine = Membership.objects.filter(user=user).values("department_id")
    on_case = (
        Copy.objects.filter(case=case, user=user).exists()
        or Delegation.objects.filter(case=case, delegate=user).exists()
        or Consultation.objects.filter(case=case, department_id__in=mine).exists()
        or Proxy.objects.filter(
            proxy=user, principal__claimed_tasks__case=case, cancelled_at__isnull=True
        ).exists()
    )
    if not on_case:
        return None
    return tuple(Department.objects.filter(memberships__user=user, is_active=True).order_by("code"))


@dataclass
class TaskOperations:
    """What the decision panel shows and offers for one task."""

    task: Task
    holds: bool  # the reader holds it (or acts for its holder)
    acting_for: int | None
    delegations: list[Delegation] = field(default_factory=list)
    consultations: list[Consultation] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    urges: list[Urge] = field(default_factory=list)
    waiting: bool = False  # the decision must wait (delegation or consultation open)
    batch: bool = False
    # 延期: the task's requests, and the extension it may ask for now (None: none)
    extensions: list[ExtensionRequest] = field(default_factory=list)
    extension_offered: Any = None

    @property
    def pending_extension(self) -> ExtensionRequest | None:
        return next((e for e in self.extensions if e.status == ExtensionStatus.PENDING), None)

    @property
    def can_request_extension(self) -> bool:
        return self.holds and self.extension_offered is not None and self.pending_extension is None

    @property
    def open_delegation(self) -> Delegation | None:
        return next((d for d in self.delegations if d.status == RequestStatus.OPEN), None)

    @property
    def can_delegate(self) -> bool:
        return self.holds and self.open_delegation is None

    @property
    def can_consult(self) -> bool:
        return self.holds

    @property
    def copies_read(self) -> int:
        return sum(1 for c in self.copies if c.read_at)


def task_operations(*, user, task: Task, now: datetime | None = None) -> TaskOperations:
    now = now or timezone.now()
    acting_for = None
    holds = task.is_live and task.assignee_id == user.pk
    if task.is_live and task.assignee_id not in (None, user.pk):
        proxy = active_proxy_of(task.assignee_id, now=now)
        if proxy is not None and proxy.proxy_id == user.pk:
            holds, acting_for = True, task.assignee_id
    ops = TaskOperations(task=task, holds=holds, acting_for=acting_for)
    ops.delegations = list(
        Delegation.objects.filter(task=task).select_related("delegate", "delegated_by").order_by("created_at")
    )
    ops.consultations = list(
        Consultation.objects.filter(task=task)
        .select_related("department", "answered_by")
        .order_by("created_at")
    )
    ops.copies = list(
        Copy.objects.filter(task=task).select_related("user", "sent_by").order_by("user__username")
    )
    ops.urges = list(Urge.objects.filter(task=task).select_related("urged_by").order_by("-created_at")[:10])
    ops.extensions = list(
        ExtensionRequest.objects.filter(task=task).select_related("requested_by", "decided_by", "letter")
    )
    if ops.holds:
        try:
            ops.extension_offered = extension_check(case=task.case, task=task, now=now).limit
        except Conflict:
            ops.extension_offered = None
    ops.waiting = ops.open_delegation is not None or any(
        c.status == RequestStatus.OPEN and c.due_at > now for c in ops.consultations
    )
    return ops


def requests_for_user(*, user) -> tuple[list[Delegation], list[Consultation]]:
    """The open delegations to the user and the open consultations of their
    departments (待我回复)."""
    delegations = list(
        Delegation.objects.filter(
            delegate=user, status=RequestStatus.OPEN, task__status__in=["open", "claimed"]
        )
        .select_related("case__template", "task", "delegated_by")
        .order_by("created_at")
    )
    consultations = list(
        Consultation.objects.filter(
            department__memberships__user=user,
            status=RequestStatus.OPEN,
            task__status__in=["open", "claimed"],
        )
        .select_related("case__template", "task", "department", "requested_by")
        .order_by("due_at", "id")
    )
    return delegations, consultations


def extensions_for_head(*, user) -> list[ExtensionRequest]:
    """延期 requests waiting for the user as head of the task's department
    (their own cases as applicant excepted)."""
    headed = Membership.objects.filter(user=user, is_head=True).values("department_id")
    return list(
        ExtensionRequest.objects.filter(
            status=ExtensionStatus.PENDING,
            task__department_id__in=headed,
            task__status__in=["open", "claimed"],
        )
        .exclude(case__applicant=user)
        .select_related("case__template", "task__department", "requested_by")
        .order_by("created_at", "id")
    )


def copies_for_user(*, user, unread_only: bool = False) -> QuerySet[Copy]:
    copies = Copy.objects.filter(user=user).select_related("case__template", "task__department", "sent_by")
    if unread_only:
        copies = copies.filter(read_at__isnull=True)
    return copies.order_by("-created_at", "-id")


def proxies_for_user(*, user, now: datetime | None = None) -> QuerySet[Proxy]:
    """The acting arrangements the user is part of, current and future first."""
    now = now or timezone.now()
    return (
        Proxy.objects.filter(Q(principal=user) | Q(proxy=user) | Q(created_by=user))
        .filter(ends_at__gt=now, cancelled_at__isnull=True)
        .select_related("principal", "proxy")
        .order_by("starts_at", "id")
    )


def tasks_acting_for(*, user, now: datetime | None = None) -> list[Task]:
    """The live tasks the user may act on as acting officer (代理)."""
    now = now or timezone.now()
    principals = Proxy.objects.filter(
        proxy=user, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
    ).values("principal_id")
    return list(
        Task.objects.filter(assignee_id__in=principals, status=TaskStatus.CLAIMED, kind__in=STAFF_KINDS)
        .select_related("case__template", "department", "assignee")
        .order_by("due_at", "id")
    )


def saved_opinions(*, user) -> list[SavedOpinion]:
    return list(SavedOpinion.objects.filter(user=user).order_by("created_at", "id"))


def batch_candidates(*, user) -> list[tuple[str, str, list[Task]]]:
    """The live tasks the user may approve together, grouped by (service,
    step) where the step says `batch: true`: open ones of their departments
    and those they hold."""
    tasks = (
        Task.objects.filter(department__memberships__user=user, kind__in=STAFF_KINDS)
        .filter(Q(status=TaskStatus.OPEN) | Q(status=TaskStatus.CLAIMED, assignee=user))
        .select_related("case__template", "case__version", "department")
        .order_by("case__template__code", "node_id", "due_at", "id")
    )
    groups: dict[tuple[str, str], list[Task]] = {}
    for task in tasks[:500]:
        node = version_definition(task.case.version).nodes.get(task.node_id)
        if node is not None and node.settings.get("batch"):
            groups.setdefault((task.case.template.code, task.node_id), []).append(task)
    return [(service, node_id, rows) for (service, node_id), rows in groups.items()]


def urge_counts(*, since: datetime, until: datetime) -> dict[str, int]:
    """Urges in a period by who urged (the dashboard's 催办 figure)."""
    rows = (
        Urge.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("role")
        .annotate(n=Count("id"))
    )
    counts = {row["role"]: row["n"] for row in rows}
    counts["total"] = sum(counts.values())
    return counts
