"""The auditors' pages: filters, pagination, CSV export; 404 for others."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.audit.services import PendingAudit, audit_write

from .conftest import made_up_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(base_data):
    return base_data["auditor"]


@pytest.fixture
def auditor_client(auditor):
    client = Client()
    client.force_login(auditor)
    return client


def _write(*events):
    with made_up_actions(), transaction.atomic():
        audit_write(list(events))
    return list(AuditEvent.objects.order_by("-id")[: len(events)])[::-1]


def test_others_get_404(base_data, applicant, process_admin, market_reviewer):
    for user in (applicant, process_admin, market_reviewer, None):
        client = Client()
        if user is not None:
            client.force_login(user)
        assert client.get("/audit/").status_code == 404
        assert client.get("/audit/export.csv").status_code == 404


def test_an_auditor_filters_by_action_actor_outcome_and_time(auditor_client, applicant, auditor):
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    mine, other, _later = _write(
        PendingAudit(
            action="PROBE_DONE", at=at, actor_id=applicant.pk, outcome="failed", object_type="probe"
        ),
        PendingAudit(action="PROBE_DONE", at=at, actor_id=auditor.pk, object_type="probe"),
        PendingAudit(
            action="PROBE_DONE", at=at.replace(year=2031), actor_id=applicant.pk, object_type="probe"
        ),
    )
    page = auditor_client.get(
        "/audit/",
        {
            "action": "probe_done",
            "actor": "APPLICANT",
            "until": "2030-12-31T00:00",
            "since": "2030-01-02 03:04",
        },
    )
    assert page.status_code == 200
    shown = [event.id for event in page.context["page"].object_list]
    assert shown == [mine.id]
    assert "2030-01-02 11:04:05" in page.content.decode()  # Beijing time (recorded 03:04:05 UTC)
    failed = auditor_client.get("/audit/", {"action": "PROBE_DONE", "outcome": "failed"})
    assert [e.id for e in failed.context["page"].object_list] == [mine.id]
    by_object = auditor_client.get("/audit/", {"object_type": "probe", "actor": "auditor"})
    assert [e.id for e in by_object.context["page"].object_list] == [other.id]


def test_filter_by_case_reference(auditor_client, applicant, base_data):
    from tests.web.conftest import submitted

    case = submitted(applicant, "business_setup", company_name="北京审计筛选有限公司")
    page = auditor_client.get("/audit/", {"case": case.reference.lower()})
    events = list(page.context["page"].object_list)
    assert events
    assert {e.case_id for e in events} == {case.pk}
    assert {"CASE_CREATED", "CASE_SUBMITTED"} <= {e.action for e in events}


def test_a_bad_time_range_is_a_message_not_an_error(auditor_client):
    page = auditor_client.get("/audit/", {"since": "2030-02-01", "until": "2030-01-01"})
    assert page.status_code == 200
    assert page.context["page"] is None
    assert page.context["form"].non_field_errors()
    assert auditor_client.get("/audit/", {"since": "yesterday"}).status_code == 200


def test_pages_of_fifty(auditor_client):
    _write(*[PendingAudit(action="PAGED", at=datetime(2030, 1, 1, tzinfo=UTC)) for _ in range(60)])
    first = auditor_client.get("/audit/", {"action": "PAGED"})
    second = auditor_client.get("/audit/", {"action": "PAGED", "page": 2})
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 10
    assert "action=PAGED&amp;page=2" in first.content.decode()


def test_the_trail_page_runs_a_fixed_number_of_queries(auditor_client, django_assert_max_num_queries):
    _write(*[PendingAudit(action="COUNTED", at=datetime(2030, 1, 1, tzinfo=UTC)) for _ in range(30)])
    with django_assert_max_num_queries(12):
        auditor_client.get("/audit/", {"action": "COUNTED"})


def test_csv_export_is_utf8_with_bom_and_formula_safe(auditor_client, auditor, applicant):
    (event,) = _write(
        PendingAudit(
            action="CSV_PROBE",
            at=datetime(2030, 1, 1, tzinfo=UTC),
            actor_id=applicant.pk,
            object_type="probe",
            object_id='=HYPERLINK("http://evil")',
            data={"意见": "同意"},
        )
    )
    response = auditor_client.get("/audit/export.csv", {"action": "CSV_PROBE"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "time_utc", "actor", "on_behalf_of", "action"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["object_id"] == '\'=HYPERLINK("http://evil")'
    assert row["time_utc"] == "2030-01-01T00:00:00.000000Z"
    assert row["actor"] == "applicant"
    assert "同意" in row["data"]
    assert row["hash"] == event.hash
    exported = AuditEvent.objects.filter(action="AUDIT_TRAIL_EXPORTED").latest("id")
    assert exported.actor_id == auditor.pk
    assert exported.data == {"filters": {"action": "CSV_PROBE"}}


def test_the_navigation_shows_the_trail_to_auditors_only(auditor_client, applicant):
    assert 'href="/audit/"' in auditor_client.get("/").content.decode()
    client = Client()
    client.force_login(applicant)
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_auditor_role_granted_later_takes_effect(applicant):
    client = Client()
    client.force_login(applicant)
    assert client.get("/audit/").status_code == 404
    applicant.groups.add(Group.objects.get(name="auditor"))
    assert client.get("/audit/").status_code == 200


def test_the_trail_says_what_happened_in_words_and_local_time(auditor_client):
    _write(
        PendingAudit(
            action="TASK_TRANSFERRED",
            at=datetime(2030, 1, 2, 16, 30, tzinfo=UTC),
            object_type="task",
            object_id="t3",
            data={"to": "fire", "departments": ["fire", "tax"], "reason": None, "extra": {"a": 1}},
        )
    )
    page = auditor_client.get("/audit/", {"action": "TASK_TRANSFERRED"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "转办" in html
    assert "2030-01-03 00:30:00" in html  # 16:30 UTC is half past midnight in Beijing
    assert "fire、tax" in html
    assert '{&quot;a&quot;: 1}' in html
    assert "{&#x27;" not in html  # no Python repr
    assert "`" not in html.split("<main", 1)[1]  # no literal backticks
