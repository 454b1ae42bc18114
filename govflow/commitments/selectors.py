"""Reads of commitments, deferred materials and verifications, filtered
for the user (they write nothing)."""

from __future__ import annotations

from govflow.accounts.models import Membership
from govflow.cases.selectors import case_access

from .models import Commitment, DeferredMaterial, Verification


def materials_for_case(*, user, reference: str) -> list[DeferredMaterial]:
    """The materials deferred under 容缺 on a case the user may see
    (its applicant, or a reviewer of it); NotFound otherwise."""
    case = case_access(user=user, reference=reference).case
    return list(DeferredMaterial.objects.filter(case=case).order_by("due_at", "pk"))


def commitments_for_case(*, user, reference: str) -> list[Commitment]:
    case = case_access(user=user, reference=reference).case
    return list(Commitment.objects.filter(case=case).select_related("document").order_by("kind"))


def verifications_for_user(*, user, open_only: bool = True) -> list[Verification]:
    """The verifications (核查) of the user's departments, soonest due first."""
    departments = Membership.objects.filter(user=user).values_list("department_id", flat=True)
    rows = Verification.objects.filter(department_id__in=list(departments))
    if open_only:
        rows = rows.filter(status="open")
    return list(rows.select_related("case", "department").order_by("due_at", "pk"))
