"""Reading ratings and remediations (never writing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import is_admin
from govflow.cases.models import ENDED_CASE_STATUSES, Case, Task, TaskKind, TaskStatus
from govflow.errors import NotFound
from govflow.processes.services import version_definition

from .models import POOR_LEVELS, Level, Rating, Remediation, RemediationStatus

# The tasks whose department can be rated: those that acted on the case
# (decided it, or let its time limit lapse), not those cancelled unopened.
_HANDLED = (TaskStatus.COMPLETED, TaskStatus.EXPIRED)
_STAFF_TASKS = (TaskKind.REVIEW, TaskKind.SIGNATURE)


def rated_departments(case: Case) -> list[Department]:
    """The departments that handled the case, in the order they first did."""
    seen: dict[int, Department] = {}
    tasks = (
        Task.objects.filter(case=case, kind__in=_STAFF_TASKS, status__in=_HANDLED, department__isnull=False)
        .select_related("department")
        .order_by("created_at", "id")
    )
    for task in tasks:
        seen.setdefault(task.department_id, task.department)
    return list(seen.values())


def remediation_department(case: Case) -> Department:
    """Who remedies a 差评 of the whole service: the department that took
    the case in (its first review task), else the one the template's first
    review step names."""
    first = (
        Task.objects.filter(case=case, kind__in=_STAFF_TASKS, department__isnull=False)
        .select_related("department")
        .order_by("created_at", "id")
        .first()
    )
    if first is not None:
        return first.department
    definition = version_definition(case.version)
    for node in definition.user_tasks():
        code = node.department or (node.countersign.signers[0] if node.countersign else None)
        if code:
            department = Department.objects.filter(code=code).first()
            if department is not None:
                return department
    raise NotFound("no department to remedy this rating")


@dataclass(frozen=True)
class RatingItem:
    """One thing the applicant can rate on a case: the whole service
    (department None) or one department's item, with the rating if given."""

    department: Department | None
    rating: Rating | None


def rating_items(case: Case) -> list[RatingItem]:
    ratings = {r.department_id: r for r in Rating.objects.filter(case=case)}
    items = [RatingItem(None, ratings.get(None))]
    items += [RatingItem(d, ratings.get(d.pk)) for d in rated_departments(case)]
    return items


def case_rateable(case: Case) -> bool:
    return case.status in ENDED_CASE_STATUSES


def remediations_for_user(*, user, live_only: bool = False) -> QuerySet[Remediation]:
    """The remediations of the departments the user heads; an administrator
    also sees every appeal awaiting a decision."""
    headed = Membership.objects.filter(user=user, is_head=True).values("department_id")
    scope = Q(department_id__in=headed)
    if is_admin(user):
        scope |= Q(status=RemediationStatus.APPEALED)
    found = Remediation.objects.filter(scope).select_related("rating__case", "department")
    if live_only:
        found = found.filter(
            status__in=(RemediationStatus.OPEN, RemediationStatus.APPEALED, RemediationStatus.REMEDIED)
        )
    return found.order_by("due_at", "id")


def remediation_get_for(*, user, remediation_id: int) -> Remediation:
    found = remediations_for_user(user=user).filter(pk=remediation_id).first()
    if found is None:
        # A member of the department may read it (the head acts on it).
        found = (
            Remediation.objects.select_related("rating__case", "department")
            .filter(pk=remediation_id, department__memberships__user=user)
            .first()
        )
    if found is None:
        raise NotFound("remediation not found")
    return found


@dataclass(frozen=True)
class RatingStatistics:
    total: int
    by_level: dict[int, int]
    poor: int
    excluded: int
    remediations: int
    remedied_on_time: int
    closed: int
    satisfied_after_callback: int
    overdue: int

    @property
    def good_rate(self) -> float | None:
        """好评率: levels 4 and 5 among the counted ratings."""
        good = self.by_level.get(5, 0) + self.by_level.get(4, 0)
        return good / self.total if self.total else None

    @property
    def remedy_rate(self) -> float | None:
        """整改率: 差评 remedied within their 15 working days."""
        return self.remedied_on_time / self.remediations if self.remediations else None

    @property
    def callback_rate(self) -> float | None:
        """回访率: remediations closed with a callback."""
        return self.closed / self.remediations if self.remediations else None


def rating_statistics(
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    template_id: int | None = None,
    template_code: str | None = None,
    department_id: int | None = None,
) -> RatingStatistics:
    """The figures of the public statistics page and the dashboard, over
    ratings given in [since, until), of one service and one department (its
    own items, and the whole-service ratings it remedies). Ratings an upheld
    appeal excluded are counted apart, never in the rates."""
    ratings = Rating.objects.all()
    if since is not None:
        ratings = ratings.filter(rated_at__gte=since)
    if until is not None:
        ratings = ratings.filter(rated_at__lt=until)
    if template_id is not None:
        ratings = ratings.filter(case__template_id=template_id)
    if template_code is not None:
        ratings = ratings.filter(case__template__code=template_code)
    if department_id is not None:
        remedied_here = Q(department__isnull=True, remediation__department_id=department_id)
        ratings = ratings.filter(Q(department_id=department_id) | remedied_here)
    counted = ratings.filter(excluded=False)
    by_level = {row["level"]: row["n"] for row in counted.values("level").annotate(n=Count("id")).order_by()}
    remediations = Remediation.objects.filter(rating__in=counted)
    figures = remediations.aggregate(
        total=Count("id"),
        on_time=Count("id", filter=Q(remedied_at__isnull=False, remedied_at__lte=F("due_at"))),
        closed=Count("id", filter=Q(status=RemediationStatus.CLOSED)),
        satisfied=Count("id", filter=Q(callback_result="satisfied")),
        overdue=Count(
            "id",
            filter=Q(status__in=(RemediationStatus.OPEN, RemediationStatus.APPEALED), due_at__lt=now),
        ),
    )
    return RatingStatistics(
        total=sum(by_level.values()),
        by_level={level.value: by_level.get(level.value, 0) for level in Level},
        poor=sum(by_level.get(level, 0) for level in POOR_LEVELS),
        excluded=ratings.filter(excluded=True).count(),
        remediations=figures["total"],
        remedied_on_time=figures["on_time"],
        closed=figures["closed"],
        satisfied_after_callback=figures["satisfied"],
        overdue=figures["overdue"],
    )
