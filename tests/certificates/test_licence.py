"""The 2019-format business licence as the bureau issues it: every printed
field, labels by entity type, the registering authority with its district,
landscape, no notes or English; the silent-consent note only on the silent
department's own certificate; /verify/ showing the public fields."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.test import Client

from govflow.cases.models import Task
from govflow.certificates.authorities import authority_name
from govflow.certificates.content import certificate_content, spec_for
from govflow.certificates.models import Certificate
from govflow.certificates.rendering import certificate_html
from govflow.processes.services import process_publish, version_definition
from govflow.regions import UnknownRegion

from .conftest import ARTIFACTS, REVIEW_YAML, decide, pdftotext, save_artifact, to_png

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]

# Latin text a Chinese licence may carry: its number, credit code and URLs.
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def licence_content(case, **data_overrides):
    """The licence's content for `case`, its data changed in memory only."""
    certificate = Certificate.objects.get(case=case, type="business_licence")
    case.data = {**case.data, **data_overrides}
    definition = version_definition(case.version)
    return certificate_content(
        case=case,
        definition=definition,
        spec=spec_for(definition, certificate.node_id, "business_licence"),
        node_id=certificate.node_id,
        number=certificate.number,
        department=certificate.department,
        issued_at=certificate.issued_at,
        verify_url="http://localhost:8000/verify/" + certificate.number + "/",
    )


def test_the_licence_prints_every_field_of_the_2019_format(business_case, licence, settings):
    # Given the licence of an approved LLC registered in 110105
    pdf = save_artifact(licence, "business_licence_2019")
    to_png(pdf, ARTIFACTS / "business_licence_2019")
    text = pdftotext(pdf)
    credit_code = business_case.state["results"]["assign_credit_code"]["credit_code"]
    # Then every field of the real licence is printed
    for expected in (
        "营业执照",
        "副本",
        "统一社会信用代码",
        credit_code,
        "名称北京远航物流有限公司",
        "类型有限责任公司",
        "法定代表人王小明",
        "经营范围一般项目：国内货物运输代理",
        "注册资本壹佰万元整",
        "成立日期2026年03月03日",
        "营业期限2026年03月03日至长期",
        "住所北京市朝阳区建国路88号",
        "登记机关",
        "北京市朝阳区市场监督管理局",
        "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn",
        "国家市场监督管理总局监制",
        "2026年03月03日",
    ):
        assert expected in text, expected
    # and nothing a real licence does not print: shareholders, notes, English
    for shareholder in business_case.data["shareholders"]:
        assert shareholder["name"] not in text.replace("王小明", "")
    for absent in ("股东", "出资人", "发布前", "请核对", "示例", "TODO", "视为准予", "PAdES"):
        assert absent not in text, absent
    rest = text
    verify_url = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/verify/{licence.number}/"
    for allowed in (verify_url, credit_code, licence.number, "http://www.gsxt.gov.cn"):
        rest = rest.replace(allowed, "")
    assert not ENGLISH.findall(rest), ENGLISH.findall(rest)


def test_business_setup_with_the_demo_data_is_approved_through_the_entity_check(business_case):
    from govflow.cases.models import CaseStatus

    assert business_case.status == CaseStatus.APPROVED
    assert business_case.state["results"]["check_entity"] == {"valid": True, "problems": []}
    kinds = [row.get("holder_type") for row in business_case.data["shareholders"]]
    assert kinds == ["person", "company"]


