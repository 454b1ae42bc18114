"""企业开办一件事 (workflows/business_setup.yaml) through the services:
the licence is issued the moment the registration is approved, the bank
refusing ends its item alone while the licence and the other items stand,
and the case ends when every item has, with each outcome on the case page
and in the API (docs/process-language.md section 11a)."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.cases.handlers import credit_code_check
from govflow.cases.models import CaseStatus, Task, TaskKind, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.certificates.models import Certificate, CertificateStatus
from govflow.demo_cases import _data, attach_required_documents
from govflow.notifications.models import Notification
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_drain
from govflow.processes.handlers import HandlerContext
from tests.api.conftest import api_client
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

LATER_ITEMS = ("seal", "tax", "social_insurance", "medical_insurance", "housing_fund", "bank_account")


@pytest.fixture
def keys(db, settings, tmp_path):
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())


def live(case, node_id):
    return Task.objects.filter(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])


def decide(case, node_id, users, outcome="approve", now=None):
    task = live(case, node_id).select_related("department").get()
    actor = users[f"{task.department.code}_reviewer"]
    opinion = {"approve": "符合条件，同意。", "reject": "不符合开户条件。", "accept": "予以受理。"}[outcome]
    claim_and_complete(task_id=task.pk, actor=actor, outcome=outcome, opinion=opinion, now=now)
    with time_machine.travel(now, tick=False):
        outbox_drain()


def statuses(case) -> dict[str, str]:
    case.refresh_from_db()
    return {item: line["status"] for item, line in case.state["bundles"]["items"]["items"].items()}


@pytest.fixture
def accepted_case(keys, base_data, now):
    applicant = base_data["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, employees_count=5, bank="icbc"),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    accept = Task.objects.get(case=case, kind=TaskKind.ACCEPTANCE, status=TaskStatus.OPEN)
    claim_and_complete(
        task_id=accept.pk, actor=base_data["market_regulation_reviewer"], outcome="accept", now=now
    )
    with time_machine.travel(now, tick=False):
        outbox_drain()  # the automatic checks
    return case


def test_the_licence_is_issued_when_the_registration_is_approved(accepted_case, base_data, now):
    case = accepted_case
    # Only the registration is open; the other items wait for it
    assert live(case, "registration").exists()
    assert not Task.objects.filter(case=case, node_id__in=list(LATER_ITEMS)).exists()
    assert statuses(case)["seal"] == "waiting"
    # When market regulation approves the registration
    decide(case, "registration", base_data, now=now)
    case.refresh_from_db()
    # Then the licence is issued at once, with the credit code, while the case runs
    licence = Certificate.objects.get(case=case, type="business_licence")
    assert licence.status == CertificateStatus.VALID
    assert licence.node_id == "registration_done"
    code = case.state["results"]["assign_credit_code"]["credit_code"]
    assert code in [text for _label, text in licence.facts]  # /verify/ shows the credit code
    assert case.status == CaseStatus.IN_REVIEW
    assert case.state["results"]["assign_credit_code"]["credit_code"]
    # (a construction case may name the company at once: it is registered here)
    check = credit_code_check(
        HandlerContext(
            None,
            {"builder_credit_code": case.state["results"]["assign_credit_code"]["credit_code"]},
            now.date(),
        )
    )
    assert check == {"valid": True, "registered_here": True}
    # And every later item has started, each at its own department
    assert {t.node_id for t in Task.objects.filter(case=case, status=TaskStatus.OPEN)} == {
        item for item in LATER_ITEMS
    }


def test_the_bank_refusing_leaves_the_licence_and_the_other_items_standing(accepted_case, base_data, now):
    case = accepted_case
    decide(case, "registration", base_data, now=now)
    # When the bank declines the account
    decide(case, "bank_account", base_data, outcome="reject", now=now)
    # Then only the bank item has ended, refused; the case and the others go on
    assert statuses(case) == {
        "registration": "approved",
        **{item: "running" for item in LATER_ITEMS},
        "bank_account": "rejected",
    }
    assert case.status == CaseStatus.IN_REVIEW
    assert Certificate.objects.get(case=case, type="business_licence").status == CertificateStatus.VALID
    assert live(case, "seal").exists()
    # and the applicant is told of that item at once
    notice = Notification.objects.get(
        user=base_data["applicant"], outbox_key=f"applicant:item:{case.pk}:bank_account"
    )
    assert "事项“银行开户预约”" in notice.body
    assert "未批准。其他事项不受影响" in notice.body
    assert 'the item "Bank account appointment" (' in notice.body
    # When every other item is approved
    for item in LATER_ITEMS[:-1]:
        decide(case, item, base_data, now=now)
    case.refresh_from_db()
    # Then the bundle ends with each outcome shown: partly approved, the case done
    assert case.status == CaseStatus.APPROVED
    assert case.state["bundles"]["items"]["outcome"] == "partially_approved"
    # (everything the items set going was delivered: certificates, notices, the catalogue)
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()
    assert sorted(Certificate.objects.filter(case=case).values_list("type", flat=True)) == [
        "business_licence",
        "seal_filing",
    ]
    # The applicant's case page has a line per item
    client = Client()
    client.force_login(base_data["applicant"])
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'id="bundle-items"' in page
    assert 'id="item-bank_account" class="item-rejected"' in page
    assert 'id="item-registration" class="item-approved"' in page
    assert "部分办结：部分事项不予办理" in page
    # (each item's end is on the audit trail and the timeline)
    ended = AuditEvent.objects.filter(case=case, action="BUNDLE_ITEM_ENDED").order_by("id")
    assert [(e.data["item"], e.data["outcome"]) for e in ended][:2] == [
        ("registration", "approved"),
        ("bank_account", "rejected"),
    ]
    assert ended.count() == 7
    assert "事项办结" in page
    assert "银行开户预约" in page
    assert 'data-status="rejected">未批准<' in page
    # And the API says the same
    body = api_client(base_data["applicant"], language="en").get(f"/api/v1/cases/{case.reference}/").json()
    lines = {line["item"]: line for line in body["bundle"]["items"]}
    assert body["bundle"]["outcome"] == "partially_approved"
    assert body["bundle"]["lead"] == "market_regulation"
    assert lines["bank_account"]["status"] == "rejected"
    assert lines["bank_account"]["department"] == "bank"
    assert lines["housing_fund"]["status"] == "approved"
    assert [c["type"] for c in lines["registration"]["certificates"]] == ["business_licence"]
    assert lines["bank_account"]["certificates"] == []


def test_the_case_page_shows_the_bundle_in_chinese(accepted_case, base_data, now):
    decide(accepted_case, "registration", base_data, now=now)
    client = Client()
    client.force_login(base_data["market_regulation_reviewer"])
    page = client.get(f"/cases/{accepted_case.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "企业开办一件事" in page
    assert 'data-status="running">办理中<' in page
    assert 'data-status="approved">准予许可<' in page
    assert "一次申请、一套材料，由" in page


def test_a_template_without_a_bundle_has_none_in_the_api(base_data, now):
    applicant = base_data["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", now),
        now=now,
    )
    body = api_client(applicant).get(f"/api/v1/cases/{case.reference}/").json()
    assert body["bundle"] is None


def test_each_items_end_reaches_webhooks_and_the_licence_publishes_the_company_at_once(
    accepted_case, base_data, now
):
    from collections import Counter

    from govflow.catalog.models import Record
    from tests.webhooks.conftest import Receiver, register

    exchange, bank = Receiver().start(), Receiver().start()
    try:
        # Given a data exchange hearing of every item's end, and the bank's own endpoint
        register(base_data["admin"], exchange.url, kinds=["case.item_ended", "case.approved"])
        register(base_data["admin"], bank.url, kinds=["case.item_ended"], department_code="bank", name="bank")
        case = accepted_case
        # When market regulation approves the registration
        decide(case, "registration", base_data, now=now)
        # Then the exchange hears of that item at once, and so does the bank,
        # whose item starts in the same change
        [event] = exchange.events()
        assert event["type"] == "cn.govflow.case.item_ended"
        assert event["data"]["item"] == {
            "bundle": "items",
            "item": "registration",
            "title": {"zh": "设立登记", "en": "Establishment registration"},
            "department": "market_regulation",
            "status": "approved",
            "end": "registration_done",
        }
        assert event["data"]["case"]["status"] == "in_review"
        assert [e["data"]["item"]["item"] for e in bank.events()] == ["registration"]
        # And the company register knows the company from its licence on, the case still running
        case.refresh_from_db()
        credit_code = case.state["results"]["assign_credit_code"]["credit_code"]
        record = Record.objects.get(dataset__code="company_register", key=credit_code)
        assert record.data["company_name"] == case.data["company_name"]
        assert record.case_id == case.pk
        # When the bank declines, and the others approve
        decide(case, "bank_account", base_data, outcome="reject", now=now)
        for item in LATER_ITEMS[:-1]:
            decide(case, item, base_data, now=now)
        # Then each item's end was told once
        events = exchange.events()
        ended = {
            e["data"]["item"]["item"]: e["data"]["item"] for e in events if e["type"].endswith("item_ended")
        }
        assert Counter(e["type"] for e in events) == {
            "cn.govflow.case.item_ended": 7,
            "cn.govflow.case.approved": 1,
        }
        assert (ended["bank_account"]["status"], ended["bank_account"]["end"]) == (
            "rejected",
            "bank_account_refused",
        )
        assert ended["bank_account"]["department"] == "bank"
        assert ended["seal"]["end"] == "seal_done"
        assert len(bank.events()) == 7
        # and the register holds one version: the other items publish nothing
        record.refresh_from_db()
        assert record.version == 1
    finally:
        exchange.stop()
        bank.stop()
