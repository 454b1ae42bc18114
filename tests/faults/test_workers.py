"""Workers killed mid-task and poison tasks, with real `celery worker`
processes on Redis (RELIABILITY.md, "Faults")."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskKind, TaskStatus
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.incidents.models import Incident, IncidentStatus
from govflow.incidents.services import incident_retry
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import ATTEMPT_LEASE, outbox_resend_stale

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


def submit(applicant, mode: str, now, name: str = "北京故障测试科技有限公司"):
    case = case_create(
        applicant=applicant, template_code="test_faults", data={"company_name": name, "mode": mode}, now=now
    )
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def review_task(case):
    return Task.objects.filter(case=case, node_id="review").first()


def all_delivered() -> bool:
    return not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def assert_moved_on_once(case) -> None:
    """The automated step completed once and the review it leads to exists once."""
    case = Case.objects.get(pk=case.pk)
    assert case.status == "in_review"
    probe = Task.objects.get(case=case, kind=TaskKind.SERVICE)
    assert probe.status == TaskStatus.COMPLETED
    assert AuditEvent.objects.filter(case=case, action="SERVICE_TASK_COMPLETED").count() == 1
    reviews = Task.objects.filter(case=case, node_id="review")
    assert [t.status for t in reviews] == [TaskStatus.OPEN]
    members = reviews[0].department.memberships.count()
    assert Notification.objects.filter(case=case, task=reviews[0], kind="task_created").count() == members


def test_a_worker_child_killed_mid_task_is_redelivered_and_its_effect_happens_once(
    faults_template, applicant, now, shared_redis_url, workers
):
    # Given a worker and a case whose automated step is slow on its first run
    workers(shared_redis_url)
    with publishing_to(shared_redis_url):
        case = submit(applicant, "slow_first", now)
        # When the worker child running it is SIGKILLed while it sleeps (its marker written)
        wait_until(handlers.markers, timeout=30, what="the handler's first run to write its marker")
        (first,) = handlers.runs(case.pk)
        os.kill(first[1], signal.SIGKILL)

        # Then the broker hands the task out again (acks_late + reject_on_worker_lost)
        wait_until(lambda: review_task(case) is not None, timeout=30, what="the case to move on")
        wait_until(all_delivered, timeout=30, what="every outbox row to be delivered")

    runs = handlers.runs(case.pk)
    assert len(runs) == 2
    assert runs[0][1] != runs[1][1]  # ran again, in another process
    assert handlers.markers() == [handlers.task_key(case.pk)]  # its effect happened once
    assert_moved_on_once(case)
    assert OutboxMessage.objects.get(topic="service_task", payload__case=case.pk).attempts == 2
    assert not Incident.objects.exists()
    assert reconcile(now=now + timedelta(hours=1)) == []


def test_a_whole_worker_killed_mid_task_is_recovered_by_the_outbox_sweeper_on_a_new_worker(
    faults_template, applicant, now, shared_redis_url, workers
):
    # Given a worker running a slow automated step
    first_worker = workers(shared_redis_url)
    with publishing_to(shared_redis_url):
        case = submit(applicant, "slow_first", now)
        wait_until(handlers.markers, timeout=30, what="the handler's first run to write its marker")
        # When the whole worker (main process and children) is SIGKILLed: its
        # unacknowledged message stays with Redis until the visibility timeout
        first_worker.kill()
        workers(shared_redis_url)
        assert review_task(case) is None
        # Then the outbox sweeper, once the attempt's lease has run out, sends it to the new worker
        later = timezone.now() + ATTEMPT_LEASE + timedelta(seconds=1)
        assert outbox_resend_stale(older_than=timedelta(0), now=later) == 1
        wait_until(lambda: review_task(case) is not None, timeout=30, what="the case to move on")
        wait_until(all_delivered, timeout=30, what="every outbox row to be delivered")

    assert len(handlers.runs(case.pk)) == 2
    assert handlers.markers() == [handlers.task_key(case.pk)]
    assert_moved_on_once(case)
    assert reconcile(now=now + timedelta(hours=1)) == []


@pytest.mark.parametrize("mode", ["fail", "kill"])
def test_a_poison_task_stops_after_its_attempts_opens_an_incident_and_an_admin_retry_finishes_it(
    faults_template, applicant, process_admin, now, shared_redis_url, workers, settings, mode
):
    # Given an automated step that fails (or kills its worker child) every time
    workers(shared_redis_url)
    attempts = settings.GOVFLOW_OUTBOX_MAX_ATTEMPTS
    with publishing_to(shared_redis_url):
        case = submit(applicant, mode, now)

        # Then it runs exactly the allowed number of times and an incident opens
        incident = wait_until(
            lambda: Incident.objects.filter(case=case).first(), timeout=40, what="an incident"
        )
        assert incident.status == IncidentStatus.OPEN
        assert incident.kind == "service_task"
        assert incident.node_id == "probe"
        assert incident.handler == "fault_probe"
        wait_until(
            lambda: len(handlers.runs(case.pk)) >= attempts, timeout=10, what="the runs to be recorded"
        )
        # The sweeper leaves a given-up row alone
        assert outbox_resend_stale(older_than=timedelta(0), now=timezone.now() + timedelta(hours=1)) == 0
        assert len(handlers.runs(case.pk)) == attempts
        message = OutboxMessage.objects.get(topic="service_task", payload__case=case.pk)
        assert message.failed_at is not None
        assert message.done_at is None
        if mode == "fail":
            assert "registry is unreachable" in incident.error
        else:
            assert "worker was lost" in incident.error

        # And the case stays visibly stuck: its step is open and reconcile names the incident
        assert Task.objects.get(case=case, kind=TaskKind.SERVICE).status == TaskStatus.OPEN
        problems = reconcile(now=now + timedelta(hours=1))
        assert len(problems) == 1
        assert f"incident #{incident.pk}" in problems[0]
        assert case.reference in problems[0]

        # When the cause is fixed and an admin retries it
        handlers.fix()
        incident_retry(incident_id=incident.pk, actor=process_admin)

        # Then it runs once more, the case moves on and the incident is resolved
        wait_until(lambda: review_task(case) is not None, timeout=30, what="the case to move on")
        wait_until(all_delivered, timeout=30, what="every outbox row to be delivered")

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.retried_by == process_admin
    assert len(handlers.runs(case.pk)) == attempts + 1
    assert_moved_on_once(case)
    actions = list(AuditEvent.objects.filter(object_type="incident").values_list("action", flat=True))
    assert actions == ["INCIDENT_OPENED", "INCIDENT_RETRIED", "INCIDENT_RESOLVED"]
    assert reconcile(now=now + timedelta(hours=1)) == []
