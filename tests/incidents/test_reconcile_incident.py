"""The daily consistency check as an incident: what reconcile finds becomes
one unresolved `reconcile` incident (no outbox row) that an administrator
sees in the admin, updated by each run that finds problems and resolved by
the first that finds none; it never reports itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from govflow.audit.models import AuditEvent
from govflow.cases.reconcile import reconcile
from govflow.errors import Conflict
from govflow.incidents.models import Incident, IncidentKind, IncidentStatus
from govflow.incidents.services import incident_reconcile_record, incident_retry, incidents_unresolved
from govflow.incidents.tasks import reconcile_daily
from govflow.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)


@pytest.fixture
def orphan(base_data):
    """An outbox row no consumer handles, ten minutes old: reconcile reports it."""
    return OutboxMessage.objects.create(
        key="reconcile-test:1", topic="no_such_topic", payload={}, created_at=NOW - timedelta(minutes=10)
    )


def reconcile_incidents():
    return Incident.objects.filter(kind=IncidentKind.RECONCILE)


def test_a_run_that_finds_problems_opens_an_incident_without_an_outbox_row(orphan):
    # Given a database with one inconsistency
    assert reconcile(now=NOW) == ["outbox reconcile-test:1: no consumer handles topic 'no_such_topic'"]
    # When the daily check runs
    assert reconcile_daily(now=NOW.isoformat()) == 1
    # Then one open reconcile incident holds what it found
    incident = reconcile_incidents().get()
    assert (incident.status, incident.message, incident.case, incident.attempts) == (
        IncidentStatus.OPEN,
        None,
        None,
        1,
    )
    assert incident.problems == "outbox reconcile-test:1: no consumer handles topic 'no_such_topic'"
    assert incident.error.startswith("1 problem(s); the first: outbox reconcile-test:1")
    assert incident.opened_at == NOW
    assert str(incident) == f"#{incident.pk} reconcile (open)"
    event = AuditEvent.objects.get(object_type="incident", action="INCIDENT_OPENED")
    assert event.data["kind"] == "reconcile"
    assert event.data["problems"] == 1


def test_the_incident_does_not_report_itself(orphan):
    reconcile_daily(now=NOW.isoformat())
    # The next run sees the same single problem, not the incident about it
    assert reconcile(now=NOW + timedelta(days=1)) == [
        "outbox reconcile-test:1: no consumer handles topic 'no_such_topic'"
    ]
    assert list(incidents_unresolved()) == []
    assert [i.kind for i in incidents_unresolved(kinds=None)] == ["reconcile"]
    reconcile_daily(now=(NOW + timedelta(days=1)).isoformat())
    assert reconcile_incidents().get().problems.count("\n") == 0


def test_later_runs_update_the_one_incident_and_a_clean_run_resolves_it(orphan):
    reconcile_daily(now=NOW.isoformat())
    second = OutboxMessage.objects.create(
        key="reconcile-test:2", topic="no_such_topic", payload={}, created_at=NOW
    )
    # The next day: two problems, still one incident, holding the latest findings
    assert reconcile_daily(now=(NOW + timedelta(days=1)).isoformat()) == 2
    incident = reconcile_incidents().get()
    assert incident.status == IncidentStatus.OPEN
    assert incident.attempts == 2
    assert incident.last_failed_at == NOW + timedelta(days=1)
    assert incident.problems.splitlines() == [
        "outbox reconcile-test:1: no consumer handles topic 'no_such_topic'",
        "outbox reconcile-test:2: no consumer handles topic 'no_such_topic'",
    ]
    # Fixed by hand; the day after, the check finds nothing and resolves it
    OutboxMessage.objects.filter(pk__in=[orphan.pk, second.pk]).update(done_at=NOW + timedelta(days=1))
    assert reconcile_daily(now=(NOW + timedelta(days=2)).isoformat()) == 0
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == (IncidentStatus.RESOLVED, NOW + timedelta(days=2))
    # A clean run with nothing open touches nothing
    assert incident_reconcile_record(problems=[], now=NOW + timedelta(days=3)) is None
    actions = list(
        AuditEvent.objects.filter(object_type="incident", object_id=str(incident.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["INCIDENT_OPENED", "INCIDENT_UPDATED", "INCIDENT_RESOLVED"]


def test_problems_after_a_resolved_incident_open_a_new_one(base_data):
    first = incident_reconcile_record(problems=["case A: broken"], now=NOW)
    incident_reconcile_record(problems=[], now=NOW + timedelta(days=1))
    second = incident_reconcile_record(problems=["case B: broken"], now=NOW + timedelta(days=2))
    assert second.pk != first.pk
    assert list(reconcile_incidents().values_list("status", flat=True).order_by("pk")) == [
        IncidentStatus.RESOLVED,
        IncidentStatus.OPEN,
    ]


def test_the_same_findings_again_are_not_audited_again(base_data):
    incident_reconcile_record(problems=["case A: broken"], now=NOW)
    incident = incident_reconcile_record(problems=["case A: broken"], now=NOW + timedelta(days=1))
    assert incident.attempts == 2
    assert AuditEvent.objects.filter(object_type="incident").count() == 1


def test_a_long_report_is_cut_but_says_how_much_is_left(base_data):
    problems = [f"case {n}: broken" for n in range(520)]
    incident = incident_reconcile_record(problems=problems, now=NOW)
    lines = incident.problems.splitlines()
    assert len(lines) == 501
    assert lines[-1] == "... and 20 more (run manage.py reconcile)"


def test_the_database_keeps_one_unresolved_reconcile_incident_and_messages_elsewhere(base_data):
    incident_reconcile_record(problems=["case A: broken"], now=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(kind=IncidentKind.RECONCILE, opened_at=NOW, last_failed_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(kind=IncidentKind.DELIVERY, opened_at=NOW, last_failed_at=NOW)
    assert Incident.objects.count() == 1


def test_an_admin_cannot_retry_it_but_sees_it_in_the_admin(base_data, process_admin, client):
    incident = incident_reconcile_record(
        problems=["case GF-1: open but has no live task or timer", "timer t1 of case GF-2: no due date (x)"],
        now=NOW,
    )
    with pytest.raises(Conflict):
        incident_retry(incident_id=incident.pk, actor=process_admin)
    client.force_login(process_admin)
    listing = client.get("/admin/incidents/incident/")
    assert listing.status_code == 200
    assert (
        "2 problem(s); the first: case GF-1: open but has no live task or timer" in listing.content.decode()
    )
    assert client.get("/admin/incidents/incident/?kind__exact=reconcile").status_code == 200
    detail = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert detail.status_code == 200
    assert "timer t1 of case GF-2: no due date (x)" in detail.content.decode()
    response = client.post(
        "/admin/incidents/incident/",
        {"action": "retry_selected", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "daily consistency check" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.retry_count) == (IncidentStatus.OPEN, 0)


def test_beat_runs_the_check_daily():
    from celery.schedules import crontab

    from govflow.celery import app

    entry = app.conf.beat_schedule["reconcile-daily"]
    assert entry["task"] == reconcile_daily.name
    assert entry["schedule"] == crontab(minute=30, hour=0)
