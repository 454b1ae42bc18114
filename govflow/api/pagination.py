"""One page shape for every list: {"results": [...], "page", "page_size",
"next", "previous"}. `?page=` counts from 1 and `?page_size=` is 1 to 100
(25 by default); anything else is a 400, not a silent default. No total
count: lists are read one page plus one row at a time, however long."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _number(request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
    if not 1 <= value <= maximum:
        raise serializers.ValidationError(
            {name: [_("Give a whole number from 1 to %(max)s.") % {"max": maximum}]}
        )
    return value


def page_request(request) -> PageRequest:
    return PageRequest(
        page=_number(request, "page", 1, MAX_PAGE),
        page_size=_number(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )


def page_links(request, page: PageRequest, has_next: bool) -> tuple[str | None, str | None]:
    url = request.build_absolute_uri()
    following = replace_query_param(url, "page", page.page + 1) if has_next else None
    if page.page <= 1:
        previous = None
    elif page.page == 2:
        previous = remove_query_param(url, "page")
    else:
        previous = replace_query_param(url, "page", page.page - 1)
    return following, previous


def page_response(request, page: PageRequest, results: list, has_next: bool) -> Response:
    following, previous = page_links(request, page, has_next)
    return Response(
        {
            "results": results,
            "page": page.page,
            "page_size": page.page_size,
            "next": following,
            "previous": previous,
        }
    )


class PagePagination(BasePagination):
    """For querysets: reads page_size + 1 rows to know whether a next page exists."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = page_request(request)
        rows = list(queryset[self.page.offset : self.page.offset + self.page.page_size + 1])
        self.has_next = len(rows) > self.page.page_size
        return rows[: self.page.page_size]

    def get_paginated_response(self, data):
        return page_response(self.request, self.page, data, self.has_next)

    def get_paginated_response_schema(self, schema):
        return paginated_schema(schema)

    def get_schema_operation_parameters(self, view):
        return PAGE_PARAMETERS


def paginated_schema(schema):
    return {
        "type": "object",
        "required": ["results", "page", "page_size", "next", "previous"],
        "properties": {
            "results": schema,
            "page": {"type": "integer", "minimum": 1, "example": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "example": 25},
            "next": {"type": "string", "format": "uri", "nullable": True},
            "previous": {"type": "string", "format": "uri", "nullable": True},
        },
    }


PAGE_PARAMETERS = [
    {
        "name": "page",
        "required": False,
        "in": "query",
        "description": "Page number, from 1.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    },
    {
        "name": "page_size",
        "required": False,
        "in": "query",
        "description": f"Items per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    },
]
