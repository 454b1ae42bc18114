"""Public verification (no login), downloads (whoever sees the case) and the
administrators' revoke / reissue pages. Thin: parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from govflow.accounts.permissions import is_admin
from govflow.errors import GovflowError
from govflow.security.ratelimit import rate_limit
from govflow.storage import StoredFileMissing, StoredObject, open_verified

from . import selectors, services


def _problem_text(exc: GovflowError) -> str:
    texts = {
        "reason_required": _("Give a reason."),
        "reason_too_long": _("The reason is too long (at most 500 characters)."),
        "already_revoked": _("This certificate is already revoked."),
        "already_reissued": _("This certificate was already reissued."),
        "still_live": _("Another certificate of this case and type is still valid."),
        "forbidden": _("Only administrators may revoke or reissue certificates."),
    }
    return str(texts.get(exc.code, _("The request could not be completed.")))


def _result_page(request, result, *, source: str, status: int = 200):
    return render(request, "certificates/verify.html", {"result": result, "source": source}, status=status)


@require_http_methods(["GET", "POST"])
@rate_limit("verify", key="ip", methods=("POST",))
def verify(request):
    """The form: a number, or a PDF to upload."""
    if request.method == "GET":
        number = request.GET.get("number", "")
        if number.strip():
            return redirect("certificates:verify_number", number=services.normalise_number(number) or "-")
        return render(request, "certificates/verify.html", {"result": None})
    upload = request.FILES.get("pdf")
    if upload is None:
        return render(
            request,
            "certificates/verify.html",
            {"result": None, "problem": _("Choose a PDF file to check.")},
            status=400,
        )
    if upload.size > services.MAX_PDF_BYTES:
        return render(
            request,
            "certificates/verify.html",
            {"result": None, "problem": _("The file is too large to be one of our certificates.")},
            status=400,
        )
    data = b"".join(upload.chunks())
    return _result_page(request, services.certificate_verify_pdf(data), source="file")


@rate_limit("verify", key="ip", methods=("GET",))
def verify_number(request, number):
    return _result_page(request, services.certificate_verify_number(number), source="number")


@login_required
def download(request, number):
    certificate = selectors.certificate_get_for_download(user=request.user, number=number)
    try:
        handle = open_verified(
            certificate.file,
            sha256=certificate.sha256,
            stored=StoredObject("certificate", certificate.number, certificate.case_id),
            actor_id=request.user.pk,
        )
    except StoredFileMissing:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=f"{certificate.number}.pdf", content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _manager(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@_manager
def manage(request):
    q, status = request.GET.get("q", ""), request.GET.get("status", "")
    page = Paginator(
        selectors.certificates_for_admin(q=q, status=status), selectors.ADMIN_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(request, "certificates/manage.html", {"page": page, "q": q, "status": status})


@_manager
@require_http_methods(["GET", "POST"])
def manage_detail(request, number):
    certificate = selectors.certificate_get_for_admin(number=number)
    if request.method == "POST":
        action, reason = request.POST.get("action", ""), request.POST.get("reason", "")
        try:
            if action == "revoke":
                services.certificate_revoke(number=number, actor=request.user, reason=reason)
                messages.success(request, _("The certificate was revoked."))
            elif action == "reissue":
                new = services.certificate_reissue(number=number, actor=request.user, reason=reason)
                messages.success(
                    request,
                    _("A new certificate %(number)s replaces it; it is being rendered.")
                    % {"number": new.number},
                )
                return redirect("certificates:manage_detail", number=new.number)
            else:
                raise Http404
        except GovflowError as exc:
            return render(
                request,
                "certificates/manage_detail.html",
                {"certificate": certificate, "problem": _problem_text(exc), "reason": reason},
                status=exc.status if 400 <= exc.status < 500 else 400,
            )
        return redirect("certificates:manage_detail", number=number)
    return render(request, "certificates/manage_detail.html", {"certificate": certificate})
