"""The audit trail for auditors: filter, page, export as CSV. Anyone else
gets a 404 (the pages do not admit to existing)."""

from __future__ import annotations

from functools import wraps

from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from govflow.accounts.permissions import is_auditor
from govflow.security.client import client_ip

from .exports import audit_export_record, csv_lines
from .forms import ACTIONS, OUTCOMES, TrailFilterForm
from .selectors import TrailFilter, audit_events

PAGE_SIZE = 50


def auditor_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_auditor(request.user):
            raise Http404
        # Times are entered and shown in the site's time zone (TIME_ZONE,
        # the offices' wall clock); the CSV export writes UTC.
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@auditor_only
def trail(request):
    form = TrailFilterForm(request.GET or None)
    page = None
    if form.is_bound and not form.is_valid():
        events = None
    else:
        filters = form.filters() if form.is_bound else TrailFilter()
        events = audit_events(filters=filters)
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/trail.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "actions": ACTIONS,
            "outcomes": OUTCOMES,
        },
    )


@require_GET
@auditor_only
def export_csv(request):
    form = TrailFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return trail(request)
    filters = form.filters() if form.is_bound else TrailFilter()
    audit_export_record(actor=request.user, filters=filters, source_ip=client_ip(request))
    events = audit_events(filters=filters).iterator(chunk_size=2000)
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
