"""What gets an audit event, with whom and from where: logins, refused
requests, role and permission changes, and the case work done on the web."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from govflow.accounts.models import Department, Membership
from govflow.audit.context import audit_context
from govflow.audit.models import AuditEvent
from govflow.cases.models import Task

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


def newest(action, **filters):
    return AuditEvent.objects.filter(action=action, **filters).order_by("-id").first()


def test_a_login_is_recorded_with_the_user_and_source_ip(applicant):
    client = Client(REMOTE_ADDR=IP)
    response = client.post("/accounts/login/", {"username": "applicant", "password": "govflow-demo-2026"})
    assert response.status_code == 302
    event = newest("LOGIN_SUCCEEDED")
    assert (event.actor_id, event.object_id, event.source_ip, event.outcome) == (
        applicant.pk,
        str(applicant.pk),
        IP,
        "ok",
    )


def test_a_failed_login_names_the_account_but_never_the_password(applicant):
    client = Client(REMOTE_ADDR=IP)
    client.post("/accounts/login/", {"username": "applicant", "password": "wrong-password-42"})
    event = newest("LOGIN_FAILED")
    assert event.actor_id is None
    assert (event.object_id, event.source_ip, event.outcome) == (str(applicant.pk), IP, "failed")
    assert event.data["username"] == "applicant"
    assert "wrong-password-42" not in str(event.data)


def test_the_source_ip_behind_a_trusted_proxy_is_the_one_it_saw(applicant, settings):
    settings.GOVFLOW_TRUSTED_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, " + IP)
    client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    assert newest("LOGIN_FAILED").source_ip == IP


def test_group_changes_are_recorded_with_the_acting_user(applicant, process_admin):
    auditors = Group.objects.get(name="auditor")
    with audit_context(actor=lambda: process_admin.pk, source_ip=IP):
        applicant.groups.add(auditors)
        granted = newest("ROLE_GRANTED", object_id=str(applicant.pk))
        applicant.groups.remove(auditors)
        revoked = newest("ROLE_REVOKED", object_id=str(applicant.pk))
        auditors.user_set.add(applicant)  # from the group's side
        reverse = newest("ROLE_GRANTED", object_id=str(applicant.pk))
        applicant.groups.clear()
        cleared = newest("ROLE_REVOKED", object_id=str(applicant.pk))
    assert (granted.actor_id, granted.source_ip, granted.data) == (
        process_admin.pk,
        IP,
        {"groups": ["auditor"]},
    )
    assert revoked.data == {"groups": ["auditor"]}
    assert reverse.id > revoked.id
    assert reverse.data == {"groups": ["auditor"]}
    assert "auditor" in cleared.data["groups"]
    assert cleared.id > reverse.id


def test_permission_changes_are_recorded(applicant):
    permission = Permission.objects.get(codename="view_auditevent")
    applicant.user_permissions.add(permission)
    assert newest("PERMISSION_GRANTED", object_id=str(applicant.pk)).data == {
        "permissions": ["audit.view_auditevent"]
    }
    group = Group.objects.get(name="leader")
    group.permissions.add(permission)
    assert newest("GROUP_PERMISSION_GRANTED", object_id=str(group.pk)).data == {
        "permissions": ["audit.view_auditevent"]
    }
    group.permissions.remove(permission)
    assert newest("GROUP_PERMISSION_REVOKED", object_id=str(group.pk))


def test_department_membership_and_head_changes_are_recorded(applicant):
    fire = Department.objects.get(code="fire")
    membership = Membership.objects.create(user=applicant, department=fire)
    added = newest("MEMBERSHIP_ADDED", object_id=str(applicant.pk))
    membership.is_head = True
    membership.save()
    head = newest("DEPARTMENT_HEAD_CHANGED", object_id=str(applicant.pk))
    membership.delete()
    removed = newest("MEMBERSHIP_REMOVED", object_id=str(applicant.pk))
    assert added.data == {"department": "fire", "is_head": False}
    assert head.data == {"department": "fire", "is_head": [False, True]}
    assert removed.data == {"department": "fire", "was_head": True}


def test_superuser_flags_and_passwords_are_recorded(applicant):
    applicant.is_superuser = True
    applicant.save()
    assert newest("USER_PRIVILEGES_CHANGED", object_id=str(applicant.pk)).data == {
        "is_superuser": [False, True]
    }
    applicant.set_password("another-long-password")
    applicant.save()
    assert newest("PASSWORD_CHANGED", object_id=str(applicant.pk))
    before = AuditEvent.objects.count()
    applicant.save(update_fields=["last_login"])  # every login does this: nothing to record
    assert AuditEvent.objects.count() == before


def test_case_work_on_the_web_carries_the_source_ip(business_case_web):
    case, reviewer = business_case_web
    task = Task.objects.get(case=case, node_id="registration", status="open")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(reviewer)
    client.post(f"/inbox/tasks/{task.pk}/claim/")
    client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "材料齐全，同意。"})
    claimed = newest("TASK_CLAIMED", case=case)
    decided = newest("TASK_COMPLETED", case=case)
    assert (claimed.actor_id, claimed.source_ip) == (reviewer.pk, IP)
    assert (decided.actor_id, decided.source_ip) == (reviewer.pk, IP)
    assert decided.data["opinion"] == "材料齐全，同意。"
    assert decided.data["outcome"] == "approve"


def test_a_reviewer_deciding_another_departments_task_is_refused_and_recorded(
    business_case_web, fire_reviewer
):
    case, _reviewer = business_case_web
    task = Task.objects.get(case=case, node_id="registration", status="open")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(fire_reviewer)
    response = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "x"})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == "open"
    event = newest("ACCESS_DENIED")
    assert (event.actor_id, event.outcome, event.source_ip) == (fire_reviewer.pk, "denied", IP)
    assert event.data == {"method": "POST", "path": f"/inbox/tasks/{task.pk}/decide/", "status": 404}


def test_a_reviewer_deciding_their_own_case_is_refused_and_recorded(base_data, market_reviewer):
    from tests.web.conftest import submitted

    own = submitted(market_reviewer, "business_setup", company_name="北京自审科技有限公司")
    task = Task.objects.get(case=own, node_id="registration", status="open")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(market_reviewer)
    client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "x"})
    task.refresh_from_db()
    assert task.status == "open"
    assert not AuditEvent.objects.filter(action="TASK_COMPLETED", case=own, object_id=task.engine_id).exists()
    refused = newest("ACCESS_DENIED", actor=market_reviewer)
    assert refused.source_ip == IP
    assert refused.data["reason"] == "forbidden: a reviewer cannot decide a case they applied for"


@pytest.fixture
def business_case_web(base_data, applicant, market_reviewer):
    from tests.web.conftest import submitted

    return submitted(applicant, "business_setup", company_name="北京审计测试有限公司"), market_reviewer
