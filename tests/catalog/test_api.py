"""/api/v1/catalog/: metadata for everyone signed in, records for cleared
departments with the web's masking and audit, no cross-department leaks,
bad input answered in the API's one error shape, and no write path to
records."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.catalog.models import DataRequest, Record
from govflow.engine.identifiers import make_uscc
from tests.api.conftest import api_client, assert_error

from .conftest import LEGAL_REP_ID, construction_draft, credit_code_of

pytestmark = pytest.mark.django_db


def test_the_catalogue_lists_datasets_with_metadata_counts_and_freshness(applicant, company):
    body = api_client(applicant).get("/api/v1/catalog/").json()

    by_code = {d["code"]: d for d in body}
    register = by_code["company_register"]
    assert set(by_code) == {"company_register", "project_register", "permits_issued"}
    assert register["owner"] == "market_regulation"
    assert register["process"] == "business_setup"
    assert register["record_count"] == 1
    assert register["last_updated"] is not None
    assert register["licence"]["zh"]
    assert register["update_rule"]["en"]
    fields = {f["id"]: f for f in register["fields"]}
    assert fields["legal_rep_id_number"]["sensitivity"] == "secret"
    assert fields["legal_rep_id_number"]["shared_with"] == ["tax", "public_security", "bank"]


def test_records_are_masked_by_clearance_and_every_read_is_audited(base_data, company):
    code = credit_code_of(company)
    url = f"/api/v1/catalog/datasets/company_register/records/{code}/"

    tax = api_client(base_data["tax_reviewer"]).get(url).json()
    housing = api_client(base_data["housing_construction_reviewer"]).get(url).json()

    assert tax["fields"]["legal_rep_id_number"] == {
        "value": LEGAL_REP_ID,
        "masked": False,
        "sensitivity": "secret",
        "grant": None,
    }
    assert housing["fields"]["legal_rep_id_number"]["value"] == "1101**********002X"
    assert housing["fields"]["legal_rep_id_number"]["masked"] is True
    assert housing["fields"]["legal_rep_phone"]["value"] == "138****8000"
    assert housing["fields"]["company_name"]["value"] == "北京数据共享科技有限公司"
    assert housing["versions"] == [
        {"number": 1, "case": company.reference, "published_at": housing["versions"][0]["published_at"]}
    ]
    reads = AuditEvent.objects.filter(action="CATALOG_RECORDS_READ").order_by("id")
    assert [(r.actor_id, r.data["unmasked"]) for r in reads] == [
        (base_data["tax_reviewer"].pk, ["legal_rep_id_number", "legal_rep_phone", "source_case"]),
        (base_data["housing_construction_reviewer"].pk, ["source_case"]),
    ]


def test_applicants_read_no_records_and_outsiders_see_no_requests(base_data, applicant, company):
    code = credit_code_of(company)
    client = api_client(applicant)

    assert_error(client.get("/api/v1/catalog/datasets/company_register/records/"), 404, "not_found")
    assert_error(client.get(f"/api/v1/catalog/datasets/company_register/records/{code}/"), 404, "not_found")
    assert_error(api_client().get("/api/v1/catalog/"), 401, "not_authenticated")

    asked = api_client(base_data["fire_reviewer"]).post(
        "/api/v1/catalog/requests/",
        {
            "dataset": "company_register",
            "department": "fire",
            "fields": ["legal_rep_phone"],
            "purpose": "消防验收联系建设单位法定代表人",
            "days": 10,
        },
        format="json",
    )
    assert asked.status_code == 201, asked.content
    request_id = asked.json()["id"]

    # the requester's colleagues and the owner see it; another department does not
    assert [r["id"] for r in api_client(base_data["fire_head"]).get("/api/v1/catalog/requests/").json()] == [
        request_id
    ]
    assert [
        r["id"]
        for r in api_client(base_data["market_regulation_head"]).get("/api/v1/catalog/requests/").json()
    ] == [request_id]
    assert api_client(base_data["tax_reviewer"]).get("/api/v1/catalog/requests/").json() == []
    # nobody but the owner's head decides it; an outsider cannot even find it
    decide = f"/api/v1/catalog/requests/{request_id}/decide/"
    assert_error(
        api_client(base_data["tax_head"]).post(decide, {"decision": "approve"}, format="json"),
        404,
        "not_found",
    )
    assert_error(
        api_client(base_data["fire_head"]).post(decide, {"decision": "approve"}, format="json"),
        404,
        "not_found",
    )
    assert_error(
        api_client(base_data["market_regulation_reviewer"]).post(
            decide, {"decision": "approve"}, format="json"
        ),
        403,
        "forbidden",
    )
    assert DataRequest.objects.get(pk=request_id).status == "pending"


def test_a_grant_by_the_owners_head_unmasks_for_its_days_only(base_data, company):
    code = credit_code_of(company)
    fire = api_client(base_data["fire_reviewer"])
    url = f"/api/v1/catalog/datasets/company_register/records/{code}/"
    created = fire.post(
        "/api/v1/catalog/requests/",
        {
            "dataset": "company_register",
            "department": "fire",
            "fields": ["legal_rep_phone"],
            "purpose": "消防验收联系建设单位法定代表人",
            "days": 10,
        },
        format="json",
    ).json()

    decided = api_client(base_data["market_regulation_head"]).post(
        f"/api/v1/catalog/requests/{created['id']}/decide/",
        {"decision": "approve", "note": "同意"},
        format="json",
    )

    assert decided.status_code == 200
    assert decided.json()["status"] == "approved"
    shown = fire.get(url).json()["fields"]
    assert shown["legal_rep_phone"] == {
        "value": "13800138000",
        "masked": False,
        "sensitivity": "secret",
        "grant": created["id"],
    }
    assert shown["legal_rep_id_number"]["masked"] is True  # not asked for
    DataRequest.objects.filter(pk=created["id"]).update(valid_until=decided.json()["decided_at"])
    assert fire.get(url).json()["fields"]["legal_rep_phone"]["masked"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": [],
                "purpose": "消防验收联系法人代表",
                "days": 10,
            },
            "fields",
        ),
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": ["company_name"],
                "purpose": "消防验收联系法人代表",
                "days": 10,
            },
            "fields",
        ),
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": ["nonsense"],
                "purpose": "消防验收联系法人代表",
                "days": 10,
            },
            "fields",
        ),
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": ["legal_rep_phone"],
                "purpose": "短",
                "days": 10,
            },
            "purpose",
        ),
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": ["legal_rep_phone"],
                "purpose": "消防验收联系法人代表",
                "days": 0,
            },
            "days",
        ),
        (
            {
                "dataset": "company_register",
                "department": "fire",
                "fields": ["legal_rep_phone"],
                "purpose": "消防验收联系法人代表",
                "days": "x",
            },
            "days",
        ),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(base_data, company, body, field):
    response = api_client(base_data["fire_reviewer"]).post("/api/v1/catalog/requests/", body, format="json")

    error = assert_error(response, 400, "invalid")
    assert field in error["fields"]
    assert DataRequest.objects.count() == 0


def test_asking_for_another_department_or_an_unknown_dataset_fails(base_data, company):
    client = api_client(base_data["fire_reviewer"])
    body = {
        "dataset": "company_register",
        "department": "tax",
        "fields": ["legal_rep_phone"],
        "purpose": "消防验收联系法人代表",
        "days": 10,
    }

    assert_error(client.post("/api/v1/catalog/requests/", body, format="json"), 403, "forbidden")
    assert_error(
        client.post(
            "/api/v1/catalog/requests/", {**body, "dataset": "nope", "department": "fire"}, format="json"
        ),
        404,
        "not_found",
    )
    assert_error(client.get("/api/v1/catalog/datasets/nope/"), 404, "not_found")
    assert_error(client.get("/api/v1/catalog/datasets/company_register/records/?page=0"), 400, "invalid")


def test_there_is_no_write_path_to_records(base_data, company):
    code = credit_code_of(company)
    url = f"/api/v1/catalog/datasets/company_register/records/{code}/"
    owner = api_client(base_data["market_regulation_head"])

    for method in ("put", "patch", "delete", "post"):
        response = getattr(owner, method)(url, {"company_name": "改名"}, format="json")
        assert_error(response, 405, "method_not_allowed")
    assert Record.objects.get(key=code).data["company_name"] == "北京数据共享科技有限公司"


def test_an_applicant_fills_a_draft_over_the_api_idempotently(applicant, other_applicant, company):
    code = credit_code_of(company)
    draft = construction_draft(applicant)
    body = {"case": draft.reference, "dataset": "company_register", "key": code}
    headers = {"HTTP_IDEMPOTENCY_KEY": "prefill-1"}

    first = api_client(applicant).post("/api/v1/catalog/prefill/", body, format="json", **headers)
    again = api_client(applicant).post("/api/v1/catalog/prefill/", body, format="json", **headers)

    assert first.status_code == 200
    assert first.json()["filled"] == ["builder_name", "builder_legal_rep_id"]
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="CATALOG_FACTS_REUSED").count() == 1
    # another applicant's draft is not found; a bad code is a form error
    assert_error(
        api_client(other_applicant).post("/api/v1/catalog/prefill/", body, format="json"), 404, "not_found"
    )
    bad = api_client(applicant).post(
        "/api/v1/catalog/prefill/", {**body, "key": "91110000XXXX"}, format="json"
    )
    assert "builder_credit_code" in assert_error(bad, 400, "form_invalid")["fields"]
    unknown = api_client(applicant).post(
        "/api/v1/catalog/prefill/", {**body, "key": make_uscc("91110105MA0000001")}, format="json"
    )
    assert_error(unknown, 404, "no_record")
