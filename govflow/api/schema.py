"""OpenAPI details drf-spectacular cannot infer: the error responses every
operation can give (one shared shape, documented once and referenced from
every operation), and the Idempotency-Key header."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .errors import ERROR_CODES
from .idempotency import HEADER, SCHEMA_PARAMETER
from .pagination import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "A stable, machine-readable code (see the list per status).",
                    "example": "not_found",
                },
                "message": {"type": "string", "description": "Plain text in the caller's language."},
                "fields": {
                    "type": "object",
                    "description": "Messages per input field or header ('path.to.field' for nested "
                    "values, table rows by index); empty when the error is not about one field.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}

_WHEN = {
    400: "The request is malformed or its data is invalid (see fields).",
    401: "No credentials, or credentials that are not valid.",
    403: "Authenticated but not allowed (or a missing CSRF token with a session).",
    404: "No such object, or one the caller may not see (the two are not told apart).",
    405: "The address does not take this method; Allow lists those it does.",
    406: "The Accept header asks for something other than JSON.",
    409: "The object's state does not allow this now (already submitted, decided by a colleague, ...).",
    413: "The request body is too large.",
    415: "The request body has a content type this operation does not take.",
    422: "The Idempotency-Key was used before for a different request.",
    429: "Too many requests; retry after the number of seconds in Retry-After.",
    500: "An unexpected error on the server.",
    503: "The server cannot reach its database for a moment; retry after the seconds in Retry-After.",
}
ALWAYS = (400, 401, 403, 404, 406, 429, 500, 503)
UNSAFE = (409, 413, 415)


def idempotency_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        HEADER,
        SCHEMA_PARAMETER["schema"],
        location=OpenApiParameter.HEADER,
        required=False,
        description=SCHEMA_PARAMETER["description"],
    )


def _response_name(status: int) -> str:
    return f"Error{status}"


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the shared error responses."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for status, text in _WHEN.items():
        codes = ", ".join(f"`{code}`" for code in ERROR_CODES.get(status, ()))
        responses[_response_name(status)] = {
            "description": f"{text} Codes: {codes}.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = list(ALWAYS)
            if method != "get":
                statuses += UNSAFE
            if any(p.get("name") == HEADER for p in operation.get("parameters", [])):
                statuses.append(422)
            documented = operation.setdefault("responses", {})
            for status in sorted(statuses):
                documented.setdefault(
                    str(status), {"$ref": f"#/components/responses/{_response_name(status)}"}
                )
    return result


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        OpenApiParameter.QUERY,
        description="Page number, from 1.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        OpenApiParameter.QUERY,
        description=f"Items per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
    ),
]
_pages: dict[type, type] = {}


def page_of(serializer_class: type) -> type:
    """The page shape (see govflow.api.pagination) around a serializer, for
    lists the views page themselves."""
    if serializer_class not in _pages:
        name = serializer_class.__name__.removesuffix("Serializer") + "Page"
        _pages[serializer_class] = type(
            name,
            (serializers.Serializer,),
            {
                "results": serializer_class(many=True),
                "page": serializers.IntegerField(min_value=1, max_value=MAX_PAGE),
                "page_size": serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "__module__": __name__,
            },
        )
    return _pages[serializer_class]


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "govflow.api.authentication.SessionAuthentication"
    name = "cookieAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The web session (log in on the site); unsafe methods also need the "
            "X-CSRFToken header with the csrftoken cookie's value.",
        }
