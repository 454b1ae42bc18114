"""Audited reads of a case: the writes a page that shows secret fields owes
the audit trail.

Selectors only read (`selectors.case_detail` works out which secret values a
reviewer is shown unmasked, in `CaseDetail.disclosure.revealed`); the view
that shows the page calls `case_reads_record` once per request, so a page
rendered twice in one request, or an error page after a refused decision,
still logs one SECRET_FIELD_READ.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write

from .disclosure import REVIEWER
from .selectors.detail import CaseDetail


def case_reads_record(
    *, actor, detail: CaseDetail, source_ip: str | None = None, now: datetime | None = None
) -> None:
    """Append one SECRET_FIELD_READ event naming the secret fields the case
    page showed `actor` unmasked (nothing when it showed none: an applicant
    reading their own case, or a department not cleared for any)."""
    fields = detail.disclosure.revealed
    if detail.role != REVIEWER or not fields:
        return
    case = detail.case
    event = PendingAudit(
        action="SECRET_FIELD_READ",
        at=now or timezone.now(),
        actor_id=actor.pk,
        object_type="case",
        object_id=str(case.pk),
        case_id=case.pk,
        data={"fields": sorted(fields), "departments": sorted(d.code for d in detail.departments)},
        source_ip=source_ip,
    )
    with transaction.atomic():
        audit_write([event])


@transaction.atomic
def secret_lookup_record(
    *, field: str, template: str | None, cases: list, actor_id: int | None = None, via: str, now=None
) -> None:
    """A SECRET_LOOKUP event: who searched which field, and what was found
    (never the value searched for)."""
    audit_write(
        [
            PendingAudit(
                action=Action.SECRET_LOOKUP,
                at=now or timezone.now(),
                actor_id=actor_id,
                object_type="field",
                object_id=field,
                data={
                    "template": template or "",
                    "via": via,
                    "matches": len(cases),
                    "cases": [case.reference for case in cases[:100]],
                },
            )
        ]
    )
