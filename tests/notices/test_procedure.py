"""公示 with objections, applicant steps and fees, end to end through the
services and the web (issue 20): a food-business licence with a 5-day
notice excluded from the clock, an objection filed on the public page
without a login and routed to the objection review, the review dismissing
it (the notice resumes to its published end) or upholding it, the rate
limit of the public page, the applicant's step with its deadline missed,
and the fee signal delivered twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from govflow.accounts.models import INTEGRATION
from govflow.audit.models import AuditEvent
from govflow.cases.applicant_steps import applicant_task_complete, fee_states
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Case, Task
from govflow.cases.services import case_create, case_submit
from govflow.cases.signals import case_signal
from govflow.demo import ensure_user
from govflow.errors import Conflict, FormInvalid
from govflow.notices.models import Objection
from govflow.notifications.models import Notification
from govflow.processes.services import process_publish
from govflow.timers.models import Timer
from tests.cases.conftest import decide

pytestmark = [pytest.mark.django_db, pytest.mark.procedure]

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "food_licence_notice.yaml"
REASONS = "该店铺后厨与垃圾站相邻，卫生条件不符合要求。"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    caches["default"].clear()


@pytest.fixture
def gateway(base_data):
    return ensure_user("payment_platform", password="x", groups=(INTEGRATION,))


@pytest.fixture
def in_notice(base_data, applicant, market_reviewer, now):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    case = case_create(
        applicant=applicant,
        template_code="food_licence_notice",
        data={"shop_name": "好味小吃店", "contact_phone": "13800138000"},
        now=now,
    )
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    decide(case, "review", market_reviewer, now=now)
    decide(case, "inspection", market_reviewer, now=now)
    case.refresh_from_db()
    return case


def _object(client, case, **extra):
    body = {"name": "李四甲", "contact": "13900139000", "reasons": REASONS, **extra}
    return client.post(f"/notices/{case.reference}/object/", body)


def test_a_case_in_notice_is_listed_without_personal_data_and_the_clock_is_excluded(in_notice):
    assert in_notice.clock_paused_at is not None  # clock: excluded
    timer = Timer.objects.get(case=in_notice, kind="notice", status=Timer.PENDING)
    assert timer.legal_effect
    page = Client().get("/notices/")
    assert page.status_code == 200
    html = page.content.decode()
    assert in_notice.reference in html
    assert "好味小吃店" in html
    assert "13800138000" not in html  # a secret field is never published


def test_an_objection_on_the_public_page_routes_the_case_to_the_review(in_notice, market_reviewer, now):
    answer = _object(Client(), in_notice)
    assert answer.status_code == 200
    assert "objection-filed" in answer.content.decode()
    objection = Objection.objects.get(case=in_notice)
    assert (objection.name, objection.node_id) == ("李四甲", "notice")
    in_notice.refresh_from_db()
    # the notice stopped (and with it the exclusion); the review is open
    assert in_notice.clock_paused_at is None
    assert not Timer.objects.filter(case=in_notice, kind="notice", status=Timer.PENDING).exists()
    review = Task.objects.get(case=in_notice, node_id="objection_review", status="open")
    assert in_notice.state["results"]["notice"]["objections"] == 1
    # the audit records the filing without the objector's data
    event = AuditEvent.objects.get(case_id=in_notice.pk, action="OBJECTION_FILED")
    assert "李四甲" not in str(event.data)
    assert "13900139000" not in str(event.data)
    # the applicant is told (the outbox's notify message for the review task)
    from govflow.outbox.models import OutboxMessage

    assert OutboxMessage.objects.filter(topic="notify", payload__kind="objection_filed").exists()
    # the reviewer sees the objection's text on the case page; the applicant does not see the objector
    reviewer = Client()
    reviewer.force_login(market_reviewer)
    html = reviewer.get(f"/cases/{in_notice.reference}/").content.decode()
    assert REASONS in html
    assert "李四甲" in html
    owner = Client()
    owner.force_login(in_notice.applicant)
    assert "李四甲" not in owner.get(f"/cases/{in_notice.reference}/").content.decode()
    # the case is no longer listed in notice
    assert in_notice.reference not in Client().get("/notices/").content.decode()
    from tests.api.conftest import api_client

    steps = f"/api/v1/cases/{in_notice.reference}/steps/"
    [seen] = api_client(market_reviewer).get(steps).json()["objections"]
    assert seen["reasons"] == REASONS
    assert api_client(in_notice.applicant).get(steps).json()["objections"] == []
    # dismissed: the notice resumes and ends when first published (5 working days)
    decide(in_notice, "objection_review", market_reviewer, now=now + timedelta(hours=1))
    resumed = Timer.objects.get(case=in_notice, kind="notice", status=Timer.PENDING)
    first = Timer.objects.filter(case=in_notice, kind="notice").order_by("id").first()
    assert resumed.pk != first.pk
    assert resumed.due_at == first.due_at
    assert review.pk


def test_an_upheld_objection_refuses_the_licence(in_notice, market_reviewer, now):
    _object(Client(), in_notice)
    decide(in_notice, "objection_review", market_reviewer, outcome="reject", opinion="异议成立")
    in_notice.refresh_from_db()
    assert in_notice.status == "rejected"


@override_settings(GOVFLOW_RATE_LIMITS_ENABLED=True)
def test_the_objection_page_is_rate_limited_and_refuses_bad_input(in_notice):
    client = Client()
    short = _object(client, in_notice, reasons="不行")
    assert short.status_code == 400
    assert not Objection.objects.exists()
    robot = _object(client, in_notice, website="http://spam.example")
    assert robot.status_code == 200
    assert not Objection.objects.exists()
    assert not Objection.objects.exists()
    assert _object(client, in_notice).status_code == 200  # the third of 3 a minute
    limited = _object(client, in_notice)
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert Objection.objects.count() == 1
    assert Client(REMOTE_ADDR="192.0.2.7").get("/notices/").status_code == 200  # reading is not limited


def test_no_objection_to_a_case_not_in_notice(in_notice, market_reviewer, now):
    timers_fire_due(now=now + timedelta(days=30))
    in_notice.refresh_from_db()
    assert "declare" in {t["node"] for t in in_notice.state["tokens"].values()}
    assert _object(Client(), in_notice).status_code == 404
    assert Client().get("/notices/NOSUCHCASE/object/").status_code == 404


def _past_notice(case, now):
    timers_fire_due(now=now + timedelta(days=12))
    case.refresh_from_db()
    return case


def test_the_applicant_step_with_its_deadline_missed(in_notice, applicant, now):
    case = _past_notice(in_notice, now)
    task = Task.objects.get(case=case, node_id="declare", status="open")
    assert task.kind == "applicant"
    assert case.clock_paused_at is not None  # the applicant's time
    owner = Client()
    owner.force_login(applicant)
    assert "step-" in owner.get(f"/cases/{case.reference}/").content.decode()
    # a missed deadline: the case lapses
    timers_fire_due(now=now + timedelta(days=60))
    case.refresh_from_db()
    assert case.status == "withdrawn"
    task.refresh_from_db()
    assert task.status == "cancelled"
    with pytest.raises(Conflict):
        applicant_task_complete(case_id=case.pk, actor=applicant, task_id=task.engine_id, confirmed=True)


def test_the_applicant_step_done_on_the_portal_then_the_fee_paid_twice(in_notice, applicant, gateway, now):
    case = _past_notice(in_notice, now)
    task = Task.objects.get(case=case, node_id="declare", status="open")
    with pytest.raises(FormInvalid):
        applicant_task_complete(
            case_id=case.pk, actor=applicant, task_id=task.engine_id, data={"opening_date": "2026-04-01"}
        )
    owner = Client()
    owner.force_login(applicant)
    answer = owner.post(
        f"/cases/{case.reference}/steps/{task.engine_id}/", {"opening_date": "2026-04-01", "confirmed": "1"}
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    case.refresh_from_db()
    assert case.data["opening_date"] == "2026-04-01"
    assert AuditEvent.objects.filter(case_id=case.pk, action="APPLICANT_TASK_COMPLETED").count() == 1
    # now the fee: unpaid, with its amount and deadline, on the case page
    [fee] = fee_states(case=case)
    assert (fee.paid, fee.amount) == (False, "300.00")
    assert fee.deadline is not None
    assert "300.00" in owner.get(f"/cases/{case.reference}/").content.decode()
    assert case.clock_paused_at is not None
    # a wrong amount is refused
    with pytest.raises(Conflict):
        case_signal(reference=case.reference, actor=gateway, name="fee_paid", data={"amount": "30"})
    first = case_signal(
        reference=case.reference,
        actor=gateway,
        name="fee_paid",
        data={"amount": "300", "payment_id": "P1"},
        message_id="P1",
    )
    again = case_signal(
        reference=case.reference,
        actor=gateway,
        name="fee_paid",
        data={"amount": "300", "payment_id": "P1"},
        message_id="P1",
    )
    assert not first.duplicate
    assert again.duplicate
    case = Case.objects.get(pk=case.pk)
    assert case.status == "approved"
    assert AuditEvent.objects.filter(case_id=case.pk, action="CASE_SIGNAL_RECEIVED").count() == 1
    [fee] = fee_states(case=case)
    assert fee.paid
    assert fee.payment["payment_id"] == "P1"


def test_the_applicant_is_notified_of_the_step(in_notice, applicant, now):
    from govflow.outbox.models import OutboxMessage

    case = _past_notice(in_notice, now)
    message = OutboxMessage.objects.get(topic="notify", payload__kind="applicant_step")
    from govflow.cases.task_notices import notification_deliver

    notification_deliver(
        key=message.key, kind="applicant_step", case_id=case.pk, task_engine_id=message.payload["task"]
    )
    assert Notification.objects.filter(user=applicant, kind="applicant_step").exists()


def test_the_api_shows_the_step_and_the_fee_and_a_payment_sent_twice_counts_once(
    in_notice, applicant, market_reviewer, gateway, now
):
    from tests.api.conftest import api_client

    case = _past_notice(in_notice, now)
    owner = api_client(applicant, language="en")
    url = f"/api/v1/cases/{case.reference}/steps/"
    listed = owner.get(url).json()
    [step] = listed["steps"]
    assert step["node"] == "declare"
    assert [f["id"] for f in step["form_fields"]] == ["opening_date"]
    assert step["deadline"] is not None
    assert listed["fees"] == []
    assert listed["objections"] == []
    assert api_client(market_reviewer).get(url).status_code == 200
    assert api_client(market_reviewer).post(url, {"task": step["task"]}, format="json").status_code == 403
    refused = owner.post(url, {"task": step["task"], "data": {"shop_name": "改名"}}, format="json")
    assert refused.status_code == 400
    done = owner.post(
        url, {"task": step["task"], "data": {"opening_date": "2026-04-01"}, "confirmed": True}, format="json"
    )
    assert done.status_code == 200, done.json()
    [fee] = done.json()["fees"]
    assert fee["amount"] == "300.00"
    assert fee["paid"] is False
    assert fee["deadline"] is not None
    signal = api_client(gateway)
    payment = {"message_id": "PAY-7", "data": {"amount": "300.00", "payment_id": "PAY-7"}}
    first = signal.post(f"/api/v1/cases/{case.reference}/signals/fee_paid/", payment, format="json")
    second = signal.post(f"/api/v1/cases/{case.reference}/signals/fee_paid/", payment, format="json")
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["status"] == "approved"
    [paid] = owner.get(url).json()["fees"]
    assert paid["paid"] is True
    assert AuditEvent.objects.filter(case_id=case.pk, action="CASE_SIGNAL_RECEIVED").count() == 1


def test_simulate_process_scripts_an_objection_and_an_unpaid_fee(tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command

    script = tmp_path / "d.yaml"
    script.write_text(
        "decisions:\n  notice: [objection, none]\n  pay: unpaid\ndurations:\n  notice: 2\n", encoding="utf-8"
    )
    out = StringIO()
    call_command("simulate_process", str(TEMPLATE), "--decisions", str(script), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["trace"][3:6] == ["notice", "objection_review", "notice"]
    assert {"node": "notice", "outcome": "objection", "day": 19} in result["decisions"]
    assert result["outcome"] == "withdrawn"  # the fee's deadline passed
    paid = tmp_path / "p.yaml"
    paid.write_text("decisions:\n  pay: paid\n", encoding="utf-8")
    out = StringIO()
    call_command("simulate_process", str(TEMPLATE), "--decisions", str(paid), "--json", stdout=out)
    assert json.loads(out.getvalue())["outcome"] == "approved"


def test_the_applicant_is_told_of_the_fee_due(in_notice, applicant, now):
    from govflow.notices.consumers import fee_due
    from govflow.outbox.models import OutboxMessage

    case = _past_notice(in_notice, now)
    task = Task.objects.get(case=case, node_id="declare", status="open")
    applicant_task_complete(
        case_id=case.pk,
        actor=applicant,
        task_id=task.engine_id,
        data={"opening_date": "2026-04-01"},
        confirmed=True,
    )
    message = OutboxMessage.objects.get(topic="fee_due")
    fee_due(message.payload, message.key)
    fee_due(message.payload, message.key)  # redelivered: nobody is told twice
    [notice] = Notification.objects.filter(user=applicant, case=case, outbox_key=message.key)
    assert notice.kind == "applicant_step"
