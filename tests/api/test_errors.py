"""One error shape everywhere, whatever failed: the service layer, DRF's
parsing, authentication, throttling, routing, or an unexpected exception."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.test import APIClient

from govflow.api.errors import ERROR_CODES

from .conftest import api_client, assert_error

pytestmark = pytest.mark.django_db


def test_unknown_addresses_under_api_are_json_404s(base_data, applicant):
    client = api_client(applicant)

    assert_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(client.post("/api/nothing", {}, format="json"), 404, "not_found")
    hint = assert_error(client.get("/api/v1/cases"), 404, "not_found")
    assert "/api/v1/cases/" in hint["message"]


def test_authentication_errors(base_data):
    anonymous = api_client()

    missing = anonymous.get("/api/v1/cases/")
    wrong = api_client()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(missing, 401, "not_authenticated")
    assert missing["WWW-Authenticate"].startswith("Token")
    assert_error(wrong.get("/api/v1/cases/"), 401, "authentication_failed")
    malformed = api_client()
    malformed.credentials(HTTP_AUTHORIZATION="Bearer")
    assert_error(malformed.get("/api/v1/me/"), 401, "authentication_failed")


def test_bearer_keyword_works_too(applicant):
    from .conftest import token_for

    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(applicant)}")

    assert client.get("/api/v1/me/").json()["username"] == "applicant"


def test_a_token_is_refused_on_the_next_request_once_its_user_is_deactivated_or_it_is_revoked(applicant):
    from rest_framework.authtoken.models import Token

    from .conftest import token_for

    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(applicant)}")
    assert client.get("/api/v1/me/").status_code == 200

    applicant.is_active = False
    applicant.save(update_fields=["is_active"])
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")

    applicant.is_active = True
    applicant.save(update_fields=["is_active"])
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == applicant.username

    Token.objects.filter(user=applicant).delete()
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_session_authentication_needs_csrf_on_unsafe_methods(applicant):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(applicant)

    assert client.get("/api/v1/me/").status_code == 200
    error = assert_error(
        client.post("/api/v1/cases/", {"service": "business_setup"}, format="json"), 403, "csrf_failed"
    )
    assert "CSRF" in error["message"]


def test_parse_errors_and_content_types(applicant):
    client = api_client(applicant)

    broken = client.post("/api/v1/cases/", data=b'{"service": ', content_type="application/json")
    form = client.post("/api/v1/cases/", data="service=x", content_type="application/x-www-form-urlencoded")
    html = client.get("/api/v1/me/", HTTP_ACCEPT="text/html")

    assert_error(broken, 400, "parse_error")
    assert_error(form, 415, "unsupported_media_type")
    assert_error(html, 406, "not_acceptable")


def test_an_oversized_body_is_413(applicant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"service": "business_setup", "data": {"business_scope": "' + b"x" * 2000 + b'"}}'

    response = api_client(applicant).post("/api/v1/cases/", data=body, content_type="application/json")

    assert_error(response, 413, "too_large")


def test_validation_errors_name_their_fields(applicant, business_case):
    client = api_client(applicant)

    error = assert_error(client.post("/api/v1/cases/", {"data": "nope"}, format="json"), 400, "invalid")
    bad_page = assert_error(client.get("/api/v1/cases/?page=0"), 400, "invalid")
    bad_filter = assert_error(client.get("/api/v1/cases/?status=bogus&ordering=title"), 400, "invalid")
    blank_filter = assert_error(client.get("/api/v1/cases/?status=&created_after="), 400, "invalid")
    blank_task_filter = assert_error(client.get("/api/v1/tasks/?due=&ordering="), 400, "invalid")
    bad_form = assert_error(
        client.post(
            "/api/v1/cases/",
            {"service": "business_setup", "data": {"legal_rep_phone": "123", "nope": 1}},
            format="json",
        ),
        400,
        "form_invalid",
    )

    assert set(error["fields"]) == {"service", "data"}
    assert set(bad_page["fields"]) == {"page"}
    assert set(bad_filter["fields"]) == {"status", "ordering"}
    assert set(blank_filter["fields"]) == {"status", "created_after"}
    assert set(blank_task_filter["fields"]) == {"due", "ordering"}
    assert set(bad_form["fields"]) == {"legal_rep_phone", "nope"}


def test_messages_follow_the_callers_language(applicant):
    english = api_client(applicant, language="en")
    chinese = api_client(applicant)

    en = assert_error(english.get("/api/v1/cases/GF0000/"), 404, "not_found")
    zh = assert_error(chinese.get("/api/v1/cases/GF0000/"), 404, "not_found")
    form_en = assert_error(
        english.post(
            "/api/v1/cases/", {"service": "business_setup", "data": {"legal_rep_phone": "1"}}, format="json"
        ),
        400,
        "form_invalid",
    )

    assert en["message"] == "case not found"
    assert zh["message"] != en["message"]
    assert all(ord(c) < 128 for c in "".join(form_en["fields"]["legal_rep_phone"]))


def test_a_method_the_endpoint_lacks_is_405(applicant):
    response = api_client(applicant).delete("/api/v1/cases/")

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert "POST" in response["Allow"]


def test_throttling_is_a_429_with_retry_after(settings, applicant):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute", "anon": "3/minute"},
    }
    client = api_client(applicant)

    # fixed windows: the clock stopped 15 s into a minute
    with time_machine.travel(datetime(2026, 12, 31, 15, 59, 15, tzinfo=UTC), tick=False):
        statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
        limited = client.get("/api/v1/me/")
    with time_machine.travel(datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC), tick=False):
        next_minute = client.get("/api/v1/me/")

    assert statuses == [200, 200, 200, 429]
    assert_error(limited, 429, "throttled")
    assert limited["Retry-After"] == "45"
    assert next_minute.status_code == 200


def test_throttles_count_users_and_anonymous_addresses_apart(settings, applicant, market_reviewer):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/minute", "anon": "1/minute"},
    }
    with time_machine.travel(datetime(2026, 12, 31, 15, 59, 15, tzinfo=UTC), tick=False):
        mine = [api_client(applicant).get("/api/v1/me/").status_code for _ in range(3)]
        theirs = api_client(market_reviewer).get("/api/v1/me/").status_code
        anonymous = [
            APIClient(REMOTE_ADDR=address).get("/api/v1/services/").status_code
            for address in ("192.0.2.1", "192.0.2.1", "192.0.2.2")
        ]

    assert mine == [200, 200, 429]
    assert theirs == 200
    assert anonymous == [200, 429, 200]


@api_view(["GET"])
def _explode(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/boom/", _explode)]


def test_an_unexpected_error_is_a_500_in_the_same_shape(applicant, settings, caplog):
    settings.ROOT_URLCONF = __name__

    response = api_client(applicant).get("/api/boom/")

    error = assert_error(response, 500, "server_error")
    assert "boom" not in error["message"]
    assert any("unexpected error" in record.message for record in caplog.records)


def test_the_schema_documents_every_error_status():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path_, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            documented = set(operation["responses"])
            assert {"400", "401", "403", "404", "406", "429", "500"} <= documented, (path_, method)
            if method != "get":
                assert {"409", "413", "415"} <= documented, (path_, method)
    described = " ".join(r["description"] for r in schema["components"]["responses"].values())
    for codes in ERROR_CODES.values():
        for code in codes:
            assert f"`{code}`" in described
