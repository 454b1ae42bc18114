"""Redis stopped while cases are submitted: the outbox keeps every effect
and the sweeper delivers each once when Redis is back (RELIABILITY.md).
The test runs a redis-server of its own, so the machine's Redis is untouched."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskKind, TaskStatus
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.incidents.models import Incident
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_resend_stale

from . import handlers
from .conftest import publishing_to, supervised, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]

CASES = 200


def test_redis_stopped_while_200_cases_are_submitted_loses_nothing_and_duplicates_nothing(
    faults_template, applicant, now, own_redis, workers
):
    supervise = supervised(workers, own_redis.url)
    submitted: list[Case] = []

    def submit(count: int) -> None:
        for _ in range(count):
            n = len(submitted)
            case = case_create(
                applicant=applicant,
                template_code="test_faults",
                data={"company_name": f"北京故障{n:04d}科技有限公司", "mode": "quick"},
                now=now,
            )
            submitted.append(case_submit(case_id=case.pk, actor=applicant, now=now))

    with publishing_to(own_redis.url):
        # Given 50 cases submitted while Redis is up (some still in flight when it dies)
        submit(50)
        # When Redis dies (what it held is lost) and 100 more cases are submitted
        own_redis.kill()
        started = time.monotonic()
        submit(100)
        down_seconds = time.monotonic() - started
        # Then every submission succeeded without waiting on the broker
        assert down_seconds < 30, f"100 submissions took {down_seconds:.1f} s with Redis down"
        assert OutboxMessage.objects.filter(done_at__isnull=True).count() >= 100
        # When Redis is back (empty) and 50 more are submitted
        own_redis.start()
        submit(50)

        # Then the sweeper re-sends what the broker lost, until everything is delivered
        # (rows sent less than 5 s ago are most likely still queued: re-sending
        # them each second would only flood the workers with duplicates)
        # (what the sweeper handed the broker is kept for the failure message:
        # rows re-sent but never taken point at the workers, none re-sent at
        # this process's publisher)
        resent: list[int] = []

        def delivered() -> bool:
            supervise()
            resent.append(outbox_resend_stale(older_than=timedelta(seconds=5)))
            return not OutboxMessage.objects.filter(done_at__isnull=True).exists()

        try:
            # (a row a worker was attempting when it died waits out its lease)
            wait_until(delivered, timeout=150, what="every outbox row to be delivered", interval=1.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {_outbox_state()}; rows re-sent per sweep: {resent}") from None

    assert len(submitted) == CASES
    assert all(case.status == "in_review" for case in submitted)
    # Each case's automated step ran to completion once, with one effect...
    assert len(handlers.markers()) == CASES
    completions = AuditEvent.objects.filter(action="SERVICE_TASK_COMPLETED")
    completed = Counter(completions.values_list("case_id", flat=True))
    assert sorted(completed) == sorted(c.pk for c in submitted)
    assert set(completed.values()) == {1}
    assert Task.objects.filter(kind=TaskKind.SERVICE, status=TaskStatus.COMPLETED).count() == CASES
    # ...and led to exactly one review, whose department was notified once per member
    reviews = Counter(Task.objects.filter(node_id="review").values_list("case_id", flat=True))
    assert len(reviews) == CASES
    assert set(reviews.values()) == {1}
    members = Task.objects.filter(node_id="review").first().department.memberships.count()
    per_key = Counter(Notification.objects.values_list("outbox_key", flat=True))
    assert len(per_key) == CASES
    assert set(per_key.values()) == {members}
    incidents = list(Incident.objects.values("message_id", "topic", "attempts", "error"))
    assert not incidents
    assert reconcile(now=now + timedelta(hours=1)) == []


def _outbox_state() -> str:
    pending = OutboxMessage.objects.filter(done_at__isnull=True).order_by("id")
    rows = list(pending.values("id", "topic", "attempts", "failed_at", "last_error")[:10])
    return f"{pending.count()} rows not done, the first: {rows}"
