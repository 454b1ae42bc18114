"""In-app notifications and e-mail from the outbox `notify` consumer: who
hears of what, once per outbox key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail

from govflow.accounts.models import Membership
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Task
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.errors import NotFound
from govflow.notifications.models import Notification
from govflow.notifications.selectors import notifications_for_user, notifications_unread_count
from govflow.notifications.services import notification_mark_read, notifications_mark_all_read
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_drain, outbox_handle
from govflow.processes.services import process_publish
from tests.deciding import claim_and_complete

pytestmark = pytest.mark.django_db
REVIEW_YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "review.yaml"
GOOD_DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}


@pytest.fixture
def case(base_data, applicant, now):
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def members(code: str, *, heads_only: bool = False) -> set:
    memberships = Membership.objects.filter(department__code=code).select_related("user")
    return {m.user for m in memberships if m.is_head or not heads_only}


def test_a_new_task_notifies_its_department_in_the_app_and_by_email(case):
    assert outbox_drain() == 1
    intake = Task.objects.get(case=case, node_id="intake")
    notified = Notification.objects.filter(case=case)
    assert {n.user for n in notified} == members("market_regulation")
    assert {(n.kind, n.task_id) for n in notified} == {("task_created", intake.pk)}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in members("market_regulation"))
    message = mail.outbox[0]
    assert case.reference in message.body
    assert "受理 / Intake" in message.body
    assert "11010519491231002X" not in message.body
    assert "北京示例" not in message.body


def test_a_redelivered_message_notifies_nobody_twice(case):
    message = OutboxMessage.objects.get(topic="notify", payload__case=case.pk)
    assert outbox_handle(message.pk) is True
    first = (Notification.objects.count(), len(mail.outbox))
    # The broker redelivers it after the row was done, or a worker died before marking it done
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None)
    assert outbox_handle(message.pk) is True
    assert (Notification.objects.count(), len(mail.outbox)) == first


def test_reminders_go_to_the_holder_and_escalations_to_the_heads(case, market_reviewer, now):
    outbox_drain()
    intake = Task.objects.get(case=case, node_id="intake")
    task_claim(task_id=intake.pk, actor=market_reviewer, now=now)
    mail.outbox.clear()
    assert timers_fire_due(now=now + timedelta(days=10)) == 2
    outbox_drain()
    reminded = Notification.objects.filter(kind="reminder")
    assert [n.user for n in reminded] == [market_reviewer]
    escalated = Notification.objects.filter(kind="escalation")
    assert {n.user for n in escalated} == members("market_regulation", heads_only=True)
    assert len(mail.outbox) == 1 + escalated.count()


def test_a_correction_request_notifies_the_applicant(case, market_reviewer, applicant, now):
    intake = Task.objects.get(case=case, node_id="intake")
    claim_and_complete(
        task_id=intake.pk, actor=market_reviewer, outcome="return", opinion="请补充材料", now=now
    )
    outbox_drain()
    corrections = Notification.objects.filter(kind="correction_requested")
    assert [n.user for n in corrections] == [applicant]


def test_users_read_only_their_own_notifications(case, applicant, market_reviewer, django_assert_num_queries):
    outbox_drain()
    assert notifications_unread_count(user=market_reviewer) == 1
    assert list(notifications_for_user(user=applicant)) == []
    mine = notifications_for_user(user=market_reviewer)
    with django_assert_num_queries(1):
        assert [n.case.reference for n in mine] == [case.reference]
    with pytest.raises(NotFound):
        notification_mark_read(notification_id=mine[0].pk, actor=applicant)
    notification_mark_read(notification_id=mine[0].pk, actor=market_reviewer)
    assert notifications_unread_count(user=market_reviewer) == 0
    assert list(notifications_for_user(user=market_reviewer, unread_only=True)) == []
    assert notifications_mark_all_read(actor=market_reviewer) == 0
