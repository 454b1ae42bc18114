"""`deadline_changed` notices (emitted through the outbox `notify` topic when
a deadline is recomputed): who hears of it, what the e-mail says, and that a
redelivery notifies nobody twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core import mail

from govflow.accounts.models import Membership
from govflow.cases.models import Task
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.cases.task_notices import notification_deliver
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from govflow.timers.models import Timer
from tests.deciding import claim_and_complete

pytestmark = pytest.mark.django_db
REVIEW_YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "review.yaml"
GOOD_DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}
SUBJECT = "办理期限已更新 / Deadline updated"


@pytest.fixture
def case(base_data, applicant, now):
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    outbox_drain()
    mail.outbox.clear()
    return case


def deliver(case, task, key: str) -> int:
    return notification_deliver(
        key=key, kind="deadline_changed", case_id=case.pk, task_engine_id=task.engine_id
    )


def test_an_unclaimed_review_tells_its_department_the_new_due_date(case):
    intake = Task.objects.get(case=case, node_id="intake")
    Task.objects.filter(pk=intake.pk).update(due_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    members = {
        m.user for m in Membership.objects.filter(department__code="market_regulation").select_related("user")
    }
    assert deliver(case, intake, f"{case.pk}:{intake.engine_id}:deadline:1") == len(members)
    notified = Notification.objects.filter(kind="deadline_changed")
    assert {n.user for n in notified} == members
    assert {(n.case_id, n.task_id) for n in notified} == {(case.pk, intake.pk)}
    message = mail.outbox[0]
    assert message.subject == SUBJECT
    # 09:00 UTC is 17:00 in Beijing
    assert "办理期限：2026-03-05 17:00 / Deadline: 2026-03-05 17:00" in message.body
    assert case.reference in message.body
    assert "11010519491231002X" not in message.body


def test_a_claimed_review_tells_only_its_holder(case, market_reviewer, now):
    intake = Task.objects.get(case=case, node_id="intake")
    task_claim(task_id=intake.pk, actor=market_reviewer, now=now)
    assert deliver(case, intake, f"{case.pk}:{intake.engine_id}:deadline:1") == 1
    assert [n.user for n in Notification.objects.filter(kind="deadline_changed")] == [market_reviewer]
    assert [m.to for m in mail.outbox] == [[market_reviewer.email]]


def test_a_correction_tells_the_applicant_its_timer_due_date(case, market_reviewer, applicant, now):
    intake = Task.objects.get(case=case, node_id="intake")
    claim_and_complete(
        task_id=intake.pk, actor=market_reviewer, outcome="return", opinion="请补充材料", now=now
    )
    outbox_drain()
    mail.outbox.clear()
    fix = Task.objects.get(case=case, node_id="fix")
    timer = Timer.objects.get(task=fix, kind="correction_deadline")
    Timer.objects.filter(pk=timer.pk).update(due_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert deliver(case, fix, f"{case.pk}:{fix.engine_id}:deadline:1") == 1
    assert [n.user for n in Notification.objects.filter(kind="deadline_changed")] == [applicant]
    message = mail.outbox[0]
    assert message.to == [applicant.email]
    assert message.subject == SUBJECT
    assert "Deadline: 2026-03-10 17:00" in message.body


def test_a_redelivered_notice_notifies_nobody_twice(case):
    intake = Task.objects.get(case=case, node_id="intake")
    key = f"{case.pk}:{intake.engine_id}:deadline:1"
    first = deliver(case, intake, key)
    sent = len(mail.outbox)
    assert first > 0
    assert deliver(case, intake, key) == 0
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(outbox_key=key).count() == first


def test_a_provisional_date_is_marked_as_such(case):
    intake = Task.objects.get(case=case, node_id="intake")
    Task.objects.filter(pk=intake.pk).update(
        due_at=datetime(2027, 1, 7, 9, 0, tzinfo=UTC), due_provisional=True
    )
    deliver(case, intake, f"{case.pk}:{intake.engine_id}:deadline:1")
    assert (
        "办理期限：2027-01-07 17:00（预计）/ Deadline: 2027-01-07 17:00 (provisional)" in mail.outbox[0].body
    )


def test_a_task_without_a_date_says_so(case):
    intake = Task.objects.get(case=case, node_id="intake")
    Task.objects.filter(pk=intake.pk).update(due_at=None)
    deliver(case, intake, f"{case.pk}:{intake.engine_id}:deadline:1")
    assert "办理期限：待定 / Deadline: not set yet" in mail.outbox[0].body
