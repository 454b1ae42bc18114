"""The web side of 容缺 and 告知承诺: thin views over the services; each
answers with the case page (or the verifications list) and a message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govflow.cases.models import Case
from govflow.errors import GovflowError, NotFound
from govflow.messages import error_text

from .models import DeferredMaterial, Verification
from .selectors import verifications_for_user
from .services import material_review, material_supply, verification_decide


@login_required
@require_POST
def material_supply_view(request, reference, slot):
    case = Case.objects.filter(reference=reference, applicant=request.user).first()
    if case is None:
        raise NotFound("case not found")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file to upload."))
        return redirect("web:case", reference=reference)
    try:
        material_supply(
            case_id=case.pk, actor=request.user, slot=slot, upload=upload, language=request.LANGUAGE_CODE
        )
    except GovflowError as exc:
        fields = getattr(exc, "fields", {}) or {}
        messages.error(request, " ".join(m for ms in fields.values() for m in ms) or error_text(exc))
    else:
        messages.success(request, _("The material was supplied; a reviewer will check it."))
    return redirect("web:case", reference=reference)


@login_required
@require_POST
def material_review_view(request, pk):
    reference = DeferredMaterial.objects.filter(pk=pk).values_list("case__reference", flat=True).first()
    if reference is None:
        raise NotFound("material not found")
    try:
        material_review(
            material_id=pk,
            actor=request.user,
            accept=request.POST.get("outcome") == "accept",
            opinion=request.POST.get("opinion", ""),
        )
    except NotFound:
        raise
    except GovflowError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Your review of the material was recorded."))
    return redirect("web:case", reference=reference)


@login_required
@require_GET
def verifications(request):
    return render(
        request, "commitments/verifications.html", {"rows": verifications_for_user(user=request.user)}
    )


@login_required
@require_POST
def verification_decide_view(request, pk):
    reference = Verification.objects.filter(pk=pk).values_list("case__reference", flat=True).first()
    if reference is None:
        raise NotFound("verification not found")
    try:
        verification_decide(
            verification_id=pk,
            actor=request.user,
            truthful=request.POST.get("outcome") == "confirmed",
            opinion=request.POST.get("opinion", ""),
        )
    except NotFound:
        raise
    except GovflowError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("The verification was recorded."))
    return redirect("web:case", reference=reference)
