"""好差评 pages: the applicant rates a finished case; department heads
remedy poor ratings, record the callback or appeal; administrators decide
appeals. Thin: selectors read, services write, errors become messages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from govflow.cases.selectors import case_get_for_applicant
from govflow.errors import GovflowError, NotFound
from govflow.messages import error_text, fields_of
from govflow.web.views.common import lang, roles_of

from . import services
from .models import AppealDecision, CallbackResult, Level, RemediationStatus
from .selectors import case_rateable, rating_items, remediation_get_for, remediations_for_user

LEVELS = [(level.value, level.label) for level in Level]


@login_required
@require_http_methods(["GET", "POST"])
def rate_case(request, reference):
    try:
        case = case_get_for_applicant(user=request.user, reference=reference)
    except NotFound:
        raise Http404 from None
    errors: dict[str, dict[str, list[str]]] = {}
    typed: dict[str, dict[str, str]] = {}
    status = 200
    if request.method == "POST":
        item = request.POST.get("department", "")
        level, comment = request.POST.get("level", ""), request.POST.get("comment", "")[:2000]
        try:
            services.rating_submit(
                case_id=case.pk,
                actor=request.user,
                level=level or 0,
                comment=comment,
                department=item or None,
            )
        except GovflowError as exc:
            errors[item] = {**fields_of(exc), "form": [error_text(exc)]}
            typed[item] = {"level": level, "comment": comment}
            status = 400
        else:
            messages.success(request, _("Thank you: your rating was recorded."))
            return redirect("ratings:rate", reference=reference)
    items = [
        {
            "key": item.department.code if item.department else "",
            "title": item.department.name(lang()) if item.department else _("The service as a whole"),
            "rating": item.rating,
            "errors": errors.get(item.department.code if item.department else "", {}),
            "typed": typed.get(item.department.code if item.department else "", {}),
        }
        for item in rating_items(case)
    ]
    context = {
        "case": case,
        "service_title": case.template.title(lang()),
        "rateable": case_rateable(case),
        "items": items,
        "levels": LEVELS,
    }
    return render(request, "ratings/rate.html", context, status=status)


@login_required
@require_GET
def remediation_list(request):
    if not (roles_of(request).is_head or roles_of(request).is_admin):
        raise Http404
    remediations = list(remediations_for_user(user=request.user)[:500])
    return render(
        request,
        "ratings/remediations.html",
        {"remediations": remediations, "now": timezone.now(), "language": lang()},
    )


ACTIONS = {
    "remedy": lambda request, pk: services.remediation_remedy(
        remediation_id=pk, actor=request.user, remedy=request.POST.get("remedy", "")
    ),
    "callback": lambda request, pk: services.remediation_callback(
        remediation_id=pk,
        actor=request.user,
        result=request.POST.get("result", ""),
        note=request.POST.get("note", ""),
    ),
    "appeal": lambda request, pk: services.remediation_appeal(
        remediation_id=pk, actor=request.user, reason=request.POST.get("reason", "")
    ),
    "decide": lambda request, pk: services.remediation_appeal_decide(
        remediation_id=pk,
        actor=request.user,
        decision=request.POST.get("decision", ""),
        note=request.POST.get("note", ""),
    ),
}


@login_required
@require_http_methods(["GET", "POST"])
def remediation_detail(request, pk):
    try:
        remediation = remediation_get_for(user=request.user, remediation_id=pk)
    except NotFound:
        raise Http404 from None
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            messages.error(request, _("The request could not be completed."))
            return redirect("ratings:remediation", pk=pk)
        try:
            action(request, pk)
        except GovflowError as exc:
            errors = fields_of(exc)
            messages.error(request, error_text(exc))
            status = 400
            remediation = remediation_get_for(user=request.user, remediation_id=pk)
        else:
            messages.success(request, _("Recorded."))
            return redirect("ratings:remediation", pk=pk)
    roles = roles_of(request)
    head = request.user.memberships.filter(department=remediation.department, is_head=True).exists()
    context = {
        "remediation": remediation,
        "rating": remediation.rating,
        "case": remediation.rating.case,
        "errors": errors,
        "posted": request.POST if request.method == "POST" else {},
        "can_remedy": head and remediation.status == RemediationStatus.OPEN,
        "can_appeal": head
        and remediation.status == RemediationStatus.OPEN
        and not remediation.appeal_decision,
        "can_callback": head and remediation.status == RemediationStatus.REMEDIED,
        "can_decide": roles.is_admin and remediation.status == RemediationStatus.APPEALED,
        "callback_results": CallbackResult.choices,
        "decisions": AppealDecision.choices,
        "now": timezone.now(),
        "language": lang(),
    }
    return render(request, "ratings/remediation.html", context, status=status)
