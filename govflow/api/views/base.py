"""What every API view shares: the caller's language, and answers built
from the selectors' results."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from govflow.security.input import hidden_character_fields

from ..idempotency import run_once
from ..language import activate_for, lang
from ..schema import idempotency_parameter


class ApiView(APIView):
    # Top-level body members a view checks with rules of its own (the case
    # form's data: the form's rules refuse the same characters, by field id).
    checks_own_text: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        activate_for(request)
        _refuse_large_body(request)
        super().initial(request, *args, **kwargs)
        _refuse_hidden_characters(request, skip=self.checks_own_text)

    @property
    def lang(self) -> str:
        return lang()

    def context(self, **extra):
        return {"request": self.request, "lang": lang(), **extra}


def _refuse_large_body(request) -> None:
    """DRF reads a JSON body whole; Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    bounds it here too (file uploads stream to disk and are bounded by the
    slot's limit, and by the reverse proxy)."""
    if request.content_type.startswith("multipart/"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        raise RequestDataTooBig("the request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE")


def _refuse_hidden_characters(request, *, skip: tuple[str, ...]) -> None:
    """NUL, controls and invisible characters anywhere in the body: 400 with
    each field's message (govflow.security.input; query parameters were
    checked by its middleware)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    fields = hidden_character_fields(request.data, skip=skip)
    if fields:
        raise ValidationError(fields)


class ApiListView(ApiView, ListModelMixin, GenericAPIView):
    """A paginated list over a selector's queryset (ListModelMixin tells the
    schema generator it is a list: the page shape, page and filter params)."""

    def get_serializer_context(self):
        return self.context()

    def list_response(self, queryset):
        queryset = self.filter_queryset(queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class PublicMixin:
    """Reference data anyone may read (the web shows it without a login)."""

    permission_classes = [AllowAny]


# A POST that runs one service, once per Idempotency-Key: the body checked
# by `body` (none: no body), `act` called with what it holds and the path's
# arguments, the result answered through `out` with `status` (or as
# `answer` says). `check` runs
# first, so an outsider gets the 404 of the thing named in the path before
# any 400 of a body it has no business sending. The `action` decorator
# documents it from the same attributes. (A comment, not a docstring: the
# schema generator would give it to every such operation as its text.)
class ActionView(ApiView):
    body: type[Serializer] | None = None
    out: type[Serializer]
    endpoint: str  # the idempotency record's endpoint name
    status: int = 200

    def check(self, **path) -> None:
        """Before the body is read (e.g. the task is the caller's)."""

    def act(self, data: dict, **path):
        raise NotImplementedError

    def answer(self, result, **path) -> Response:
        return Response(self.out(result).data, status=self.status)

    def post(self, request, **path):
        self.check(**path)
        data = {}
        if self.body is not None:
            body = self.body(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data

        def run():
            return self.answer(self.act(data, **path), **path)

        return run_once(request, endpoint=self.endpoint, action=run)


def action(*, tags: list[str], summary: str, parameters: list, description: str | None = None, **more):
    """The OpenAPI description of an ActionView: its body, its answer and
    the Idempotency-Key, from the class's own attributes."""

    def document(view: type[ActionView]) -> type[ActionView]:
        return extend_schema_view(
            post=extend_schema(
                tags=tags,
                summary=summary,
                description=description,
                parameters=[*parameters, idempotency_parameter()],
                request=view.body,
                responses={view.status: view.out},
                **more,
            )
        )(view)

    return document
