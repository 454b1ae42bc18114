"""延期 (行政许可法 art 42): a reviewer asks, the department head approves
or refuses in their inbox; an approval moves the task's SLA timers on the
real working-day calendar (Qingming 2026 included), writes the letter to
the applicant and tells them in the app; the template caps the count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from govflow.audit.models import AuditEvent
from govflow.cases import events
from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.collab.extensions import (
    extension_approve,
    extension_refuse,
    extension_request,
    extension_withdraw,
)
from govflow.collab.models import ExtensionStatus
from govflow.collab.selectors import extensions_for_head
from govflow.errors import Conflict, Forbidden, NotFound
from govflow.letters.models import Letter
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from govflow.timers.models import Timer
from govflow.timers.services import calendar_invalidate
from tests.deciding import claim_and_complete
from tests.letters.conftest import keys, letter_path, pdf_text  # noqa: F401
from tests.timers.test_provisional import load_2027  # noqa: F401

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

YAML = Path(__file__).resolve().parents[1] / "data" / "services" / "extension.yaml"
# 2026-03-03 10:00 Beijing: the 20-day review runs from 3-4 to 3-31 17:00.
DUE = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
# Ten working days after 3-31 skip Qingming (4-4 to 4-6): 4-15 17:00, not 4-14.
EXTENDED = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def case(base_data, now):
    process_publish(source=YAML.read_text(encoding="utf-8"))
    applicant = base_data["applicant"]
    created = case_create(
        applicant=applicant,
        template_code="test_extension",
        data={"company_name": "北京延期测试有限公司"},
        now=now,
    )
    case_submit(case_id=created.pk, actor=applicant, now=now)
    created.refresh_from_db()
    return created


@pytest.fixture
def extended_events():
    seen: list = []

    def record(changes, happened):
        seen.extend(happened)

    events.subscribe(record, events.TaskExtended)
    yield seen
    events.unsubscribe(record)


def live(case, node_id) -> Task:
    return Task.objects.get(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])


def held(case, node_id, user, now) -> Task:
    task = live(case, node_id)
    task_claim(task_id=task.pk, actor=user, now=now)
    task.refresh_from_db()
    return task


def test_an_approved_extension_moves_the_deadline_on_the_calendar_and_writes_to_the_applicant(
    keys,  # noqa: F811
    case,
    base_data,
    now,
    tmp_path,
    extended_events,
):
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    assert task.due_at == DUE

    request = extension_request(task_id=task.pk, actor=reviewer, reason="需现场核查经营场所", now=now)
    outbox_drain()
    assert Notification.objects.filter(user=head, kind="extension_requested").exists()
    later = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    approved = extension_approve(extension_id=request.pk, actor=head, now=later)
    outbox_drain()

    task.refresh_from_db()
    assert approved.status == ExtensionStatus.APPROVED
    assert task.due_at == EXTENDED
    assert not task.due_provisional
    assert (approved.due_before, approved.due_after) == (DUE, EXTENDED)
    breach = Timer.objects.get(task=task, kind="sla_breach")
    assert breach.due_at == EXTENDED
    # the reminder (at half the limit, 3-17) moves by ten working days too
    assert Timer.objects.get(task=task, kind="sla_reminder").due_at.date().isoformat() == "2026-03-31"
    # the applicant: a letter in the case's documents, and a notice in the app
    letter = Letter.objects.get(case=case, kind="extension")
    assert approved.letter_id == letter.pk
    assert letter.issued_by_id == head.pk
    assert letter.task_id == task.pk
    text = pdf_text(letter_path(letter).read_bytes(), tmp_path)
    for expected in (
        "延长审批期限告知书",
        "需现场核查经营场所",
        "2026年4月15日",
        "2026年3月31日",
        "第四十二条",
    ):
        assert expected in text, expected
    assert Notification.objects.filter(user=case.applicant, kind="letter_issued").exists()
    # the requester hears of it; the audit trail and the typed event say what moved
    assert Notification.objects.filter(user=reviewer, kind="extension_answered").exists()
    event = AuditEvent.objects.get(action="TASK_EXTENDED", case_id=case.pk)
    assert event.data["due_after"] == EXTENDED.isoformat()
    assert event.actor_id == head.pk
    [extended] = extended_events
    assert (extended.days, extended.due_before, extended.due_after) == (10, DUE, EXTENDED)
    # the breach does not fire on the old date any more
    from govflow.cases.automation import timers_fire_due

    timers_fire_due(now=datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    task.refresh_from_db()
    assert not task.escalated


def test_a_refused_extension_tells_the_requester_and_moves_nothing(case, base_data, now):
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)

    request = extension_request(task_id=task.pk, actor=reviewer, reason="材料较多", now=now)
    with pytest.raises(Conflict) as pending:
        extension_request(task_id=task.pk, actor=reviewer, reason="再次申请", now=now)
    refused = extension_refuse(extension_id=request.pk, actor=head, note="可在期限内完成", now=now)
    outbox_drain()

    assert pending.value.code == "extension_pending"
    task.refresh_from_db()
    assert refused.status == ExtensionStatus.REFUSED
    assert task.due_at == DUE
    assert not Letter.objects.filter(case=case).exists()
    notice = Notification.objects.get(user=reviewer, kind="extension_answered")
    assert notice.case_id == case.pk
    assert AuditEvent.objects.filter(action="TASK_EXTENSION_REFUSED", case_id=case.pk).exists()
    # refused, not used up: a new request may follow
    assert extension_request(task_id=task.pk, actor=reviewer, reason="确需延期", now=now).is_pending


def test_once_by_default_twice_where_the_template_says_and_never_where_it_forbids(case, base_data, now):
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    extension_approve(
        extension_id=extension_request(task_id=task.pk, actor=reviewer, reason="一", now=now).pk,
        actor=head,
        now=now,
    )

    with pytest.raises(Conflict) as second:
        extension_request(task_id=task.pk, actor=reviewer, reason="二", now=now)

    assert second.value.code == "extension_limit_reached"
    claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    fire_reviewer, fire_head = base_data["fire_reviewer"], base_data["fire_head"]
    fire = held(case, "fire", fire_reviewer, now)
    for _ in range(2):
        extension_approve(
            extension_id=extension_request(task_id=fire.pk, actor=fire_reviewer, reason="检测", now=now).pk,
            actor=fire_head,
            now=now,
        )
    with pytest.raises(Conflict) as third:
        extension_request(task_id=fire.pk, actor=fire_reviewer, reason="三", now=now)
    assert third.value.code == "extension_limit_reached"
    fire.refresh_from_db()
    # 3 working days from 3-4 end 3-6; then 5 and 5 more: 3-13, then 3-20
    assert fire.due_at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    claim_and_complete(task_id=fire.pk, actor=fire_reviewer, outcome="approve", opinion="同意", now=now)
    tax_reviewer = base_data["tax_reviewer"]
    tax = held(case, "tax", tax_reviewer, now)
    with pytest.raises(Conflict) as forbidden:
        extension_request(task_id=tax.pk, actor=tax_reviewer, reason="四", now=now)
    assert forbidden.value.code == "extension_not_allowed"


def test_only_the_head_of_the_tasks_department_answers(case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    task = held(case, "review", reviewer, now)
    request = extension_request(task_id=task.pk, actor=reviewer, reason="需要鉴定", now=now)

    with pytest.raises(Forbidden):
        extension_approve(extension_id=request.pk, actor=reviewer, now=now)
    with pytest.raises(NotFound):
        extension_approve(extension_id=request.pk, actor=base_data["fire_head"], now=now)
    with pytest.raises(NotFound):
        extension_refuse(extension_id=request.pk, actor=base_data["fire_reviewer"], note="不", now=now)

    request.refresh_from_db()
    assert request.is_pending
    task.refresh_from_db()
    assert task.due_at == DUE


def test_only_the_holder_asks_and_not_after_the_limit(case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    task = live(case, "review")
    with pytest.raises(Conflict) as unclaimed:
        extension_request(task_id=task.pk, actor=reviewer, reason="未领取", now=now)
    task = held(case, "review", reviewer, now)
    with pytest.raises(Conflict) as late:
        extension_request(
            task_id=task.pk, actor=reviewer, reason="超期", now=datetime(2026, 4, 1, 2, tzinfo=UTC)
        )

    assert unclaimed.value.code == "not_claimed"
    assert late.value.code == "deadline_passed"


# -- over the API and the web ------------------------------------------------


def test_ask_approve_and_list_over_the_api(keys, case, base_data, now):  # noqa: F811
    from tests.api.conftest import api_client

    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    with time_machine.travel(now, tick=False):
        asked = api_client(reviewer).post(
            f"/api/v1/tasks/{task.pk}/extension/", {"reason": "需组织专家论证"}, format="json"
        )
        missing = api_client(reviewer).post(f"/api/v1/tasks/{task.pk}/extension/", {}, format="json")
        extension_id = asked.json()["id"]
        mine = api_client(reviewer).get("/api/v1/extensions/")
        waiting = api_client(head).get("/api/v1/extensions/")
        not_head = api_client(reviewer).post(f"/api/v1/extensions/{extension_id}/approve/", {}, format="json")
        approved = api_client(head).post(f"/api/v1/extensions/{extension_id}/approve/", {}, format="json")
        again = api_client(reviewer).post(
            f"/api/v1/tasks/{task.pk}/extension/", {"reason": "再延"}, format="json"
        )
        letters = api_client(case.applicant).get(f"/api/v1/cases/{case.reference}/letters/")

    assert asked.status_code == 200, asked.content
    assert asked.json()["status"] == "pending"
    assert asked.json()["due_before"] == "2026-03-31T17:00:00+08:00"
    assert missing.status_code == 400
    assert mine.json() == []
    assert [e["id"] for e in waiting.json()] == [extension_id]
    assert not_head.status_code == 403
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "approved"
    assert body["due_after"] == "2026-04-15T17:00:00+08:00"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "extension_limit_reached"
    [letter] = letters.json()
    assert letter["number"] == body["letter"]
    assert letter["kind"] == "extension"


def test_ask_on_the_case_page_and_refuse_in_the_heads_inbox(case, base_data, now):
    from django.test import Client

    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    as_reviewer, as_head = Client(), Client()
    as_reviewer.force_login(reviewer)
    as_head.force_login(head)
    with time_machine.travel(now, tick=False):
        page = as_reviewer.get(f"/cases/{case.reference}/").content.decode()
        asked = as_reviewer.post(f"/collab/tasks/{task.pk}/extension/", {"reason": "需现场检验"})
        inbox = as_head.get("/collab/requests/").content.decode()
        request = task.extension_requests.get()
        refused = as_head.post(
            f"/collab/extensions/{request.pk}/answer/", {"decision": "refuse", "answer": "请按期办结"}
        )
        shown = as_reviewer.get(f"/cases/{case.reference}/").content.decode()

    assert f"/collab/tasks/{task.pk}/extension/" in page
    assert asked.status_code == 302
    assert "需现场检验" in inbox
    assert f"/collab/extensions/{request.pk}/answer/" in inbox
    assert refused.status_code == 302
    request.refresh_from_db()
    assert request.status == ExtensionStatus.REFUSED
    assert request.answer == "请按期办结"
    assert "请按期办结" in shown


def test_a_decision_taken_back_gives_the_task_back_with_its_extension(case, base_data, now):
    from govflow.cases.operations.take_back import task_take_back

    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    extension_approve(
        extension_id=extension_request(task_id=task.pk, actor=reviewer, reason="需鉴定", now=now).pk,
        actor=head,
        now=now,
    )
    claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)

    again = task_take_back(task_id=task.pk, actor=reviewer, now=now)

    again.refresh_from_db()
    assert again.due_at == EXTENDED
    assert Timer.objects.get(task=again, kind="sla_breach").due_at == EXTENDED
    with pytest.raises(Conflict) as second:
        extension_request(task_id=again.pk, actor=reviewer, reason="再次", now=now)
    assert second.value.code == "extension_limit_reached"


def test_an_extension_into_a_year_not_loaded_is_provisional_and_the_letter_says_so(
    base_data,
    tmp_path,
    load_2027,  # noqa: F811
):
    # Tuesday 2026-12-01 10:00 Beijing: 20 working days end 12-29 (exact);
    # ten more reach into 2027, whose calendar is not loaded.
    december = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    process_publish(source=YAML.read_text(encoding="utf-8"))
    applicant = base_data["applicant"]
    created = case_create(
        applicant=applicant,
        template_code="test_extension",
        data={"company_name": "北京年末有限公司"},
        now=december,
    )
    case_submit(case_id=created.pk, actor=applicant, now=december)
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(created, "review", reviewer, december)
    assert task.due_at == datetime(2026, 12, 29, 9, 0, tzinfo=UTC)
    assert not task.due_provisional

    approved = extension_approve(
        extension_id=extension_request(task_id=task.pk, actor=reviewer, reason="年末集中", now=december).pk,
        actor=head,
        now=december,
    )

    task.refresh_from_db()
    assert task.due_provisional
    # counted Monday to Friday: 12-30, 12-31, 1-1 ... 1-12
    assert task.due_at == datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    assert Timer.objects.get(task=task, kind="sla_breach").provisional
    assert "（预计" in pdf_text(letter_path(approved.letter).read_bytes(), tmp_path)
    # the year is loaded (New Year's Day and 1-6 off): recounted exactly, extension included
    calendar_invalidate()
    try:
        load_2027()
        task.refresh_from_db()
    finally:
        calendar_invalidate()
    assert task.due_at == datetime(2027, 1, 14, 9, 0, tzinfo=UTC)
    assert not task.due_provisional


def test_an_approved_extension_is_one_webhook_event(case, base_data, now):
    import json

    from govflow.webhooks.models import Delivery
    from tests.webhooks.conftest import register

    register(base_data["admin"], "http://127.0.0.1:9/hook", kinds=["task.extended"])
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)

    extension_approve(
        extension_id=extension_request(task_id=task.pk, actor=reviewer, reason="专家评审", now=now).pk,
        actor=head,
        now=now,
    )

    [delivery] = Delivery.objects.all()
    body = json.loads(delivery.body)
    assert body["type"] == "cn.govflow.task.extended"
    operation = body["data"]["operation"]
    assert operation["node"] == "review"
    assert operation["days"] == 10
    assert operation["due_after"] == EXTENDED.isoformat()
    assert operation["reason"] == "专家评审"


def test_the_requester_withdraws_and_the_head_no_longer_sees_it(case, base_data, now):
    reviewer, head = base_data["market_regulation_reviewer"], base_data["market_regulation_head"]
    task = held(case, "review", reviewer, now)
    request = extension_request(task_id=task.pk, actor=reviewer, reason="或许需要", now=now)
    assert [e.pk for e in extensions_for_head(user=head)] == [request.pk]

    with pytest.raises(Forbidden):
        extension_withdraw(extension_id=request.pk, actor=head, now=now)
    withdrawn = extension_withdraw(extension_id=request.pk, actor=reviewer, now=now)

    assert withdrawn.status == ExtensionStatus.WITHDRAWN
    assert extensions_for_head(user=head) == []
    with pytest.raises(Conflict):
        extension_approve(extension_id=request.pk, actor=head, now=now)
    assert AuditEvent.objects.filter(action="TASK_EXTENSION_WITHDRAWN", case_id=case.pk).exists()
