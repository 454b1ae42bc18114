"""HEAD is answered wherever GET is, with the GET's status and headers and
no body (govflow.web.middleware.HeadAsGetMiddleware): every address of the
site and the API that takes no parameter, and some that do."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

# Addresses that act on GET for reasons of their own: logging out is a POST.
SKIP = {"/accounts/logout/"}


def _routes(patterns, prefix: str = ""):
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


def plain_addresses() -> list[str]:
    """Every address without a parameter or a regular expression."""
    found = set()
    for route in _routes(get_resolver().url_patterns):
        if any(mark in route for mark in ("<", "^", "$", "(")):
            continue
        found.add("/" + route)
    return sorted(found - SKIP)


def test_the_walk_finds_the_site_and_the_api():
    addresses = plain_addresses()

    assert {"/", "/cases/", "/inbox/", "/api/v1/me/", "/api/v1/cases/", "/verify/"} <= set(addresses)


@pytest.mark.parametrize("who", ["anonymous", "admin", "applicant"])
def test_head_answers_like_get_everywhere(base_data, business_case, who):
    client = Client()
    if who != "anonymous":
        client.force_login(base_data[who])
    refused = []

    for address in plain_addresses():
        got = client.get(address)
        head = client.head(address)
        if head.status_code != got.status_code or head.content:
            refused.append((address, got.status_code, head.status_code))
        elif got.status_code == 200:
            assert head["Content-Type"] == got["Content-Type"], address

    assert refused == []


def test_head_on_pages_with_parameters_and_on_the_api(base_data, applicant, business_case):
    client = Client()
    client.force_login(applicant)
    token = Token.objects.get_or_create(user=applicant)[0].key
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")

    for address in (
        f"/cases/{business_case.reference}/",
        "/services/business_setup/",
        "/insight/services/business_setup/",
    ):
        head = client.head(address)
        assert (head.status_code, head.content) == (200, b""), address
    got = api.get(f"/api/v1/cases/{business_case.reference}/")
    head = api.head(f"/api/v1/cases/{business_case.reference}/")
    assert (head.status_code, head.content) == (200, b"")
    assert head["Content-Length"] == got["Content-Length"]
    assert client.head("/cases/NOSUCHCASE1/").status_code == 404
    assert client.head("/").status_code == 200


def test_head_does_not_open_unsafe_methods(base_data, applicant, business_case):
    client = Client()
    client.force_login(applicant)

    page = client.get(f"/cases/{business_case.reference}/withdraw/")  # the confirmation page
    response = client.head(f"/cases/{business_case.reference}/withdraw/")

    assert (response.status_code, response.content) == (page.status_code, b"")  # never a withdrawal
    business_case.refresh_from_db()
    assert business_case.status == "in_review"
