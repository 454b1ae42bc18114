"""Incidents: a service task that keeps failing leaves its case stuck with
an incident that reconcile lists and an admin retries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases.models import Task, TaskKind, TaskStatus
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.errors import Conflict, Forbidden, NotFound
from govflow.incidents.models import Incident, IncidentStatus
from govflow.incidents.services import incident_retry, incidents_unresolved
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import RetryLater, outbox_handle, outbox_unpublished
from govflow.processes.handlers import HANDLERS, HandlerFailed
from govflow.processes.services import process_publish
from tests.faults import handlers as fault_handlers  # noqa: F401  (registers fault_probe for the template)

pytestmark = pytest.mark.django_db
FAULTS_YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "faults.yaml"


class Registry:
    """Stands in for fault_probe: down until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def __call__(self, ctx):
        self.calls += 1
        if not self.up:
            raise HandlerFailed("the company registry is down")
        return {"ok": True}


@pytest.fixture
def registry(monkeypatch):
    registry = Registry()
    monkeypatch.setitem(HANDLERS, "fault_probe", registry)
    return registry


@pytest.fixture
def stuck_case(base_data, applicant, registry, now, settings):
    """A case whose automated step failed on every allowed attempt."""
    settings.GOVFLOW_OUTBOX_MAX_ATTEMPTS = 3
    process_publish(source=FAULTS_YAML.read_text(encoding="utf-8"))
    case = case_create(
        applicant=applicant,
        template_code="test_faults",
        data={"company_name": "北京卡住科技有限公司", "mode": "fail"},
        now=now,
    )
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    message = OutboxMessage.objects.get(topic="service_task", payload__case=case.pk)
    for _ in range(2):
        with pytest.raises(RetryLater):
            outbox_handle(message.pk)
    assert outbox_handle(message.pk) is False
    return case


def test_a_failing_service_task_opens_an_incident_and_the_case_stays_visibly_stuck(stuck_case, now):
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.OPEN
    assert (incident.kind, incident.case, incident.node_id, incident.handler) == (
        "service_task",
        stuck_case,
        "probe",
        "fault_probe",
    )
    assert incident.attempts == 3
    assert "registry is down" in incident.error
    assert Task.objects.get(case=stuck_case, kind=TaskKind.SERVICE).status == TaskStatus.OPEN
    assert list(incidents_unresolved(case=stuck_case)) == [incident]
    problems = reconcile(now=now + timedelta(hours=1))
    assert problems == [
        f"case {stuck_case.reference}: stuck on incident #{incident.pk} (open): service task "
        f"{incident.task_engine_id} (probe, handler fault_probe) failed after 3 attempt(s): "
        "HandlerFailed: the company registry is down"
    ]
    assert AuditEvent.objects.filter(action="INCIDENT_OPENED", case=stuck_case).count() == 1


def test_an_admin_retry_reruns_it_and_success_resolves_the_incident(
    stuck_case, registry, process_admin, now, django_capture_on_commit_callbacks
):
    incident = Incident.objects.get()
    registry.up = True
    with django_capture_on_commit_callbacks() as callbacks:
        incident = incident_retry(incident_id=incident.pk, actor=process_admin)
    # Not run here, nor sent from here: pending again, the relay sends it to a worker
    assert callbacks == []
    assert incident.status == IncidentStatus.RETRYING
    assert incident.retry_count == 1
    message = incident.message
    message.refresh_from_db()
    assert (message.attempts, message.failed_at, message.done_at) == (0, None, None)
    assert outbox_unpublished().filter(pk=message.pk).exists()
    with pytest.raises(Conflict):
        incident_retry(incident_id=incident.pk, actor=process_admin)

    assert outbox_handle(message.pk) is True  # what the worker does
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at is not None
    assert Task.objects.get(case=stuck_case, node_id="review").status == TaskStatus.OPEN
    assert reconcile(now=now + timedelta(hours=1)) == []
    with pytest.raises(Conflict):
        incident_retry(incident_id=incident.pk, actor=process_admin)
    actions = list(AuditEvent.objects.filter(object_type="incident").values_list("action", "actor_id"))
    assert actions == [
        ("INCIDENT_OPENED", None),
        ("INCIDENT_RETRIED", process_admin.pk),
        ("INCIDENT_RESOLVED", None),
    ]


def test_a_retry_that_fails_again_reopens_the_same_incident(stuck_case, process_admin):
    incident = Incident.objects.get()
    incident_retry(incident_id=incident.pk, actor=process_admin)
    message = incident.message
    for _ in range(2):
        with pytest.raises(RetryLater):
            outbox_handle(message.pk)
    assert outbox_handle(message.pk) is False
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN
    assert incident.attempts == 6
    assert Incident.objects.count() == 1


def test_only_admins_retry_incidents(stuck_case, applicant, market_reviewer, process_admin):
    incident = Incident.objects.get()
    for actor in (applicant, market_reviewer):
        with pytest.raises(Forbidden):
            incident_retry(incident_id=incident.pk, actor=actor)
    assert Incident.objects.get().status == IncidentStatus.OPEN
    with pytest.raises(NotFound):
        incident_retry(incident_id=incident.pk + 1000, actor=process_admin)


def test_the_admin_lists_incidents_and_retries_them_through_the_service(stuck_case, client, process_admin):
    incident = Incident.objects.get()
    client.force_login(process_admin)
    page = client.get("/admin/incidents/incident/")
    assert page.status_code == 200
    assert stuck_case.reference in page.content.decode()
    detail = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert detail.status_code == 200
    response = client.post(
        "/admin/incidents/incident/", {"action": "retry_selected", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RETRYING
    assert incident.retried_by == process_admin
    assert timezone.now() - incident.retried_at < timedelta(minutes=1)
