"""Rate limits: parsing, counting that parallel requests cannot overrun
(memory and Redis caches), and the submit and upload views answering 429."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client

from govflow.security.ratelimit import Rate, parse_rate, rate_hit
from tests.web.conftest import PDF_BYTES, example


@pytest.fixture
def limits_on(settings):
    """Limits on, with the clock stopped 10 s into a minute: the counts are
    per fixed window, so requests straddling a minute's end on a slow
    machine would start a new count (a third upload let through)."""
    settings.GOVFLOW_RATE_LIMITS_ENABLED = True
    caches["default"].clear()
    with time_machine.travel(datetime(2026, 3, 3, 2, 0, 10, tzinfo=UTC), tick=False):
        yield settings
    caches["default"].clear()


def test_rates_parse():
    assert parse_rate("30/m") == Rate(30, 60)
    assert parse_rate("5/10m") == Rate(5, 600)
    assert parse_rate(" 1000 / d ") == Rate(1000, 86400)
    # the API's rates as DRF writes them
    assert parse_rate("600/minute") == Rate(600, 60)
    assert parse_rate("60/min") == Rate(60, 60)
    assert parse_rate("2/hour") == Rate(2, 3600)
    assert parse_rate("3/sec") == Rate(3, 1)
    assert parse_rate("1000/day") == Rate(1000, 86400)
    for wrong in ("thirty per minute", "5/month", "5/mx", "5/"):
        with pytest.raises(ValueError, match="COUNT/UNIT"):
            parse_rate(wrong)


def test_a_new_window_starts_a_new_count(limits_on):
    rate = Rate(2, 60)
    assert [rate_hit("t", "k", rate, now=120.0).allowed for _ in range(3)] == [True, True, False]
    assert rate_hit("t", "k", rate, now=180.0).allowed
    assert rate_hit("t", "other", rate, now=120.0).allowed


def _race(scope, rate, hits=40):
    barrier = threading.Barrier(hits)
    allowed = []
    lock = threading.Lock()

    def hit():
        barrier.wait()
        decision = rate_hit(scope, "racer", rate, now=1_000_000.0)
        with lock:
            allowed.append(decision.allowed)

    threads = [threading.Thread(target=hit) for _ in range(hits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return allowed.count(True)


def test_parallel_hits_cannot_overrun_the_limit(limits_on):
    assert _race("race-memory", Rate(7, 60)) == 7


@pytest.mark.redis
def test_parallel_hits_cannot_overrun_the_limit_on_redis(limits_on):
    limits_on.CACHES = {
        **limits_on.CACHES,
        "ratelimit": {
            "BACKEND": "govflow.cache.RedisCache",  # production's: one client shared by the threads
            "LOCATION": limits_on.TEST_REDIS_URL,
        },
    }
    limits_on.GOVFLOW_RATE_LIMIT_CACHE = "ratelimit"
    caches["ratelimit"].clear()
    try:
        assert _race("race-redis", Rate(7, 60)) == 7
        backend = caches["ratelimit"]._cache
        assert backend.get_client(write=True) is backend.get_client(write=True)
    finally:
        caches["ratelimit"].clear()


@pytest.mark.redis
def test_a_hit_on_redis_is_one_round_trip_and_its_counter_expires(limits_on, monkeypatch):
    import redis

    limits_on.CACHES = {
        **limits_on.CACHES,
        "ratelimit": {"BACKEND": "govflow.cache.RedisCache", "LOCATION": limits_on.TEST_REDIS_URL},
    }
    limits_on.GOVFLOW_RATE_LIMIT_CACHE = "ratelimit"
    cache = caches["ratelimit"]
    cache.clear()
    sent = []
    real_send = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        sent.append(command)
        return real_send(self, command, check_health)

    try:
        rate_hit("warm", "k", Rate(2, 60))  # the pool's first connection, the script loaded
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
        decisions = [rate_hit("trips", "k", Rate(2, 60), now=1_000_000.0) for _ in range(3)]
        monkeypatch.undo()

        assert [(d.allowed, d.count) for d in decisions] == [(True, 1), (True, 2), (False, 3)]
        assert len(sent) == 3
        client = cache._cache.get_client(write=True)
        (key,) = client.keys("*ratelimit:trips:k:*")
        assert 60 < client.ttl(key) <= 65
        assert cache.get(key.decode().split(":", 2)[2]) == 3
    finally:
        cache.clear()


@pytest.mark.django_db
def test_uploads_beyond_the_limit_get_429(limits_on, base_data, applicant, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from govflow.cases.services import case_create

    limits_on.MEDIA_ROOT = tmp_path / "media"
    limits_on.GOVFLOW_RATE_LIMITS = {**limits_on.GOVFLOW_RATE_LIMITS, "upload": "2/m"}
    case = case_create(applicant=applicant, template_code="business_setup", data=example("business_setup"))
    client = Client()
    client.force_login(applicant)
    statuses = []
    for n in range(3):
        upload = SimpleUploadedFile(f"{n}.pdf", PDF_BYTES, content_type="application/pdf")
        response = client.post(
            f"/cases/{case.reference}/edit/", {"action": "save", "attach-address_proof": upload}
        )
        statuses.append(response.status_code)
    assert 429 not in statuses[:2]
    assert statuses[2] == 429
    assert int(response["Retry-After"]) >= 1
    assert "操作过于频繁" in response.content.decode()
    # saving without a file is not an upload
    assert client.post(f"/cases/{case.reference}/edit/", {"action": "save"}).status_code != 429


@pytest.mark.django_db
def test_submits_beyond_the_limit_get_429(limits_on, base_data, applicant):
    from govflow.cases.services import case_create

    limits_on.GOVFLOW_RATE_LIMITS = {**limits_on.GOVFLOW_RATE_LIMITS, "submit": "1/m"}
    case = case_create(applicant=applicant, template_code="business_setup", data={})
    client = Client()
    client.force_login(applicant)
    first = client.post(f"/cases/{case.reference}/edit/", {"action": "submit"})
    second = client.post(f"/cases/{case.reference}/edit/", {"action": "submit"})
    assert first.status_code != 429
    assert second.status_code == 429


@pytest.mark.django_db
def test_login_attempts_per_address_are_limited(limits_on, base_data):
    limits_on.GOVFLOW_RATE_LIMITS = {**limits_on.GOVFLOW_RATE_LIMITS, "login": "2/m"}
    client = Client(REMOTE_ADDR="192.0.2.50")
    codes = [
        client.post("/accounts/login/", {"username": f"u{n}", "password": "x"}).status_code for n in range(3)
    ]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_public_certificate_checks_share_one_budget_per_address_on_the_web_and_the_api(limits_on):
    """Verification is public: the pages and the API draw on the same
    per-address allowance, so neither is a way around the other."""
    from django.test import Client

    limits_on.GOVFLOW_RATE_LIMITS = {**limits_on.GOVFLOW_RATE_LIMITS, "verify": "3/m"}
    client = Client()
    answers = [
        client.get("/verify/MR-2026-000001/").status_code,
        client.get("/api/v1/certificates/verify/MR-2026-000001/").status_code,
        client.get("/verify/MR-2026-000002/").status_code,
    ]
    assert 429 not in answers
    page = client.get("/verify/MR-2026-000003/")
    assert page.status_code == 429
    assert page["Retry-After"]
    api = client.get("/api/v1/certificates/verify/MR-2026-000003/")
    assert api.status_code == 429
    assert api.json()["error"]["code"]


def test_a_rate_that_does_not_parse_stops_start_up(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from govflow.security.ratelimit import rate_settings_check

    assert rate_settings_check() == []
    settings.GOVFLOW_RATE_LIMITS = {**settings.GOVFLOW_RATE_LIMITS, "upload": "60 per minute", "apply": ""}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "600/fortnight", "anon": "60/minute"},
    }

    errors = rate_settings_check()

    assert [e.id for e in errors] == ["govflow.E410", "govflow.E410"]
    assert "GOVFLOW_RATE_LIMITS['upload']" in errors[0].msg
    assert "'user'" in errors[1].msg
    assert "600/fortnight" in errors[1].msg
    with pytest.raises(SystemCheckError, match=r"govflow\.E410"):
        call_command("check")
