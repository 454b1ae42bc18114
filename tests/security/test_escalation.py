"""Escalation attempts through the web forms are refused and audited: an
applicant setting a case's status or department, or deciding a task."""

import pytest
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task

pytestmark = pytest.mark.django_db


def test_an_applicant_cannot_set_status_or_department_through_the_form(base_data, applicant):
    from govflow.cases.services import case_create

    case = case_create(applicant=applicant, template_code="business_setup", data={})
    client = Client()
    client.force_login(applicant)
    client.post(
        f"/cases/{case.reference}/edit/",
        {"action": "save", "status": "approved", "department": "fire", "applicant": "1", "state": "{}"},
    )
    case.refresh_from_db()
    assert case.status == "draft"
    assert not {"status", "department", "applicant", "state"} & set(case.data)


def test_an_applicant_cannot_decide_a_task_and_the_attempt_is_audited(base_data, applicant):
    from tests.web.conftest import submitted

    case = submitted(applicant, "business_setup", company_name="北京越权测试有限公司")
    task = Task.objects.filter(case=case, status="open").first()
    client = Client(REMOTE_ADDR="192.0.2.9")
    client.force_login(applicant)
    response = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "x"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == "open"
    assert Case.objects.get(pk=case.pk).status == case.status
    event = AuditEvent.objects.filter(action="ACCESS_DENIED", actor=applicant).latest("id")
    assert (event.source_ip, event.data["status"]) == ("192.0.2.9", 403)
