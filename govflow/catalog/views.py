"""The catalogue's pages: the datasets and their metadata, records for
department staff, data requests (asking, and the owner's head deciding),
and the applicant's lookup that fills a draft from the catalogue.

Thin: parse the input, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.errors import FormInvalid, GovflowError
from govflow.messages import fields_of
from govflow.security.client import client_ip
from govflow.web.views.common import int_or_none, lang

from . import selectors, services
from .errors import message_of
from .reads import catalog_reads_record

MAX_KEY_INPUT = 200


@login_required
@require_GET
def catalogue(request):
    return render(
        request,
        "catalog/catalogue.html",
        {
            "rows": selectors.datasets_overview(),
            "pending": selectors.pending_requests_count(user=request.user),
        },
    )


def _dataset_context(request, code: str, **extra):
    return {"page": selectors.dataset_page(user=request.user, code=code), **extra}


@login_required
@require_GET
def dataset_detail(request, code):
    return render(request, "catalog/dataset.html", _dataset_context(request, code))


@login_required
@require_POST
def request_create(request, code):
    """A member of a department asks the owner for fields."""
    fields = request.POST.getlist("fields")
    try:
        services.data_request_create(
            actor=request.user,
            dataset=code,
            department=request.POST.get("department", ""),
            fields=fields,
            purpose=request.POST.get("purpose", ""),
            days=int_or_none(request.POST.get("days")) or 0,
        )
    except GovflowError as exc:
        context = _dataset_context(
            request,
            code,
            problem=message_of(exc),
            errors=fields_of(exc),
            typed={
                "fields": fields,
                "purpose": request.POST.get("purpose", ""),
                "days": request.POST.get("days", ""),
                "department": request.POST.get("department", ""),
            },
        )
        return render(request, "catalog/dataset.html", context, status=exc.status)
    messages.success(request, _("Your request was sent to the owning department."))
    return redirect("catalog:dataset", code=code)


@login_required
@require_GET
def records(request, code):
    q = request.GET.get("q", "")[:100]
    page_number = max(int_or_none(request.GET.get("page")) or 1, 1)
    page = selectors.records_for_user(
        user=request.user,
        code=code,
        q=q,
        page=min(page_number, 100_000),
        language=lang(),
    )
    catalog_reads_record(actor=request.user, reads=[page.read], source_ip=client_ip(request))
    return render(request, "catalog/records.html", {"page": page, "q": q, "number": page_number})


@login_required
@require_GET
def record_detail(request, code, key):
    detail = selectors.record_for_user(user=request.user, code=code, key=key, language=lang())
    catalog_reads_record(actor=request.user, reads=[detail.read], source_ip=client_ip(request))
    return render(request, "catalog/record.html", {"detail": detail})


@login_required
@require_GET
def requests_board(request):
    return render(request, "catalog/requests.html", {"board": selectors.requests_board(user=request.user)})


@login_required
@require_POST
def request_decide(request, pk):
    decision = request.POST.get("decision")
    if decision not in ("approve", "refuse"):
        messages.error(request, _("Choose to grant or to refuse."))
        return redirect("catalog:requests")
    try:
        services.data_request_decide(
            actor=request.user,
            request_id=pk,
            approve=decision == "approve",
            note=request.POST.get("note", ""),
        )
    except GovflowError as exc:
        if exc.status == 404:
            raise
        messages.error(request, message_of(exc))
        return redirect("catalog:requests")
    messages.success(
        request, _("The request was granted.") if decision == "approve" else _("The request was refused.")
    )
    return redirect("catalog:requests")


# -- the applicant's lookup -------------------------------------------------------------


@login_required
@require_GET
def lookup(request, reference):
    """What the catalogue knows for the typed code (an HTMX fragment in the
    application form, or a page of its own without JavaScript)."""
    dataset = request.GET.get("dataset", "")[:64]
    key = request.GET.get("key", "")[:MAX_KEY_INPUT]
    context = {"reference": reference, "dataset_code": dataset, "key": key}
    try:
        context["offer"] = selectors.reuse_offer(
            user=request.user, reference=reference, dataset=dataset, key=key, language=lang()
        )
    except FormInvalid as exc:
        context["problem"] = "；".join(m for ms in exc.fields.values() for m in ms)
    except GovflowError as exc:
        if exc.status == 404 and exc.code != "no_record":
            raise
        context["problem"] = message_of(exc)
    template = "catalog/_offer.html" if request.htmx else "catalog/offer.html"
    return render(request, template, context)


@login_required
@require_POST
def prefill(request, reference):
    try:
        offer = services.case_prefill(
            actor=request.user,
            reference=reference,
            dataset=request.POST.get("dataset", "")[:64],
            key=request.POST.get("key", "")[:MAX_KEY_INPUT],
            language=lang(),
        )
    except FormInvalid as exc:
        messages.error(request, "；".join(m for ms in exc.fields.values() for m in ms))
    except GovflowError as exc:
        if exc.status == 404 and exc.code != "no_record":
            raise
        messages.error(request, message_of(exc))
    else:
        messages.success(
            request,
            _("%(count)s verified fact(s) were filled in from the data catalogue.")
            % {"count": len(offer.offered)},
        )
    return redirect("web:case_edit", reference=reference)


@login_required
@require_http_methods(["POST"])
def release(request, reference):
    try:
        services.case_prefill_release(
            actor=request.user, reference=reference, field_id=request.POST.get("field", "")[:64]
        )
    except GovflowError as exc:
        if exc.status == 404:
            raise
        messages.error(request, message_of(exc))
    else:
        messages.success(
            request, _("You can now type this field yourself; reviewers will compare it with the catalogue.")
        )
    return redirect("web:case_edit", reference=reference)
