"""Read-side queries for certificates, with their permission filtering.

Downloads follow the case: whoever may see the case (its applicant, a
reviewer whose department has or had a task on it; govflow.cases.selectors
.case_access) may download its certificates; anyone else gets NotFound, the
same answer as for a number that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from govflow.cases.models import Case
from govflow.cases.selectors import case_access
from govflow.errors import NotFound

from .models import Certificate, CertificateStatus

ADMIN_PAGE_SIZE = 50
# A certificate is reserved, rendered and signed by one worker attempt; one
# still "being issued" after this long has lost its attempt or its incident
# says why.
STALE_CERTIFICATE = timedelta(minutes=10)


def certificates_for_case(*, case: Case) -> list[Certificate]:
    """Issued certificates of a case the caller may see (valid first, then
    revoked; pending ones are not offered yet)."""
    rows = (
        Certificate.objects.filter(case=case, status__in=[CertificateStatus.VALID, CertificateStatus.REVOKED])
        .select_related("department", "replaces")
        .order_by("issued_at", "id")
    )
    return sorted(rows, key=lambda c: c.status != CertificateStatus.VALID)


def certificate_get_for_download(*, user, number: str) -> Certificate:
    certificate = (
        Certificate.objects.filter(
            number=number, status__in=[CertificateStatus.VALID, CertificateStatus.REVOKED]
        )
        .select_related("case")
        .first()
    )
    if certificate is None or not certificate.file:
        raise NotFound("certificate not found")
    case_access(user=user, reference=certificate.case.reference)  # NotFound unless the user sees the case
    return certificate


def certificates_for_admin(*, q: str = "", status: str = "") -> QuerySet[Certificate]:
    rows = Certificate.objects.select_related("case", "department", "replaces", "revoked_by")
    q = (q or "").strip()[:100]
    if q:
        rows = rows.filter(Q(number__icontains=q) | Q(holder__icontains=q) | Q(case__reference__icontains=q))
    if status in CertificateStatus.values:
        rows = rows.filter(status=status)
    return rows.order_by("-issued_at", "-id")


def certificate_get_for_admin(*, number: str) -> Certificate:
    found = certificates_for_admin().filter(number=number).first()
    if found is None:
        raise NotFound("certificate not found")
    return found


def certificate_problems(now: datetime) -> list[str]:
    """For reconcile (registered in the app's ready): certificates reserved
    (a number given) but never issued."""
    pending = Certificate.objects.filter(
        status=CertificateStatus.PENDING, created_at__lt=now - STALE_CERTIFICATE
    ).select_related("case")
    return [
        f"certificate {c.number} of case {c.case.reference}: reserved at "
        f"{c.created_at.isoformat(timespec='seconds')} but not issued (see its outbox row and incidents)"
        for c in pending.order_by("created_at", "id")[:100]
    ]
