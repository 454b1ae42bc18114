"""The service-task handlers that look up earlier cases (a company name
taken, a credit code issued here), registered with the handler registry of
govflow.processes.handlers when CasesConfig.ready imports this module."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from govflow.engine.identifiers import uscc_problem
from govflow.processes.handlers import HandlerContext, handler

from .models import OPEN_CASE_STATUSES, Case, CaseStatus


@handler("company_name_check", inline=True)
def company_name_check(ctx: HandlerContext) -> dict[str, Any]:
    """Is the proposed company name free? Taken when an approved or open
    business-setup case already uses it."""
    name = str(ctx.data.get("company_name", "")).strip()
    if not name:
        return {"available": False, "reason": "empty"}
    taken = (
        Case.objects.filter(data__company_name=name)
        .filter(Q(status=CaseStatus.APPROVED) | Q(status__in=OPEN_CASE_STATUSES))
        .exclude(pk=ctx.case_id)
        .exists()
    )
    return {"available": not taken, "reason": "taken" if taken else ""}


@handler("credit_code_check", inline=True)
def credit_code_check(ctx: HandlerContext) -> dict[str, Any]:
    """Check the builder's unified social credit code (GB 32100) and whether
    a business-setup case here issued it: an approved case, or one whose
    business licence is issued while other items of its bundle (一件事) still
    run (the licence comes with the registration)."""
    code = str(ctx.data.get("builder_credit_code", "")).strip().upper()
    if uscc_problem(code) is not None:
        return {"valid": False, "registered_here": False}
    registered = Case.objects.filter(
        Q(status=CaseStatus.APPROVED)
        | Q(certificates__type="business_licence", certificates__status="valid"),
        state__results__assign_credit_code__credit_code=code,
    ).exists()
    return {"valid": True, "registered_here": registered}
