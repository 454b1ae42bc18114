"""Page presenters: data shaped for one HTML page, on top of the domain's
permission-filtering selectors (govflow.cases.selectors). They read only.

- the department head's page: each department the user heads, its live
  tasks as inbox rows (overdue first) and the counts a head watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.cases.models import LIVE_TASK_STATUSES, TaskStatus
from govflow.cases.selectors.common import language_key
from govflow.cases.selectors.inbox import TaskRow, staff_tasks, task_rows


@dataclass
class DepartmentLoad:
    department: Department
    rows: list[TaskRow]
    members: list[Any]

    @property
    def open_count(self) -> int:
        return sum(1 for row in self.rows if row.task.status == TaskStatus.OPEN)

    @property
    def claimed_count(self) -> int:
        return sum(1 for row in self.rows if row.task.status == TaskStatus.CLAIMED)

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.sla.is_overdue)

    @property
    def soon_count(self) -> int:
        return sum(1 for row in self.rows if row.sla.level == "amber")

    @property
    def escalated_count(self) -> int:
        return sum(1 for row in self.rows if row.task.escalated)


def department_tasks_for_head(
    *, user, language: str = "zh", now: datetime | None = None, overdue_only: bool = False
) -> list[DepartmentLoad]:
    """For each department the user heads: its live tasks (overdue first),
    the counts a head watches, and the members a task can be reassigned to."""
    now = now or timezone.now()
    if not user.is_authenticated:
        return []
    departments = list(
        Department.objects.filter(memberships__user=user, memberships__is_head=True).order_by("code")
    )
    if not departments:
        return []
    ids = [d.pk for d in departments]
    tasks = staff_tasks().filter(department_id__in=ids, status__in=LIVE_TASK_STATUSES)
    if overdue_only:
        tasks = tasks.filter(due_at__lte=now)
    rows = task_rows(
        list(tasks.order_by(F("due_at").asc(nulls_last=True), "id")), user, language_key(language), now
    )
    members: dict[int, list[Any]] = {pk: [] for pk in ids}
    for membership in (
        Membership.objects.filter(department_id__in=ids).select_related("user").order_by("user__username")
    ):
        members[membership.department_id].append(membership.user)
    return [
        DepartmentLoad(
            department=d,
            rows=[row for row in rows if row.task.department_id == d.pk],
            members=members[d.pk],
        )
        for d in departments
    ]