def test_the_licence_is_landscape_a4(licence):
    info = subprocess.run(
        ["pdfinfo", str(save_artifact(licence, "business_licence_2019"))],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size is not None, info
    width, height = float(size.group(1)), float(size.group(2))
    assert (round(width), round(height)) == (842, 595)
    assert "Pages:           1" in info


def test_the_seal_and_the_registering_authority_carry_the_district(business_case, licence):
    content = licence_content(business_case)
    html = certificate_html(content)
    assert content.department_name == "北京市朝阳区市场监督管理局"
    assert 'aria-label="北京市朝阳区市场监督管理局"' in html  # the seal's ring text
    assert licence.issuer_name == "北京市朝阳区市场监督管理局"
    # The seal filing is issued by the district's public-security branch.
    receipt = Certificate.objects.get(case=business_case, type="seal_filing")
    assert receipt.issuer_name == "北京市公安局朝阳分局"
    assert "北京市公安局朝阳分局" in pdftotext(save_artifact(receipt, "seal_filing"))


@pytest.mark.parametrize(
    ("entity_type", "representative", "capital", "address"),
    [
        ("llc", "法定代表人", "注册资本", "住所"),
        ("joint_stock", "法定代表人", "注册资本", "住所"),
        ("partnership", "执行事务合伙人", "出资额", "主要经营场所"),
        ("sole_proprietorship", "投资人", "出资额", "住所"),
    ],
)
def test_labels_follow_the_entity_type(business_case, entity_type, representative, capital, address):
    html = certificate_html(licence_content(business_case, entity_type=entity_type))
    assert f"<th>{representative}</th>" in html
    assert f"<th>{capital}</th>" in html
    assert f"<th>{address}</th>" in html


def test_a_fixed_term_ends_the_day_before_its_anniversary(business_case):
    content = licence_content(business_case, operating_years=30)
    assert content.extra["term_cn"] == "2026年03月03日 至 2056年03月02日"


def test_an_unknown_region_code_is_an_error_not_a_guess(business_case, licence):
    with pytest.raises(UnknownRegion) as caught:
        licence_content(business_case, region_code="999999")
    assert "999999" in caught.value.message
    assert "regions.yaml" in caught.value.message
    assert authority_name(licence.department, None) == "市场监督管理局"


def test_a_silent_housing_fund_never_prints_on_the_business_licence(business_case):
    # Given the housing fund's step deemed approved on timeout
    task = Task.objects.get(case=business_case, node_id="housing_fund")
    task.silent_consent = True
    task.legal_basis = "依据本地人民政府关于政务服务超期默认办理的规定"
    task.save(update_fields=["silent_consent", "legal_basis"])
    # Then market regulation's licence says nothing about it
    content = licence_content(business_case)
    assert content.silent_consents == []
    assert "视为准予" not in certificate_html(content)


def test_the_silent_department_alone_prints_its_silent_consent(keys, users, now):
    # Given a process where tax is silent and both market regulation and tax issue a certificate
    from datetime import timedelta

    from govflow.cases.automation import timers_fire_due
    from govflow.cases.services import case_create, case_submit
    from govflow.outbox.services import outbox_drain

    source = (
        REVIEW_YAML.read_text(encoding="utf-8")
        .replace("id: test_review", "id: test_review_silent")
        .replace(
            "    certificates:\n",
            "    certificates:\n"
            "      - {type: tax_receipt, department: tax, title: {zh: 税务登记回执, en: Tax receipt}}\n",
        )
    )
    process_publish(source=source)
    case = case_create(
        applicant=users["applicant"],
        template_code="test_review_silent",
        data={"company_name": "北京晨光科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"},
        now=now,
    )
    case_submit(case_id=case.pk, actor=users["applicant"], now=now)
    decide(case, "intake", users["market_regulation_reviewer"], now)
    decide(case, "fire", users["fire_reviewer"], now)
    timers_fire_due(now=now + timedelta(days=7))
    outbox_drain()
    # Then the tax receipt prints the note with its legal basis, the licence does not
    licence = Certificate.objects.get(case=case, type="test_licence")
    receipt = Certificate.objects.get(case=case, type="tax_receipt")
    receipt_text = pdftotext(save_artifact(receipt, "tax_receipt_silent"))
    assert "视为准予" in receipt_text
    assert "测试地方规定第5条" in receipt_text
    assert "视为准予" not in pdftotext(save_artifact(licence, "test_licence_not_silent"))


def test_verify_shows_the_public_fields_with_the_credit_code(business_case, licence):
    credit_code = business_case.state["results"]["assign_credit_code"]["credit_code"]
    html = Client().get(f"/verify/{licence.number}/").content.decode()
    for expected in (
        credit_code,
        "统一社会信用代码",
        "北京市朝阳区市场监督管理局",
        "法定代表人",
        "王小明",
        "壹佰万元整",
        "营业期限",
        "北京市朝阳区建国路88号",
    ):
        assert expected in html, expected
    assert business_case.data["legal_rep_id_number"] not in html
    facts = dict(licence.facts)
    assert facts["统一社会信用代码"] == credit_code
    assert facts["登记机关"] == "北京市朝阳区市场监督管理局"
    assert "股东" not in "".join(facts)
