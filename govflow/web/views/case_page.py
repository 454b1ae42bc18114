"""The case page, shown by the portal and again by the inbox when a
decision is refused: built from selectors, which only read, then the reads
it owes the audit trail recorded once for the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.shortcuts import render
from django.utils import timezone

from govflow.cases.reads import case_reads_record
from govflow.cases.selectors import CaseDetail, case_detail
from govflow.catalog.reads import catalog_reads_record
from govflow.catalog.selectors import CasePanel, case_panel
from govflow.errors import GovflowError
from govflow.security.client import client_ip
from govflow.web.lookup import query_code
from govflow.web.progress import CaseProgress, case_progress

from .common import lang


@dataclass(frozen=True)
class CasePage:
    detail: CaseDetail
    catalog: CasePanel | None  # the data catalogue's panel; None when it has nothing to say
    progress: CaseProgress | None = None  # None for a draft
    query_code: str = ""  # the public lookup's code, for the applicant only


def case_page_build(*, user, reference: str, language: str, now: datetime) -> CasePage:
    """Everything the case page shows; reads only."""
    detail = case_detail(user=user, reference=reference, language=language, now=now)
    try:
        catalog = case_panel(user=user, reference=reference, language=language, now=now)
    except GovflowError:
        catalog = None
    case = detail.case
    submitted = case.submitted_at is not None
    progress = case_progress(case=case, language=language, now=now) if submitted else None
    code = query_code(case) if submitted and detail.is_owner else ""
    return CasePage(detail, catalog, progress, code)


def case_page_reads_record(*, actor, page: CasePage, source_ip: str | None, now: datetime) -> None:
    """The page's secret-field read and catalogue reads, in one transaction."""
    with transaction.atomic():
        case_reads_record(actor=actor, detail=page.detail, source_ip=source_ip, now=now)
        if page.catalog is not None:
            catalog_reads_record(actor=actor, reads=page.catalog.reads, source_ip=source_ip, now=now)


def render_case_page(request, reference: str, *, status: int = 200, **extra):
    now = timezone.now()
    page = case_page_build(user=request.user, reference=reference, language=lang(), now=now)
    case_page_reads_record(actor=request.user, page=page, source_ip=client_ip(request), now=now)
    context = {
        "detail": page.detail,
        "case": page.detail.case,
        "catalog_panel": page.catalog,
        "progress": page.progress,
        "query_code": page.query_code,
        "now": now,
    }
    return render(request, "cases/detail.html", {**context, **extra}, status=status)
