"""Audited reads of the catalogue's records.

Selectors only read: each page they build carries the `RecordsRead` it owes
the audit trail (`RecordPage.read`, `RecordDetail.read`, `CasePanel.reads`).
The view that shows the page calls `catalog_reads_record` once per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.services import PendingAudit, audit_write

from .access import RecordsRead


def catalog_reads_record(
    *, actor, reads: Iterable[RecordsRead], source_ip: str | None = None, now: datetime | None = None
) -> None:
    """One CATALOG_RECORDS_READ event per dataset read that showed records
    (the keys, the non-public fields shown unmasked, the grants used)."""
    at = now or timezone.now()
    events = [
        PendingAudit(
            action="CATALOG_RECORDS_READ",
            at=at,
            actor_id=actor.pk,
            object_type="dataset",
            object_id=read.dataset.code,
            case_id=read.case_id,
            data={
                "keys": read.log.keys[:100],
                "count": len(read.log.keys),
                "unmasked": sorted(read.log.unmasked),
                "grants": sorted(read.log.grants),
                "departments": [d.code for d in read.departments],
            },
            source_ip=source_ip,
        )
        for read in reads
        if read.log.keys
    ]
    if events:
        with transaction.atomic():
            audit_write(events)
