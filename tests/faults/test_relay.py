"""The outbox relay and the workers SIGKILLed while cases are submitted:
every acknowledged submission's effects happen, each once (docs/deploy.md,
"Roles"). Real relay and worker processes on a Redis database of the
test's own; the request publishes nothing."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskKind, TaskStatus
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.incidents.models import Incident
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import ATTEMPT_LEASE, outbox_resend_stale, outbox_unpublished

from . import handlers
from .conftest import publishing_to, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]

BURST = 15


def test_relay_and_workers_killed_mid_stream_lose_no_acknowledged_effect_and_duplicate_none(
    faults_template, applicant, now, shared_redis_url, workers, relays, settings
):
    assert settings.GOVFLOW_OUTBOX_PUBLISH == "relay"
    submitted: list[Case] = []

    def submit(count: int, *, then=None, after: int = 0) -> None:
        for n in range(count):
            if then is not None and n == after:
                then()
            case = case_create(
                applicant=applicant,
                template_code="test_faults",
                data={"company_name": f"北京中继{len(submitted):04d}科技有限公司", "mode": "quick"},
                now=now,
            )
            submitted.append(case_submit(case_id=case.pk, actor=applicant, now=now))

    first_worker = workers(shared_redis_url)
    (first_relay,) = relays.started
    assert "LISTEN govflow_outbox" in first_relay.log()

    # Given cases submitted while the relay publishes; when the relay is
    # SIGKILLed among them (perhaps mid-batch, before its COMMIT)
    submit(BURST, then=first_relay.kill, after=5)
    # Then the rest wait in the table: no request published anything
    time.sleep(1.5)
    waiting = outbox_unpublished().count()
    assert waiting >= BURST - 5

    # When a new relay starts, and the worker is SIGKILLed among the next cases
    relays(shared_redis_url)
    wait_until(lambda: not outbox_unpublished().exists(), timeout=30, what="the new relay to publish")
    submit(BURST, then=first_worker.kill, after=3)
    workers(shared_redis_url)

    # Then everything is delivered: what the killed worker held waits out its
    # lease and the broker's visibility timeout, which the sweeper (beat) cuts
    # short; the clock is moved past the lease rather than waited for.
    def delivered() -> bool:
        with publishing_to(shared_redis_url):
            outbox_resend_stale(older_than=timedelta(seconds=5), now=timezone.now() + ATTEMPT_LEASE)
        return not OutboxMessage.objects.filter(done_at__isnull=True).exists()

    wait_until(delivered, timeout=60, what="every outbox row to be delivered", interval=2.0)

    # And every acknowledged submission's effects happened once
    assert len(submitted) == 2 * BURST
    cases = Case.objects.filter(pk__in=[c.pk for c in submitted])
    assert {case.status for case in cases} == {"in_review"}
    assert len(handlers.markers()) == 2 * BURST
    completed = Counter(
        AuditEvent.objects.filter(action="SERVICE_TASK_COMPLETED").values_list("case_id", flat=True)
    )
    assert sorted(completed) == sorted(c.pk for c in submitted)
    assert set(completed.values()) == {1}
    assert Task.objects.filter(kind=TaskKind.SERVICE, status=TaskStatus.COMPLETED).count() == 2 * BURST
    reviews = Counter(Task.objects.filter(node_id="review").values_list("case_id", flat=True))
    assert len(reviews) == 2 * BURST
    assert set(reviews.values()) == {1}
    members = Task.objects.filter(node_id="review").first().department.memberships.count()
    per_key = Counter(Notification.objects.values_list("outbox_key", flat=True))
    assert len(per_key) == 2 * BURST
    assert set(per_key.values()) == {members}
    assert not Incident.objects.exists()
    assert reconcile(now=now + timedelta(hours=1)) == []
