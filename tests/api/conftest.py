"""Fixtures for the API tests: token-authenticated clients per persona and
cases in given states (built with the same services the web uses)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.web.conftest import PDF_BYTES, PNG_BYTES, example, live_task, submitted  # noqa: F401


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache; each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def api_client(user=None, *, language: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    if language:
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


@pytest.fixture
def client_for():
    return api_client


@pytest.fixture
def business_case(base_data, applicant):
    """A business-setup case waiting for market regulation's registration review."""
    return submitted(applicant, "business_setup", company_name="北京测试科技有限公司")


def assert_error(response, status: int, code: str) -> dict:
    """The one error shape; returns the error object."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["fields"], dict)
    return error


@pytest.fixture
def wsgi_app():
    """Django's WSGI app, called in the test's thread (and so inside the
    test's transaction). Like Django's test client, it must not close the
    connection at the end of each request; the test client reconnects that
    handler after each of its own requests, so it is taken off per call."""
    from django.core.wsgi import get_wsgi_application

    handler = get_wsgi_application()

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return handler(environ, start_response)

    try:
        yield app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The tag characters (U+E0000-U+E007F) are refused by the server
# (govflow.engine.text) but cannot be written in the schema's ECMA 262
# patterns (govflow.api.schema_text says why); the schemathesis runs skip the
# rare case that holds one rather than count the known gap as a failure.
_TAG_CHARACTERS = re.compile("[\U000e0000-\U000e007f]")


def skip_tag_characters(schema) -> None:
    @schema.hook
    def filter_case(context, case):
        parts = (case.path_parameters, case.query, case.headers, case.body)
        return not _TAG_CHARACTERS.search(json.dumps(parts, ensure_ascii=False, default=str))
