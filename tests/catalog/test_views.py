"""The catalogue on the web: the catalogue page, the application form's
lookup and verified facts, the reviewer's panel on the case page, data
requests decided by the owner's head, and the dashboard's sharing rate."""

import pytest
from django.test import Client

from govflow.catalog.models import ClaimStatus, DataRequest, FactClaim

from .conftest import LEGAL_REP_ID, construction_draft, credit_code_of, submit

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_catalogue_page_shows_metadata_counts_and_freshness(applicant, company):
    page = _client(applicant).get("/catalog/").content.decode()

    assert "数据目录" in page
    assert "企业登记信息库" in page
    assert "市场监督管理" in page
    row = page.split("/catalog/company_register/")[1].split("</tr>")[0]
    assert '<td data-label="记录" class="num">1</td>' in row
    assert "实时更新" in page
    detail = _client(applicant).get("/catalog/company_register/").content.decode()
    assert "法定代表人身份证号码" in detail
    assert "政务部门依法履职共享使用" in detail
    assert "/catalog/company_register/records/" not in detail  # applicants browse no records


def test_an_applicant_reuses_verified_facts_that_then_stay_locked(users, applicant, company):
    code = credit_code_of(company)
    draft = construction_draft(applicant)
    client = _client(applicant)

    form = client.get(f"/cases/{draft.reference}/edit/").content.decode()
    assert 'id="catalog-lookup"' in form
    offer = client.get(
        f"/catalog/lookup/{draft.reference}/",
        {"dataset": "company_register", "key": code},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "北京数据共享科技有限公司" in offer
    assert "1101**********002X" in offer
    assert LEGAL_REP_ID not in offer

    response = client.post(
        f"/catalog/prefill/{draft.reference}/", {"dataset": "company_register", "key": code}
    )

    assert response.status_code == 302
    form = client.get(f"/cases/{draft.reference}/edit/").content.decode()
    assert 'class="field verified-fact"' in form
    assert f'name="builder_legal_rep_id" value="{LEGAL_REP_ID}"' in form
    assert '<input id="builder_name"' not in form  # shown as a verified fact, not an input
    claims = FactClaim.objects.filter(case=draft)
    assert {c.field_id for c in claims} == {"builder_name", "builder_legal_rep_id"}


def test_a_bad_code_is_a_message_not_an_error_page(applicant, company):
    draft = construction_draft(applicant)
    client = _client(applicant)

    looked = client.get(f"/catalog/lookup/{draft.reference}/", {"dataset": "company_register", "key": "123"})
    posted = client.post(
        f"/catalog/prefill/{draft.reference}/", {"dataset": "company_register", "key": "123"}
    )
    other = client.get("/catalog/lookup/GF00000000XXXXXX/", {"dataset": "company_register", "key": "1"})

    assert looked.status_code == 200
    assert "统一社会信用代码" in looked.content.decode()
    assert posted.status_code == 302
    assert not FactClaim.objects.filter(case=draft).exists()
    assert other.status_code == 404


def test_the_reviewer_sees_provenance_and_the_cross_check(users, applicant, company):
    draft = construction_draft(applicant)
    _client(applicant).post(
        f"/catalog/prefill/{draft.reference}/",
        {"dataset": "company_register", "key": credit_code_of(company)},
    )
    submit(draft, applicant)
    assert set(FactClaim.objects.filter(case=draft).values_list("status", flat=True)) == {
        ClaimStatus.VERIFIED
    }

    page = _client(users["natural_resources_reviewer"]).get(f"/cases/{draft.reference}/").content.decode()
    mine = _client(applicant).get(f"/cases/{draft.reference}/").content.decode()

    assert 'id="catalog-panel"' in page
    assert 'id="catalog-provenance"' in page
    assert company.reference in page
    assert 'id="catalog-check-company_register"' in page
    assert "1101**********002X" in page
    assert 'id="catalog-provenance"' in mine
    assert 'id="catalog-check-company_register"' not in mine


def test_the_owners_head_decides_requests_on_the_web(users, company):
    asker = _client(users["natural_resources_reviewer"])
    refused = asker.post(
        "/catalog/company_register/request/",
        {"department": "natural_resources", "fields": ["legal_rep_id_number"], "purpose": "短", "days": "30"},
    )
    assert refused.status_code == 400
    assert DataRequest.objects.count() == 0
    asker.post(
        "/catalog/company_register/request/",
        {
            "department": "natural_resources",
            "fields": ["legal_rep_id_number"],
            "purpose": "核验建设单位法定代表人身份",
            "days": "30",
        },
    )
    request = DataRequest.objects.get()
    head = _client(users["market_regulation_head"])
    board = head.get("/catalog/requests/").content.decode()
    assert "核验建设单位法定代表人身份" in board

    head.post(f"/catalog/requests/{request.pk}/decide/", {"decision": "refuse", "note": ""})
    assert DataRequest.objects.get().status == "pending"  # a refusal needs a reason
    head.post(f"/catalog/requests/{request.pk}/decide/", {"decision": "approve"})

    assert DataRequest.objects.get().status == "approved"
    records = asker.get("/catalog/company_register/records/").content.decode()
    assert LEGAL_REP_ID in records


def test_the_dashboard_shows_the_sharing_rate(users, applicant, company):
    draft = construction_draft(applicant)
    _client(applicant).post(
        f"/catalog/prefill/{draft.reference}/",
        {"dataset": "company_register", "key": credit_code_of(company)},
    )
    submit(draft, applicant)

    page = _client(users["leader"]).get("/insight/").content.decode()

    assert 'id="sharing-rate"' in page
    assert "数据目录" in page.split('id="sharing-rate"')[1][:200]
