"""The public progress lookup page (/lookup/): no login; a POST (the query
code stays out of addresses and logs), limited per address."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from govflow.security.ratelimit import rate_check, too_many_requests
from govflow.web.lookup import lookup_limited, normalise_reference, progress_lookup

from .common import lang

# Per client address; GOVFLOW_RATE_LIMITS["lookup"] / ["lookup_daily"] override.
LOOKUP_RATE = "10/m"
LOOKUP_DAILY_RATE = "200/d"


def lookup_rate_check(request):
    """The first refusal of the two per-address budgets, or None."""
    for scope, rate in (("lookup", LOOKUP_RATE), ("lookup_daily", LOOKUP_DAILY_RATE)):
        decision = rate_check(request, scope, rate=rate, key="ip")
        if not decision.allowed:
            lookup_limited()
            return decision
    return None


@require_http_methods(["GET", "POST"])
def lookup(request):
    context = {"progress": None, "not_found": False, "typed_reference": ""}
    if request.method == "POST":
        refused = lookup_rate_check(request)
        if refused is not None:
            return too_many_requests(request, refused)
        reference = str(request.POST.get("reference", ""))
        context["typed_reference"] = normalise_reference(reference)
        context["progress"] = progress_lookup(
            reference=reference, code=str(request.POST.get("code", "")), language=lang(), now=timezone.now()
        )
        context["not_found"] = context["progress"] is None
    return render(request, "lookup/lookup.html", context)
