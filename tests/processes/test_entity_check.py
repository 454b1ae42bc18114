"""Business setup for real entities: shareholders who are mainland residents,
foreigners (passport and country) or companies (credit code, GB 32100), the
capital rules of each entity type (Company Law 2023 arts 47 and 98), and the
address inside the registration district."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from govflow.engine import load_definition_file
from govflow.engine.forms import validate_form_data
from govflow.engine.identifiers import make_uscc
from govflow.processes.handlers import HandlerContext, entity_check, id_numbers_check

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 3)
COMPANY_CODE = make_uscc("91110105MA01QH7X1")

PERSON = {
    "name": "张伟",
    "holder_type": "person",
    "id_number": "11010519491231002X",
    "subscribed_amount": "60.00",
    "contribution_form": "cash",
    "due_date": "2029-03-03",
}
FOREIGNER = {
    "name": "John Smith",
    "holder_type": "foreign_person",
    "passport_number": "E12345678",
    "country": "英国",
    "subscribed_amount": "20.00",
    "contribution_form": "cash",
    "due_date": "2029-03-03",
}
COMPANY = {
    "name": "北京禾田投资管理有限公司",
    "holder_type": "company",
    "credit_code": COMPANY_CODE,
    "subscribed_amount": "20.00",
    "contribution_form": "cash",
    "due_date": "2029-03-03",
}


def data(**overrides):
    return {
        "entity_type": "llc",
        "registered_capital": "100.00",
        "region_code": "110105",
        "address": "北京市朝阳区建国路88号",
        "shareholders": [PERSON, FOREIGNER, COMPANY],
        **overrides,
    }


def check(**overrides):
    return entity_check(HandlerContext(case_id=1, data=data(**overrides), today=TODAY))


def test_a_person_a_foreigner_and_a_company_may_all_be_shareholders():
    assert check() == {"valid": True, "problems": []}
    # The ID-number check leaves the rows without an ID number alone.
    assert id_numbers_check(HandlerContext(case_id=1, data=data(), today=TODAY))["valid"] is True


def test_the_form_takes_foreign_and_company_shareholders():
    form = load_definition_file(ROOT / "workflows" / "business_setup.yaml").form
    rows = [PERSON, FOREIGNER, COMPANY]
    result = validate_form_data(form, {"shareholders": rows}, today=TODAY, partial=True)
    assert [e for e in result.errors if e.path.startswith("shareholders")] == []
    bad = dict(COMPANY, credit_code=COMPANY_CODE[:-1] + ("0" if COMPANY_CODE[-1] != "0" else "1"))
    result = validate_form_data(form, {"shareholders": [bad]}, today=TODAY, partial=True)
    assert [(e.path, e.code) for e in result.errors] == [("shareholders[0].credit_code", "checksum")]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (dict(PERSON, id_number=None), "shareholders[0].id_number: required"),
        (dict(PERSON, id_number="110105194912310021"), "shareholders[0].id_number: not a valid"),
        (dict(FOREIGNER, passport_number=None), "shareholders[0].passport_number: required"),
        (dict(FOREIGNER, country=""), "shareholders[0].country: required"),
        (dict(COMPANY, credit_code=None), "shareholders[0].credit_code: required"),
        (dict(COMPANY, credit_code="91110105MA01QH7X10"), "shareholders[0].credit_code: not a valid"),
    ],
)
def test_each_shareholder_needs_the_identifier_of_its_kind(row, expected):
    result = check(shareholders=[dict(row, subscribed_amount="100.00")])
    assert result["valid"] is False
    assert any(p.startswith(expected) for p in result["problems"]), result["problems"]


def test_an_llc_pays_within_five_years_of_incorporation():
    assert check(shareholders=[dict(PERSON, subscribed_amount="100.00", due_date="2031-03-03")])["valid"]
    late = check(shareholders=[dict(PERSON, subscribed_amount="100.00", due_date="2031-03-04")])
    assert late["problems"] == [
        "shareholders[0].due_date: 2031-03-04 is more than five years after incorporation "
        "(Company Law art 47)"
    ]


def test_a_joint_stock_company_is_paid_in_full_before_incorporation():
    promoters = [dict(PERSON, subscribed_amount="100.00", due_date="2026-03-03")]
    assert check(entity_type="joint_stock", shareholders=promoters)["valid"]
    later = [dict(PERSON, subscribed_amount="100.00", due_date="2027-03-03")]
    result = check(entity_type="joint_stock", shareholders=later)
    assert result["valid"] is False
    assert "art 98" in result["problems"][0]


def test_the_subscribed_total_is_the_registered_capital():
    result = check(registered_capital="120.00")
    assert result["problems"] == [
        "registered_capital: 120.00 differs from the shareholders' subscribed total 100.00"
    ]


def test_a_sole_proprietorship_has_one_natural_person_and_a_partnership_two_partners():
    alone = [dict(PERSON, subscribed_amount="100.00")]
    assert check(entity_type="sole_proprietorship", shareholders=alone)["valid"]
    owned = [dict(COMPANY, subscribed_amount="100.00")]
    assert not check(entity_type="sole_proprietorship", shareholders=owned)["valid"]
    assert not check(entity_type="partnership", shareholders=alone)["valid"]
    assert check(entity_type="partnership")["valid"]


@pytest.mark.parametrize(
    ("region", "address", "valid"),
    [
        ("110105", "北京市朝阳区建国路88号", True),
        ("110105", "朝阳区建国路88号", True),
        ("110105", "北京市海淀区中关村大街1号", False),
        ("110105", "北京市海淀区朝阳路1号", False),
        ("320505", "江苏省苏州市虎丘区狮山路1号", True),
        ("320505", "苏州高新区狮山路1号", True),
        ("320505", "江苏省无锡市虎丘区1号", False),
        ("999999", "北京市朝阳区建国路88号", False),
    ],
)
def test_the_address_lies_in_the_registration_district(region, address, valid):
    result = check(region_code=region, address=address)
    assert result["valid"] is valid, result["problems"]
    if not valid:
        assert result["problems"][0].startswith(("address:", "region_code:"))
