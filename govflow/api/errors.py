"""One error shape for the whole API, made in one place.

Every failure under /api/ answers

    {"error": {"code": "<stable code>", "message": "<plain text>", "fields": {"<path>": ["..."]}}}

whatever raised it: a service's GovflowError (its code and status), DRF's
own exceptions (validation, parse errors, authentication, throttling,
content negotiation), Django's Http404 / PermissionDenied, an oversized
body, the database being unreachable (503 with Retry-After), and anything
unexpected (logged, then a 500 without details). Error responses are always
JSON, whatever the request's Accept header said; an error raised outside a
view (in a middleware) gets the same shape from govflow.web.views.errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.views import set_rollback

from govflow.errors import GovflowError
from govflow.messages import error_text, fields_of

from .language import activate_for, is_english

logger = logging.getLogger("govflow.api")

# Every code the API answers with, by HTTP status (docs/api.md and the
# schema list them; tests/api/test_errors.py checks they are produced).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: (
        "invalid",
        "parse_error",
        "form_invalid",
        "no_branch_matched",
        "idempotency_key_invalid",
        "bad_request",
    ),
    401: ("not_authenticated", "authentication_failed"),
    403: ("forbidden", "csrf_failed"),
    404: ("not_found",),
    405: ("method_not_allowed",),
    406: ("not_acceptable",),
    409: ("conflict",),
    413: ("too_large",),
    415: ("unsupported_media_type",),
    422: ("idempotency_key_reused",),
    429: ("throttled",),
    500: ("server_error", "configuration"),
    503: ("unavailable",),
}

# While the database cannot be reached (a restart, a failover, a network
# cut) every request answers 503 with this Retry-After instead of a 500.
RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

_DRF_CODES: tuple[tuple[type[drf.APIException], str, Any], ...] = (
    (drf.ParseError, "parse_error", gettext_lazy("The request body could not be parsed.")),
    (
        drf.NotAuthenticated,
        "not_authenticated",
        gettext_lazy("Authentication credentials were not provided."),
    ),
    (drf.AuthenticationFailed, "authentication_failed", gettext_lazy("The credentials are not valid.")),
    (drf.PermissionDenied, "forbidden", gettext_lazy("You are not allowed to do this.")),
    (drf.NotFound, "not_found", gettext_lazy("The page or item was not found.")),
    (drf.MethodNotAllowed, "method_not_allowed", None),
    (drf.NotAcceptable, "not_acceptable", gettext_lazy("Responses are available as application/json only.")),
    (drf.UnsupportedMediaType, "unsupported_media_type", None),
    (drf.Throttled, "throttled", None),
)


class ApiError(GovflowError):
    """An error the API itself raises, with a message already in the
    caller's language."""

    translated = True

    def __init__(self, message: str, *, status: int, code: str, fields=None) -> None:
        super().__init__(str(message), code=code, fields=fields)
        self.status = status


def error_body(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "fields": dict(fields or {})}}


def error_response(
    status: int, code: str, message: str, fields: Mapping[str, Any] | None = None, headers=None
) -> JsonResponse:
    response = JsonResponse(
        error_body(code, message, fields),
        status=status,
        encoder=DjangoJSONEncoder,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as {"path.to.field": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            path = str(key) if not prefix else f"{prefix}.{key}"
            if key == "non_field_errors" and not prefix:
                path = ""
            for sub, messages in flatten(value, path).items():
                out.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            out.setdefault(prefix, []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                path = f"{prefix}.{index}" if prefix else str(index)
                for sub, messages in flatten(item, path).items():
                    out.setdefault(sub, []).extend(messages)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


def _govflow(exc: GovflowError) -> JsonResponse:
    status = exc.status if 400 <= exc.status < 600 else 400
    # Services write plain English; other readers get the translated sentence.
    translated = is_english() or getattr(exc, "translated", False)
    message = exc.message if translated else error_text(exc)
    if status >= 500:
        logger.error("API request failed: %s (%s)", exc.message, exc.code)
    return error_response(status, exc.code, message, fields_of(exc))


def _drf(exc: drf.APIException) -> JsonResponse:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, drf.ValidationError):
        fields = flatten(exc.detail)
        general = fields.pop("", None)
        message = general[0] if general else _("The input is not valid; see the messages by field.")
        return error_response(400, "invalid", message, fields, headers)
    code = "bad_request" if exc.status_code == 400 else "error"
    message = str(exc.detail) if isinstance(exc.detail, str) else _("The request could not be completed.")
    for cls, known_code, known_message in _DRF_CODES:
        if isinstance(exc, cls):
            code = known_code
            if known_message is not None:
                message = str(known_message)
            break
    codes = exc.get_codes()
    if isinstance(codes, str) and codes == "csrf_failed":
        code, message = "csrf_failed", str(exc.detail)
    elif isinstance(exc, drf.AuthenticationFailed) and isinstance(exc.detail, str):
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, None, headers)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> JsonResponse:
    """DRF's EXCEPTION_HANDLER: every exception a view raises, as the one shape."""
    set_rollback()
    return response_for(exc)


def response_for(exc: Exception) -> JsonResponse:
    if isinstance(exc, GovflowError):
        return _govflow(exc)
    if isinstance(exc, Http404):
        return error_response(404, "not_found", _("The page or item was not found."))
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(403, "forbidden", _("You are not allowed to do this."))
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "too_large", _("The request is too large."))
    if isinstance(exc, SuspiciousOperation):
        return error_response(400, "bad_request", _("The request could not be read."))
    if isinstance(exc, drf.APIException):
        return _drf(exc)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.error("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        return unavailable_response()
    logger.exception("unexpected error in an API request", exc_info=exc)
    return error_response(500, "server_error", _("Something went wrong on our side. Try again later."))


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any /api/ address that names no endpoint."""
    activate_for(request)
    path = request.path_info
    if not path.endswith("/"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return error_response(
                404,
                "not_found",
                _("There is no endpoint at this address; did you mean %(path)s?") % {"path": path + "/"},
            )
    return error_response(404, "not_found", _("There is no endpoint at this address."))


def unavailable_response() -> JsonResponse:
    return error_response(
        503,
        "unavailable",
        _("The service is briefly unavailable. Please try again in a moment."),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def server_error(request, *args, **kwargs):
    return error_response(500, "server_error", _("Something went wrong on our side. Try again later."))
