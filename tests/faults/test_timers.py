"""Due timers under faults: two sweepers at once, and workers down across
the deadlines (RELIABILITY.md, "Faults")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.limits import CASE_TIMER_KINDS
from govflow.cases.models import Case
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_drain
from govflow.timers.models import Timer

from .conftest import GOOD_REVIEW_DATA, ROOT, publishing_to, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]


def submit_reviews(applicant, count: int, start, spacing: timedelta) -> list[Case]:
    """`count` cases of the review template, accepted `spacing` apart; each
    has an intake task with a reminder and a breach timer."""
    cases = []
    for n in range(count):
        at = start + spacing * n
        case = case_create(applicant=applicant, template_code="test_review", data=GOOD_REVIEW_DATA, now=at)
        cases.append(case_submit(case_id=case.pk, actor=applicant, now=at))
    return cases


def fired_per_timer() -> Counter:
    return Counter(
        (event["case"], event["object_id"])
        for event in AuditEvent.objects.filter(action="TIMER_FIRED").values("case", "object_id")
    )


def test_two_sweepers_on_the_same_500_due_timers_fire_each_once(
    review_template, applicant, now, database_url, tmp_path
):
    # Given 500 due timers (250 cases, a reminder and a breach each; the
    # cases' own 20-working-day promise is not due yet)
    submit_reviews(applicant, 250, now, timedelta(seconds=30))
    later = now + timedelta(days=10)
    assert Timer.objects.filter(status=Timer.PENDING, due_at__lte=later).count() == 500
    assert Timer.objects.filter(status=Timer.PENDING, kind__in=CASE_TIMER_KINDS).count() == 500

    # When two sweeper processes start on them at the same moment
    go = tmp_path / "go"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "govflow.settings.test",
    }
    sweepers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults.sweeper",
                "--now",
                later.isoformat(),
                "--go",
                str(go),
                "--batch",
                "20",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for sweeper in sweepers:  # both have Django set up before they are let go
            assert json.loads(sweeper.stdout.readline()) == {"ready": True}
        go.touch()
        results = []
        for sweeper in sweepers:
            out, err = sweeper.communicate(timeout=60)
            assert sweeper.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for sweeper in sweepers:
            if sweeper.poll() is None:
                sweeper.kill()
                sweeper.wait()

    # Then every timer fired exactly once, between them
    assert sum(r["fired"] for r in results) == 500
    assert all(r["fired"] > 0 for r in results), results  # both really swept
    assert not Timer.objects.filter(due_at__lte=later).exclude(status=Timer.FIRED).exists()
    assert not Timer.objects.filter(status=Timer.FIRED, kind__in=CASE_TIMER_KINDS).exists()
    fired = fired_per_timer()
    assert len(fired) == 500
    assert set(fired.values()) == {1}
    escalations = AuditEvent.objects.filter(action="TASK_ESCALATED").values_list("case_id", flat=True)
    assert len(escalations) == 250
    assert len(set(escalations)) == 250
    # The reminders and escalations they queued are delivered once each
    outbox_drain()
    assert OutboxMessage.objects.filter(topic="notify", done_at__isnull=True).count() == 0
    assert reconcile(now=later) == []


@pytest.mark.redis
def test_workers_down_across_the_deadlines_every_overdue_timer_fires_once_in_due_order(
    review_template, applicant, now, shared_redis_url, workers
):
    # Given cases accepted over five days while the workers run
    worker = workers(shared_redis_url)
    with publishing_to(shared_redis_url):
        cases = submit_reviews(applicant, 40, now, timedelta(hours=3))
        wait_until(
            lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(),
            timeout=30,
            what="the new-task notifications",
        )
        # When the workers are down while every deadline passes
        worker.kill()
        later = now + timedelta(days=14)
        assert Timer.objects.filter(status=Timer.PENDING, due_at__lte=later).count() == 80
        # and come back: the beat job's sweep runs on a fresh worker
        from govflow.timers.tasks import sweep

        workers(shared_redis_url)
        sweep.apply_async(kwargs={"now": later.isoformat()})
        wait_until(
            lambda: not Timer.objects.filter(status=Timer.PENDING, due_at__lte=later).exists(),
            timeout=30,
            what="every overdue timer to fire",
        )
        wait_until(
            lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(),
            timeout=30,
            what="the reminders and escalations to be delivered",
        )

    # Then each fired once...
    fired = fired_per_timer()
    assert len(fired) == 80
    assert set(fired.values()) == {1}
    # ...in due order (the audit chain's order is the order they fired in)
    fired_events = AuditEvent.objects.filter(action="TIMER_FIRED").order_by("id")
    events = list(fired_events.values_list("data", flat=True))
    due = [event["due_at"] for event in events]
    assert due == sorted(due)
    kinds = [event["kind"] for event in events]
    assert kinds.index("sla_breach") < len(kinds) - 1 - kinds[::-1].index("sla_reminder")  # interleaved
    # ...and the people concerned heard of each once
    reminders = Notification.objects.filter(kind="reminder").values_list("outbox_key", flat=True)
    escalations = Notification.objects.filter(kind="escalation").values_list("outbox_key", flat=True)
    assert len(set(reminders)) == 40
    assert len(set(escalations)) == 40
    assert Case.objects.filter(pk__in=[c.pk for c in cases], status="in_review").count() == 40
    assert reconcile(now=later) == []
