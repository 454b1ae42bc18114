"""Reads of commitments, deferred materials and verifications, filtered
for the user (they write nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from govflow.accounts.models import Membership
from govflow.cases.selectors import case_access
from govflow.processes.services import version_definition

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


@dataclass(frozen=True)
class MaterialRow:
    material: DeferredMaterial
    label: str


@dataclass(frozen=True)
class Panel:
    commitments: list[Commitment]
    materials: list[MaterialRow]
    verification: Verification | None
    is_owner: bool
    may_decide_verification: bool
    is_verifying_head: bool


def case_commitments_panel(*, case, user) -> Panel | None:
    """What the case page shows of the case's commitments, for a user the
    page has let in (its applicant or a reviewer)."""
    commitments = list(Commitment.objects.filter(case=case).select_related("document").order_by("kind"))
    if not commitments:
        return None
    lang = "en" if (get_language() or "").startswith("en") else "zh"
    labels = {s.id: s.label.get(lang) or s.id for s in version_definition(case.version).form.attachments}
    materials = [
        MaterialRow(m, labels.get(m.slot, m.slot))
        for m in DeferredMaterial.objects.filter(case=case).order_by("due_at", "pk")
    ]
    verification = Verification.objects.filter(case=case).select_related("department").first()
    membership = (
        Membership.objects.filter(user=user, department_id=verification.department_id).first()
        if verification is not None and user.is_authenticated
        else None
    )
    return Panel(
        commitments=commitments,
        materials=materials,
        verification=verification,
        is_owner=case.applicant_id == user.pk,
        may_decide_verification=membership is not None and verification.status == "open",
        is_verifying_head=bool(membership and membership.is_head),
    )
