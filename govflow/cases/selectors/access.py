"""Who may see a case: the applicant's own cases, and `case_access`, the
permission filter every read of one case starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from govflow.accounts.models import Department
from govflow.errors import NotFound

from .. import hooks
from ..disclosure import OWNER, REVIEWER
from ..models import ENDED_CASE_STATUSES, OPEN_CASE_STATUSES, Case, CaseStatus
from .common import MAX_SEARCH, STAFF_TASK_KINDS


def cases_for_applicant(*, user, q: str = "", status: str = "") -> QuerySet[Case]:
    """The user's own cases, newest first; `q` searches reference and title,
    `status` is draft, open or ended."""
    if not user.is_authenticated:
        return Case.objects.none()
    cases = Case.objects.filter(applicant=user).select_related("template").defer("data", "state")
    q = (q or "").strip()[:MAX_SEARCH]
    if q:
        cases = cases.filter(Q(reference__icontains=q) | Q(title__icontains=q))
    if status == "draft":
        cases = cases.filter(status=CaseStatus.DRAFT)
    elif status == "open":
        cases = cases.filter(status__in=OPEN_CASE_STATUSES)
    elif status == "ended":
        cases = cases.filter(status__in=ENDED_CASE_STATUSES)
    return cases.order_by("-created_at", "-id")


def case_get_for_applicant(*, user, reference: str) -> Case:
    """The user's own case by reference, with its version; NotFound otherwise."""
    if not user.is_authenticated:
        raise NotFound("case not found")
    case = (
        Case.objects.select_related("template", "version").filter(reference=reference, applicant=user).first()
    )
    if case is None:
        raise NotFound("case not found")
    return case


@dataclass(frozen=True)
class CaseAccess:
    case: Case
    role: str  # owner | reviewer
    departments: tuple[Department, ...] = ()

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(d.pk for d in self.departments)


def case_access(*, user, reference: str) -> CaseAccess:
    """May `user` see the case? Its applicant may; a reviewer may while one of
    their departments has or had a task on it. NotFound for everyone else."""
    if not user.is_authenticated:
        raise NotFound("case not found")
    case = Case.objects.select_related("template", "version").filter(reference=reference).first()
    if case is None:
        raise NotFound("case not found")
    if case.applicant_id == user.pk:
        return CaseAccess(case, OWNER)
    departments = tuple(
        Department.objects.filter(tasks__case=case, tasks__kind__in=STAFF_TASK_KINDS, memberships__user=user)
        .distinct()
        .order_by("code")
    )
    if not departments:
        # A copy, a delegation or a consultation (govflow.collab) lets its
        # reader see the case as their own departments' clearance allows.
        departments = hooks.reader_departments(user=user, case=case)
        if departments is None:
            raise NotFound("case not found")
    return CaseAccess(case, REVIEWER, departments)
