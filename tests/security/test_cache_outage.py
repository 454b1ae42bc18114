"""A cache that is down must not stop the service (govflow.cache): rate
limits and API throttles let requests through, with a warning and a
Prometheus counter; webhook kinds and the calendar banner come from the
database. The cache here is Redis on a port where nothing listens, as when
the production Redis (the default cache) is stopped.

tests/faults/test_cache_outage.py runs the same requests against a real
Redis that is stopped and started again, with workers delivering the effects."""

from __future__ import annotations

import logging
import socket

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from govflow import cache as safe
from govflow.cases.models import Case, CaseStatus
from govflow.cases.services import case_create
from govflow.webhooks.models import Delivery
from govflow.webhooks.services import endpoint_register
from tests.api.conftest import api_client
from tests.web.conftest import example, pdf, png

pytestmark = pytest.mark.django_db


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "govflow.cache.RedisCache",  # production's
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


@pytest.fixture(autouse=True)
def _closed_breaker():
    safe.breaker_reset()
    yield
    safe.breaker_reset()


@pytest.fixture
def cache_down(settings):
    """Redis as the cache, and nobody listening; rate limits on."""
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{_unused_port()}/0")
    settings.GOVFLOW_RATE_LIMITS_ENABLED = True
    return settings


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def post_data(data: dict) -> dict:
    """Form fields as the browser posts them (tables as name-row-column)."""
    posted = {}
    for key, value in data.items():
        if isinstance(value, list):
            for index, row in enumerate(value):
                for column, cell in row.items():
                    posted[f"{key}-{index}-{column}"] = str(cell)
        elif isinstance(value, bool):
            if value:
                posted[key] = "true"
        else:
            posted[key] = str(value)
    return posted


# -- the wrapper -------------------------------------------------------------------------


def test_a_cache_error_gives_the_fallback_counts_it_and_opens_the_breaker(caplog):
    calls = []

    def failing():
        calls.append(1)
        raise ConnectionError("refused")

    before = sample("govflow_cache_unavailable_total", use="test.unit")
    with caplog.at_level(logging.WARNING, logger="govflow.cache"):
        first = safe.cache_call("test.unit", "fallback", failing)
        second = safe.cache_call("test.unit", "fallback", failing)

    assert (first, second) == ("fallback", "fallback")
    assert len(calls) == 1  # the breaker skipped the second call
    assert safe.cache_is_down()
    assert sample("govflow_cache_unavailable_total", use="test.unit") == before + 2
    warnings = [r for r in caplog.records if r.name == "govflow.cache"]
    assert len(warnings) == 1  # logged once a minute, counted every time
    assert "test.unit" in warnings[0].getMessage()
    safe.breaker_reset()
    assert safe.cache_call("test.unit", "fallback", lambda: "value") == "value"


def test_errors_that_are_not_outages_are_not_hidden():
    def broken():
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        safe.cache_call("test.unit", None, broken)
    assert not safe.cache_is_down()


def test_redis_errors_count_as_outages():
    import redis

    def loading():
        raise redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory")

    assert safe.cache_call("test.unit", 0, loading) == 0


def test_the_helpers_fall_back_on_an_unreachable_redis(cache_down):
    assert safe.cache_get("k", "default", use="test.unit") == "default"
    assert safe.cache_set("k", 1, 10, use="test.unit") is False
    assert safe.cache_delete("k", use="test.unit") is False


def test_a_changed_cache_setting_closes_the_breaker(settings):
    safe.cache_call("test.unit", None, lambda: (_ for _ in ()).throw(ConnectionError()))
    assert safe.cache_is_down()

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert not safe.cache_is_down()


# -- requests ----------------------------------------------------------------------------


def test_the_api_answers_with_its_throttle_cache_down(cache_down, applicant, caplog):
    client = api_client(applicant)
    unchecked = sample("govflow_rate_limit_unchecked_total", scope="api_user")

    with caplog.at_level(logging.WARNING, logger="govflow.cache"):
        me = client.get("/api/v1/me/")
        created = client.post(
            "/api/v1/cases/",
            {"service": "business_setup", "data": {"company_name": "北京缓存故障科技有限公司"}},
            format="json",
        )

    assert me.status_code == 200, me.content
    assert me.json()["username"] == "applicant"
    assert created.status_code == 201, created.content
    assert Case.objects.filter(reference=created.json()["reference"]).exists()
    assert sample("govflow_rate_limit_unchecked_total", scope="api_user") >= unchecked + 2
    assert any("throttle.user" in record.getMessage() for record in caplog.records)


def test_the_web_submission_stages_its_webhooks_from_the_database(cache_down, applicant, process_admin):
    endpoint_register(
        actor=process_admin,
        name="exchange",
        url="http://127.0.0.1:9/hooks",
        kinds=["case.submitted"],
        system="data exchange",
    )
    draft = case_create(applicant=applicant, template_code="business_setup")
    client = Client()
    client.force_login(applicant)
    unchecked = sample("govflow_rate_limit_unchecked_total", scope="submit")

    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {
            **post_data(example("business_setup")),
            "attach-articles_of_association": pdf("章程.pdf"),
            "attach-address_proof": pdf("租赁.pdf"),
            "attach-id_copies": png("身份证.png"),
            "action": "submit",
            "row_version": draft.row_version,
        },
    )

    assert response.status_code == 302, response.content[:500]
    draft.refresh_from_db()
    assert draft.status == CaseStatus.SUBMITTED  # received; 受理 follows
    # The active kinds came from the database: the submission's event was staged.
    assert Delivery.objects.filter(case_id=draft.pk, kind="case.submitted").count() == 1
    assert sample("govflow_rate_limit_unchecked_total", scope="submit") == unchecked + 1


def test_pages_that_use_the_cache_render(cache_down, process_admin, base_data):
    admin = Client()
    admin.force_login(process_admin)

    console = admin.get("/console/")
    login = Client().post("/accounts/login/", {"username": "applicant", "password": "wrong"})

    assert console.status_code == 200  # the calendar banner, computed without the cache
    assert login.status_code == 200  # the login rate limit let it through; the form says why
    assert sample("govflow_cache_unavailable_total", use="web.calendar_warnings") > 0
    assert sample("govflow_rate_limit_unchecked_total", scope="login") > 0


def test_the_counters_are_on_the_metrics_page(cache_down, applicant):
    api_client(applicant).get("/api/v1/me/")

    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()

    assert 'govflow_cache_unavailable_total{use="throttle.user"}' in text
    assert 'govflow_rate_limit_unchecked_total{scope="api_user"}' in text


def test_with_the_cache_back_limits_count_again(settings, applicant):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/minute", "anon": "2/minute"},
    }
    client = api_client(applicant)
    safe.cache_call("test.unit", None, lambda: (_ for _ in ()).throw(ConnectionError()))
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]  # breaker open

    safe.breaker_reset()  # the cache answers again

    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
