"""Webhook admin pages (process admins): endpoints, their secrets, deliveries."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.errors import GovflowError, InvalidInput
from govflow.messages import error_text
from govflow.web.views.common import admin_required, int_or_none, lang

from . import selectors
from .forms import EndpointForm
from .models import EVENT_KINDS, DeliveryStatus
from .services import (
    delivery_retry,
    endpoint_register,
    endpoint_rotate_secret,
    endpoint_set_active,
    endpoint_update,
)

FIELD_MESSAGES = {
    "required": gettext_lazy("This field is required."),
    "not an http or https URL": gettext_lazy("Enter a URL that starts with http:// or https://."),
    "must not carry a user name or password": gettext_lazy(
        "Leave the user name and password out of the URL; deliveries are signed instead."
    ),
    "must not contain spaces or control characters": gettext_lazy(
        "The URL must not contain spaces or control characters."
    ),
    "unknown department": gettext_lazy("Choose a department from the list."),
    "name the department or the system that owns the endpoint": gettext_lazy(
        "Choose the department, or name the system, that owns the endpoint."
    ),
    "an endpoint belongs to a department or to a system, not both": gettext_lazy(
        "An endpoint belongs to a department or to a system, not both."
    ),
    "choose at least one event kind": gettext_lazy("Choose at least one event kind."),
}

KNOWN_ERRORS = {
    "this delivery has already been delivered": gettext_lazy("This delivery has already been delivered."),
    "the endpoint is deactivated; reactivate it before retrying": gettext_lazy(
        "The endpoint is deactivated; reactivate it before retrying."
    ),
}


def _field_text(message: str) -> str:
    known = FIELD_MESSAGES.get(message)
    if known is not None:
        return str(known)
    if message.startswith("at most ") and message.endswith(" characters"):
        return _("At most %(count)s characters.") % {"count": message[8:-11]}
    if message.startswith("unknown event kind"):
        return _("Choose event kinds from the list.")
    if message.startswith("internal address: "):
        return _(
            "This URL leads inside the network (%(address)s): loopback, private, link-local and cloud "
            "metadata addresses are refused unless the deployment allows them "
            "(GOVFLOW_WEBHOOK_ALLOWED_HOSTS)."
        ) % {"address": message.removeprefix("internal address: ")}
    return message


def _error(exc: GovflowError) -> str:
    known = KNOWN_ERRORS.get(exc.message)
    return str(known) if known is not None else error_text(exc)


def _apply_errors(form: EndpointForm, exc: InvalidInput) -> None:
    for field, problems in exc.fields.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, _field_text(problem))


@admin_required
@require_GET
def endpoint_list(request):
    return render(request, "webhooks/endpoints.html", {"endpoints": selectors.endpoints_for_admin()})


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def endpoint_new(request):
    departments = selectors.department_choices(language=lang())
    form = EndpointForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = endpoint_register(actor=request.user, **form.values())
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            return render(
                request, "webhooks/secret.html", {"endpoint": endpoint, "secret": secret, "registered": True}
            )
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": None})


@admin_required
@require_GET
def endpoint_detail(request, pk):
    endpoint = selectors.endpoint_get_for_admin(endpoint_id=pk)
    page = selectors.deliveries_for_admin(endpoint_id=endpoint.pk)
    return render(
        request,
        "webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "deliveries": page.rows,
            "has_more": page.has_next,
            "kinds": dict(EVENT_KINDS),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, pk):
    endpoint = selectors.endpoint_get_for_admin(endpoint_id=pk)
    departments = selectors.department_choices(language=lang())
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "department": endpoint.department.code if endpoint.department_id else "",
        "system": endpoint.system,
        "kinds": endpoint.kinds,
        "cleared_for_secrets": endpoint.cleared_for_secrets,
    }
    form = EndpointForm(request.POST or None, initial=initial, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint_update(actor=request.user, endpoint_id=endpoint.pk, **form.values())
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The endpoint was saved."))
            return redirect("webhooks:endpoint", pk=endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": endpoint})


@admin_required
@require_POST
def endpoint_activation(request, pk):
    active = request.POST.get("active") == "1"
    try:
        endpoint_set_active(actor=request.user, endpoint_id=pk, active=active)
    except InvalidInput as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(
            request,
            _("The endpoint is active again.")
            if active
            else _("The endpoint is deactivated; nothing more is sent to it."),
        )
    return redirect("webhooks:endpoint", pk=pk)


@never_cache
@admin_required
@require_POST
def endpoint_rotate(request, pk):
    endpoint, secret = endpoint_rotate_secret(actor=request.user, endpoint_id=pk)
    return render(
        request, "webhooks/secret.html", {"endpoint": endpoint, "secret": secret, "registered": False}
    )


def _delivery_filters(request) -> dict:
    get = request.GET
    status = get.get("status", "")
    kind = get.get("kind", "")
    return {
        "status": status if status in DeliveryStatus.values else "",
        "kind": kind if kind in dict(EVENT_KINDS) else "",
        "endpoint_id": int_or_none(get.get("endpoint")),
    }


@admin_required
@require_GET
def delivery_list(request):
    filters = _delivery_filters(request)
    page = max(1, int_or_none(request.GET.get("page")) or 1)
    result = selectors.deliveries_for_admin(page=page, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "webhooks/deliveries.html",
        {
            "result": result,
            "filters": filters,
            "statuses": DeliveryStatus.choices,
            "kinds": EVENT_KINDS,
            "endpoints": selectors.endpoints_for_admin(),
            "query": query.urlencode(),
        },
    )


@admin_required
@require_GET
def delivery_detail(request, pk):
    delivery = selectors.delivery_get_for_admin(delivery_id=pk)
    return render(request, "webhooks/delivery.html", {"delivery": delivery, "body": _shown_body(delivery)})


def _shown_body(delivery) -> str:
    """The body as sent, except form data carrying secret fields, which an
    admin page does not show (the trail records what was sent)."""
    if not delivery.carries_secrets:
        return delivery.body
    try:
        event = json.loads(delivery.body)
        event["data"]["form"] = _("(hidden: holds secret fields)")
    except (ValueError, KeyError, TypeError):
        return _("(hidden: holds secret fields)")
    return json.dumps(event, ensure_ascii=False, indent=2)


@admin_required
@require_POST
def delivery_retry_view(request, pk):
    try:
        delivery_retry(actor=request.user, delivery_id=pk)
    except InvalidInput as exc:
        messages.error(request, _error(exc))
    except GovflowError as exc:
        if exc.code == "not_found":
            raise
        messages.error(request, _error(exc))
    else:
        messages.success(
            request, _("The delivery was sent to a worker; reload in a moment to see the result.")
        )
    return redirect("webhooks:delivery", pk=pk)
