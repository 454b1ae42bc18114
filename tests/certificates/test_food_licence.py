"""食品经营许可 (SAMR Order 78, 2023): the template validates and its worst
case fits the 10-working-day decision period on the real calendar; a case
runs through acceptance, document review, the two inspectors' countersign
and the decision, and gets its licence: portrait A4, every item the measures
put on it, no English or notes, a JY number with a valid check digit, and
/verify/ showing the public fields only."""

from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from govflow.cases.models import CaseStatus, Task, TaskKind, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.certificates.models import Certificate
from govflow.certificates.numbering import (
    food_licence_number_valid,
    mod11_10_check_digit,
    mod11_10_valid,
)
from govflow.demo_cases import _data, attach_required_documents
from govflow.errors import GovflowError
from govflow.outbox.services import outbox_drain
from tests.deciding import claim_and_complete

from .conftest import ARTIFACTS, pdftotext, save_artifact, to_png

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workflows" / "food_business_licence.yaml"
ENGLISH = re.compile(r"[A-Za-z]{3,}")
JY_NUMBER = re.compile(r"^JY2110105\d{6}\d$")

pytestmark = [pytest.mark.procedure]


def open_task(case, node_id, kind=None):
    tasks = Task.objects.filter(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    if kind:
        tasks = tasks.filter(kind=kind)
    return tasks.order_by("id")


def run_food_case(users, now, *, decide=True):
    """Submit a catering application in 110105 and decide every step through
    the services, as the bureau's staff would."""
    applicant = users["applicant"]
    inspector_a, inspector_b = users["market_regulation_reviewer"], users["market_regulation_head"]
    inspector_a.first_name, inspector_a.last_name = "洋", "刘"  # printed surname first: 刘洋
    inspector_b.first_name, inspector_b.last_name = "静", "陈"
    inspector_a.save()
    inspector_b.save()
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data(
            "food_business_licence", now, operator_name="北京味道餐饮管理有限公司", safety_manager="赵敏"
        ),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    # 受理
    accept = open_task(case, "accept", TaskKind.ACCEPTANCE).get()
    claim_and_complete(task_id=accept.pk, actor=inspector_a, outcome="accept", opinion="予以受理。", now=now)
    # 书面审查
    review = open_task(case, "review").get()
    claim_and_complete(
        task_id=review.pk, actor=inspector_a, outcome="approve", opinion="材料齐全，符合要求。", now=now
    )
    # 现场核查: two signatures by two different people
    first, second = open_task(case, "inspection")
    claim_and_complete(
        task_id=first.pk, actor=inspector_a, outcome="approve", opinion="现场与材料一致。", now=now
    )
    with pytest.raises(GovflowError):
        claim_and_complete(task_id=second.pk, actor=inspector_a, outcome="approve", opinion="同上。", now=now)
    claim_and_complete(
        task_id=second.pk, actor=inspector_b, outcome="approve", opinion="现场与材料一致。", now=now
    )
    if not decide:
        return case
    # 许可决定
    decision = open_task(case, "decision").get()
    claim_and_complete(
        task_id=decision.pk, actor=inspector_b, outcome="approve", opinion="准予许可。", now=now
    )
    with time_machine.travel(now, tick=False):  # the worker issues it the same day
        outbox_drain()
    case.refresh_from_db()
    return case


@pytest.fixture
def food_case(keys, users, now):
    return run_food_case(users, now)


@pytest.fixture
def food_licence(food_case):
    return Certificate.objects.get(case=food_case, type="food_business_licence")


@pytest.mark.django_db
def test_the_template_fits_the_decision_period_on_the_real_calendar():
    # Given the template accepted on Monday 2026-09-28, National Day ahead
    out = StringIO()
    call_command(
        "simulate_process", str(TEMPLATE), "--approve-all", "--start", "2026-09-28", "--json", stdout=out
    )
    result = json.loads(out.getvalue())
    # Then every step using its full limit still decides on the 10th working day
    assert result["outcome"] == "approved"
    assert result["working_days"] == 10
    assert result["within_time_limit"] is True
    assert result["statutory_limit_days"] == 10
    assert result["within_statutory_limit"] is True
    assert result["end_date"] == "2026-10-16"
    assert [n for n in result["trace"] if n in ("accept", "review", "inspection", "decision")] == [
        "accept",
        "review",
        "inspection",
        "decision",
    ]


@pytest.mark.certificates
@pytest.mark.django_db
def test_a_case_runs_end_to_end_and_gets_its_licence(food_case, food_licence):
    assert food_case.status == CaseStatus.APPROVED
    assert food_case.accepted_at is not None
    signatures = Task.objects.filter(case=food_case, node_id="inspection", status=TaskStatus.COMPLETED)
    assert {t.decided_by.username for t in signatures} == {
        "market_regulation_reviewer",
        "market_regulation_head",
    }
    assert JY_NUMBER.match(food_licence.number), food_licence.number
    assert food_licence_number_valid(food_licence.number)
    assert food_licence.issuer_name == "北京市朝阳区市场监督管理局"


@pytest.mark.certificates
@pytest.mark.django_db
def test_the_licence_prints_every_item_and_nothing_else(food_case, food_licence, settings):
    pdf = save_artifact(food_licence, "food_business_licence")
    to_png(pdf, ARTIFACTS / "food_business_licence")
    text = pdftotext(pdf)
    credit_code = food_case.data["credit_code"]
    for expected in (
        "食品经营许可证",
        "正本",
        "经营者名称北京味道餐饮管理有限公司",
        "统一社会信用代码" + credit_code,
        "法定代表人（负责人）陈晓华",
        "住所北京市朝阳区朝阳门外大街18号1层101",
        "经营场所北京市朝阳区朝阳门外大街18号1层101",
        "主体业态餐饮服务经营者",
        "经营项目预包装食品销售、热食类食品制售、冷食类食品制售、自制饮品制售",
        "许可证编号" + food_licence.number,
        "有效期至2031年03月02日",
        "日常监督管理机构北京市朝阳区市场监督管理局",
        "日常监督管理人员刘洋、陈静",
        "投诉举报电话12315",
        "签发人陈静",
        "发证机关",
        "北京市朝阳区市场监督管理局",
        "2026年03月03日",
    ):
        assert expected in text, expected
    # Sensitive and internal fields never reach it, nor notes or English
    for absent in (
        food_case.data["legal_rep_id_number"],
        food_case.data["contact_phone"],
        food_case.data["safety_manager"],
        "发布前",
        "请核对",
        "示例",
        "TODO",
        "视为准予",
        "办件编号",
    ):
        assert absent not in text, absent
    rest = text
    for allowed in (f"{settings.GOVFLOW_PUBLIC_BASE_URL}/verify/{food_licence.number}/", credit_code):
        rest = rest.replace(allowed, "")
    assert not ENGLISH.findall(rest), ENGLISH.findall(rest)


@pytest.mark.certificates
@pytest.mark.django_db
def test_the_licence_is_one_portrait_a4_page(food_licence):
    info = subprocess.run(
        ["pdfinfo", str(save_artifact(food_licence, "food_business_licence"))],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size is not None, info
    assert (round(float(size.group(1))), round(float(size.group(2)))) == (595, 842)
    assert "Pages:           1" in info


@pytest.mark.certificates
@pytest.mark.django_db
def test_verify_shows_the_public_fields_only(food_case, food_licence):
    html = Client().get(f"/verify/{food_licence.number}/").content.decode()
    for expected in (
        food_licence.number,
        food_case.data["credit_code"],
        "北京味道餐饮管理有限公司",
        "餐饮服务经营者",
        "热食类食品制售",
        "北京市朝阳区朝阳门外大街18号1层101",
        "2031年03月02日",
        "北京市朝阳区市场监督管理局",
    ):
        assert expected in html, expected
    for absent in (food_case.data["legal_rep_id_number"], food_case.data["contact_phone"]):
        assert absent not in html
    facts = dict(food_licence.facts)
    assert facts["许可证编号"] == food_licence.number
    assert facts["主体业态"] == "餐饮服务经营者"
    assert facts["有效期至"] == "2031年03月02日"
    assert "食品安全管理人员" not in facts


@pytest.mark.django_db
def test_numbers_of_one_authority_follow_its_sequence(db):
    from django.db import transaction

    from govflow.certificates.numbering import certificate_number

    with transaction.atomic():
        first = certificate_number(
            cert_type="food_business_licence",
            department_code="market_regulation",
            year=2026,
            data={"business_format": "food_sales", "region_code": "110108"},
        )
        second = certificate_number(
            cert_type="food_business_licence",
            department_code="market_regulation",
            year=2027,
            data={"business_format": "canteen", "region_code": "110108"},
        )
    assert first[:9] == "JY1110108"
    assert second[:9] == "JY3110108"
    assert int(second[9:15]) == int(first[9:15]) + 1  # one sequence per authority, no yearly reset
    assert food_licence_number_valid(first)
    assert food_licence_number_valid(second)


def iso7064_mod11_10_checks(digits: str) -> bool:
    """The standard's verification, written out apart from the code: run the
    recursion over every digit, the check digit included; the last sum
    (mod 10, 0 read as 10) must be 1."""
    product = 10
    total = 0
    for digit in digits:
        total = (product + int(digit)) % 10 or 10
        product = (2 * total) % 11
    return total == 1


@given(body=st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_the_check_digit_passes_the_iso_7064_mod_11_10_verification(body):
    digit = mod11_10_check_digit(body)
    assert iso7064_mod11_10_checks(body + digit)
    assert [d for d in "0123456789" if iso7064_mod11_10_checks(body + d)] == [digit]


@given(
    body=st.text(alphabet="0123456789", min_size=13, max_size=13),
    position=st.integers(min_value=0, max_value=13),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_detected(body, position, shift):
    digits = body + mod11_10_check_digit(body)
    assert mod11_10_valid(digits)
    changed = digits[:position] + str((int(digits[position]) + shift) % 10) + digits[position + 1 :]
    assert not mod11_10_valid(changed)


def food_check(**data):
    from datetime import date

    from govflow.processes.handlers import HandlerContext, food_licence_check

    base = {
        "region_code": "110105",
        "premises": "北京市朝阳区朝阳门外大街18号1层101",
        "business_format": "catering",
        "business_items": ["hot_food"],
    }
    return food_licence_check(HandlerContext(None, {**base, **data}, date(2026, 3, 3)))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, None),
        ({"business_format": "food_sales", "business_items": ["bulk_sales", "health_food"]}, None),
        ({"premises": "北京市海淀区中关村大街1号"}, "premises: not in 北京市朝阳区"),
        ({"business_items": ["prepackaged_sales"]}, "needs a filing (备案), not a licence"),
        ({"business_format": "food_sales", "business_items": ["bulk_sales", "hot_food"]}, "hot_food"),
        ({"region_code": "999999"}, "unknown region code"),
    ],
)
def test_the_check_before_acceptance(data, problem):
    result = food_check(**data)
    assert result["valid"] is (problem is None)
    if problem:
        assert any(problem in line for line in result["problems"]), result["problems"]


@pytest.mark.django_db
def test_premises_outside_the_district_go_back_to_the_applicant_before_acceptance(users, now):
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", now, premises="北京市海淀区中关村大街1号"),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    assert open_task(case, "fix_application").exists()
    assert not open_task(case, "accept").exists()


@pytest.mark.django_db
def test_a_failed_inspection_refuses_the_licence(keys, users, now):
    applicant, reviewer = users["applicant"], users["market_regulation_reviewer"]
    case = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", now),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    accept = open_task(case, "accept", TaskKind.ACCEPTANCE).get()
    claim_and_complete(task_id=accept.pk, actor=reviewer, outcome="accept", opinion="予以受理。", now=now)
    review = open_task(case, "review").get()
    claim_and_complete(task_id=review.pk, actor=reviewer, outcome="approve", opinion="材料齐全。", now=now)
    first = open_task(case, "inspection").first()
    claim_and_complete(
        task_id=first.pk,
        actor=reviewer,
        outcome="reject",
        opinion="现场未设置专间，与申请材料不符。",
        now=now,
    )
    outbox_drain()
    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED
    assert not open_task(case, "inspection").exists()  # the other inspector's task is cancelled
    assert not Certificate.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_the_head_may_extend_the_decision_by_five_working_days_once(keys, users, now):
    from datetime import UTC, datetime

    from govflow.cases.services import task_claim
    from govflow.collab.extensions import extension_approve, extension_request
    from govflow.errors import Conflict

    case = run_food_case(users, now, decide=False)
    reviewer, head = users["market_regulation_reviewer"], users["market_regulation_head"]
    decision = open_task(case, "decision").get()
    task_claim(task_id=decision.pk, actor=reviewer, now=now)
    decision.refresh_from_db()
    # Tuesday 3 March + 2 working days: Thursday 5 March, 17:00 in Beijing
    assert decision.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    request = extension_request(task_id=decision.pk, actor=reviewer, reason="需补充核实经营场所布局", now=now)
    extension_approve(extension_id=request.pk, actor=head, now=now)
    decision.refresh_from_db()
    # + 5 working days: Thursday 12 March, 17:00
    assert decision.due_at == datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    with pytest.raises(Conflict):
        extension_request(task_id=decision.pk, actor=reviewer, reason="再次延长", now=now)
