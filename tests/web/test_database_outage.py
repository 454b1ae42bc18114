"""While the database cannot be reached, every request answers 503 with
Retry-After (the site's page, or the API's error shape), not a 500; once it
is back, pages work again (govflow.web.views.errors, govflow.api.errors).
The connection is pointed at an address where no database listens."""

from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from govflow.api.errors import RETRY_AFTER_SECONDS
from govflow.cases.services import case_create

pytestmark = pytest.mark.django_db(transaction=True)


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_down():
    """Point the connection where no database answers; restored afterwards."""
    saved = dict(connection.settings_dict)

    def down():
        connection.close()
        if connection.vendor == "postgresql":
            connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_unused_port()))
        else:
            connection.settings_dict.update(NAME="/nonexistent/govflow/db.sqlite3")

    def up():
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    yield down, up
    up()


def assert_unavailable_page(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "服务暂时不可用" in response.content.decode()


def assert_unavailable_json(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["error"]["code"] == "unavailable"
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_pages_and_the_api_answer_503_with_retry_after_until_the_database_is_back(
    base_data, applicant, database_down
):
    down, up = database_down
    draft = case_create(applicant=applicant, template_code="business_setup")
    web = Client(raise_request_exception=False)
    web.force_login(applicant)
    anonymous = Client(raise_request_exception=False)
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=applicant)[0].key}")

    down()
    pages = [
        anonymous.get("/"),
        anonymous.get("/services/business_setup/"),
        web.get("/cases/"),  # the session cannot be read: raised inside a middleware
        web.post(f"/cases/{draft.reference}/edit/", {"action": "save", "company_name": "北京"}),
        anonymous.get("/insight/services/business_setup/"),
    ]
    head = anonymous.head("/")
    answers = [
        api.get("/api/v1/me/"),
        api.post("/api/v1/cases/", {"service": "business_setup", "data": {}}, format="json"),
        APIClient(raise_request_exception=False).get("/api/v1/services/"),
    ]
    up()

    for response in pages:
        assert_unavailable_page(response)
    assert (head.status_code, head["Retry-After"], head.content) == (503, str(RETRY_AFTER_SECONDS), b"")
    for response in answers:
        assert_unavailable_json(response)
    assert anonymous.get("/").status_code == 200
    assert web.get("/cases/").status_code == 200
    assert api.get("/api/v1/me/").status_code == 200


def test_other_errors_stay_500s_in_the_right_shape(settings, base_data):
    settings.ROOT_URLCONF = "tests.web.urls_explode"

    page = Client(raise_request_exception=False).get("/explode/")
    answer = Client(raise_request_exception=False).get("/api/explode/")

    assert page.status_code == 500
    assert "Retry-After" not in page
    assert "系统繁忙" in page.content.decode()
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "server_error"
