"""Redis stopped while applicants use the API and the web: Redis is the
broker *and* the cache (production's default, REDIS_URL for both). Every
request succeeds while it is down (throttles and rate limits let requests
through, the webhooks' kinds come from the database), and once it is back
every effect (notifications, webhook deliveries) happens once.

The test runs a redis-server of its own, so the machine's Redis is untouched."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from govflow import cache as safe
from govflow.accounts.models import Department
from govflow.cases.models import Case, CaseStatus, Task
from govflow.cases.reconcile import reconcile
from govflow.incidents.models import Incident
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_resend_stale
from govflow.webhooks.models import Delivery, DeliveryStatus
from govflow.webhooks.services import endpoint_register
from tests.api.conftest import api_client
from tests.webhooks.conftest import Receiver

from .conftest import GOOD_REVIEW_DATA, publishing_to, supervised, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]

KINDS = ["case.submitted", "task.created"]


def unchecked(scope: str) -> float:
    return REGISTRY.get_sample_value("govflow_rate_limit_unchecked_total", {"scope": scope}) or 0.0


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def cache_on(own_redis, settings):
    """This process's cache on the test's Redis, as production has it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": "govflow",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    settings.GOVFLOW_RATE_LIMITS_ENABLED = True
    safe.breaker_reset()
    yield settings
    safe.breaker_reset()


def test_api_and_web_submissions_survive_redis_as_cache_and_broker_and_each_effect_happens_once(
    review_template, applicant, process_admin, own_redis, cache_on, workers, receiver
):
    endpoint_register(
        actor=process_admin, name="exchange", url=receiver.url, kinds=KINDS, system="data exchange"
    )
    supervise = supervised(workers, own_redis.url)

    api = api_client(applicant)
    web = Client()
    web.force_login(applicant)
    references: dict[str, list[str]] = {}
    answers: list[tuple[str, str, int]] = []

    def apply(phase: str) -> None:
        """One application over the API and one on the web; every answer kept."""
        me = api.get("/api/v1/me/")
        created = api.post(
            "/api/v1/cases/", {"service": "test_review", "data": GOOD_REVIEW_DATA}, format="json"
        )
        reference = created.json()["reference"] if created.status_code == 201 else ""
        sent = api.post(f"/api/v1/cases/{reference}/submit/")
        started = web.post("/services/test_review/apply/")
        draft = Case.objects.filter(applicant=applicant).latest("id")
        page = web.post(
            f"/cases/{draft.reference}/edit/",
            {
                **{k: str(v) for k, v in GOOD_REVIEW_DATA.items()},
                "action": "submit",
                "row_version": draft.row_version,
            },
        )
        answers.extend(
            (phase, what, response.status_code)
            for what, response in (
                ("GET /api/v1/me/", me),
                ("POST /api/v1/cases/", created),
                ("POST /api/v1/cases/{ref}/submit/", sent),
                ("POST /services/test_review/apply/", started),
                ("POST /cases/{ref}/edit/ (submit)", page),
            )
        )
        references[phase] = [reference, draft.reference]

    with publishing_to(own_redis.url):
        # Given Redis up
        apply("up")
        # When Redis dies (the cache's counters and the queued messages with it)
        own_redis.kill()
        before = unchecked("api_user"), unchecked("submit")
        apply("down")
        during = unchecked("api_user") - before[0], unchecked("submit") - before[1]
        # ...and comes back, empty
        own_redis.start()
        supervise()
        wait_until(lambda: not safe.cache_is_down(), timeout=10, what="the cache breaker to close")
        apply("back")

        # Then every request was answered as if nothing had happened
        expected = {
            "GET /api/v1/me/": 200,
            "POST /api/v1/cases/": 201,
            "POST /api/v1/cases/{ref}/submit/": 200,
        }
        for phase, what, status in answers:
            assert status == expected.get(what, 302), (phase, what, status)
        # ...those while it was down let through unchecked, and counted
        assert during[0] >= 3
        assert during[1] == 1
        # ...the throttles count in Redis again once it is back
        assert redis.Redis.from_url(own_redis.url).keys("govflow:*ratelimit:api_user:*")

        # ...and the sweeper re-sends what the broker lost until everything is delivered
        def delivered() -> bool:
            supervise()
            outbox_resend_stale(older_than=timedelta(seconds=5))
            return not OutboxMessage.objects.filter(done_at__isnull=True).exists()

        # (a row a worker was attempting when it died waits out its 2-minute lease)
        wait_until(delivered, timeout=150, what="every outbox row to be delivered", interval=1.0)

    cases = list(Case.objects.filter(reference__in=[r for refs in references.values() for r in refs]))
    assert len(cases) == 6
    assert {case.status for case in cases} == {CaseStatus.IN_REVIEW}
    # Each case got one intake task, whose department was told once per member...
    intake = Counter(Task.objects.filter(node_id="intake").values_list("case_id", flat=True))
    assert sorted(intake) == sorted(case.pk for case in cases)
    assert set(intake.values()) == {1}
    members = Department.objects.get(code="market_regulation").memberships.count()
    per_key = Counter(Notification.objects.values_list("outbox_key", flat=True))
    assert len(per_key) == 6
    assert set(per_key.values()) == {members}
    # ...and the exchange heard of each submission and each new task exactly once,
    # including the cases submitted while the cache could not say who subscribes.
    deliveries = Delivery.objects.all()
    assert Counter(deliveries.values_list("kind", flat=True)) == {"case.submitted": 6, "task.created": 6}
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    received = Counter(event["id"] for event in receiver.events())
    assert set(received) == {str(event_id) for event_id in deliveries.values_list("event_id", flat=True)}
    assert set(received.values()) == {1}
    assert not Incident.objects.exists()
    assert reconcile(now=timezone.now() + timedelta(minutes=5)) == []
