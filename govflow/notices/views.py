"""The public notice pages (公示): the list of cases in notice now and the
objection form, both without a login. What they show of a case is the
service, the reference, the step, the template's public title field and the
notice's dates: never the applicant's personal data nor any objector's.

Filing is limited per client address (a short and a daily budget, as the
progress lookup), carries a honeypot field that people do not see (a form
that fills it is refused without saying why), and needs reasons of some
length: honest, simple measures; the reviewing department sees all filings,
each with a short mark of the keyed hash of the address it came from (the
same mark, the same address; the address itself is not stored)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from govflow.errors import FormInvalid, NotFound
from govflow.security.client import client_ip
from govflow.security.ratelimit import rate_check, too_many_requests
from govflow.web.views.common import lang

from .selectors import notice_get, notices_open
from .services import objection_file

# Per client address; GOVFLOW_RATE_LIMITS["objection"] / ["objection_daily"] override.
OBJECTION_RATE = "3/m"
OBJECTION_DAILY_RATE = "20/d"
HONEYPOT = "website"


def objection_rate_check(request):
    """The first refusal of the two per-address budgets, or None."""
    for scope, rate in (("objection", OBJECTION_RATE), ("objection_daily", OBJECTION_DAILY_RATE)):
        decision = rate_check(request, scope, rate=rate, key="ip")
        if not decision.allowed:
            return decision
    return None


@require_GET
def notice_list(request):
    return render(request, "notices/list.html", {"notices": notices_open(language=lang())})


@require_http_methods(["GET", "POST"])
def objection_form(request, reference):
    if request.method == "POST":
        # counted before anything is looked up: probing for cases costs the same
        refused = objection_rate_check(request)
        if refused is not None:
            return too_many_requests(request, refused)
    notice = notice_get(reference=reference, language=lang())
    if notice is None:
        raise Http404
    context = {"notice": notice, "errors": {}, "typed": {}, "filed": False}
    if request.method == "POST":
        typed = {key: str(request.POST.get(key, "")) for key in ("name", "contact", "reasons")}
        context["typed"] = typed
        if request.POST.get(HONEYPOT):
            # filled by a robot: nothing is filed, and nothing tells it so
            context["filed"] = True
            return render(request, "notices/object.html", context)
        try:
            objection_file(
                reference=notice.reference,
                name=typed["name"],
                contact=typed["contact"],
                reasons=typed["reasons"],
                client_address=client_ip(request),
                now=timezone.now(),
                language=lang(),
            )
        except FormInvalid as exc:
            context["errors"] = exc.fields
            return render(request, "notices/object.html", context, status=400)
        except NotFound:
            raise Http404 from None
        context["filed"] = True
    return render(request, "notices/object.html", context)
