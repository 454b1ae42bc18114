"""An application from draft to decision over the API only: the same
services and selectors as the web, seen through JSON."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.outbox.services import outbox_drain

from .conftest import PDF_BYTES, api_client, assert_error, example, live_task

pytestmark = pytest.mark.django_db


def _pdf(name="材料.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def test_services_list_their_forms_and_versions(base_data):
    client = api_client(language="en")

    listed = client.get("/api/v1/services/")
    detail = client.get("/api/v1/services/business_setup/")
    versions = client.get("/api/v1/services/business_setup/versions/")

    assert listed.status_code == 200
    codes = [row["code"] for row in listed.json()["results"]]
    assert codes == [
        "business_setup",
        "construction_permit",
        "food_business_licence",
    ]
    form = detail.json()["form"]
    field = next(f for f in form["fields"] if f["id"] == "legal_rep_id_number")
    assert field["type"] == "cn_id_number"
    assert field["sensitivity"] == "secret"
    table = next(f for f in form["fields"] if f["id"] == "shareholders")
    assert [c["id"] for c in table["columns"]][:2] == ["name", "id_number"]
    assert {a["id"] for a in form["attachments"]} == {"articles_of_association", "address_proof", "id_copies"}
    assert detail.json()["title"] == "Business setup"
    number = versions.json()["results"][0]["number"]
    assert versions.json()["results"][0]["is_current"] is True
    version = client.get(f"/api/v1/services/business_setup/versions/{number}/").json()
    assert version["form"] == form
    assert client.get("/api/v1/services/business_setup/form/").json() == form


def test_an_applicant_drafts_uploads_and_submits(applicant):
    client = api_client(applicant)
    data = example("business_setup", company_name="北京接口科技有限公司")

    created = client.post(
        "/api/v1/cases/",
        {"service": "business_setup", "data": {"company_name": "北京接口科技有限公司"}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    case = created.json()
    reference = case["reference"]
    assert created["Location"].endswith(f"/api/v1/cases/{reference}/")
    assert case["status"] == "draft"
    assert case["role"] == "owner"
    assert "legal_rep_id_number" in case["problems"]
    assert "articles_of_association" in case["problems"]

    saved = client.patch(
        f"/api/v1/cases/{reference}/", {"data": data, "row_version": case["row_version"]}, format="json"
    )
    assert saved.status_code == 200, saved.json()
    assert saved.json()["data"]["legal_rep_id_number"] == data["legal_rep_id_number"]

    not_yet = client.post(f"/api/v1/cases/{reference}/submit/")
    error = assert_error(not_yet, 400, "form_invalid")
    assert set(error["fields"]) == {"articles_of_association", "address_proof", "id_copies"}

    for slot in ("articles_of_association", "address_proof", "id_copies"):
        uploaded = client.post(
            f"/api/v1/cases/{reference}/attachments/", {"slot": slot, "file": _pdf()}, format="multipart"
        )
        assert uploaded.status_code == 201, uploaded.json()
    assert client.get(f"/api/v1/cases/{reference}/").json()["problems"] == {}

    submitted = client.post(f"/api/v1/cases/{reference}/submit/")

    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"  # market regulation accepts it next (受理)
    assert submitted.json()["accepted_at"] is None
    assert submitted.json()["data"] is None
    assert submitted.json()["problems"] is None
    assert Case.objects.get(reference=reference).status == CaseStatus.SUBMITTED
    listed = client.get("/api/v1/cases/?status=open").json()["results"]
    assert [row["reference"] for row in listed] == [reference]
    assert client.get("/api/v1/cases/?status=draft").json()["results"] == []
    again = client.post(f"/api/v1/cases/{reference}/submit/")
    assert_error(again, 409, "conflict")


def test_a_reviewer_claims_and_decides_with_an_opinion(market_reviewer, business_case):
    client = api_client(market_reviewer)
    task = live_task(business_case, "registration")

    inbox = client.get("/api/v1/tasks/").json()["results"]
    assert task.pk in [row["id"] for row in inbox]
    detail = client.get(f"/api/v1/tasks/{task.pk}/").json()
    assert detail["outcomes"]
    assert "approve" in detail["outcomes"]
    assert detail["case"]["reference"] == business_case.reference

    claimed = client.post(f"/api/v1/tasks/{task.pk}/claim/")
    assert claimed.status_code == 200
    assert claimed.json()["status"] == "claimed"
    assert claimed.json()["is_mine"] is True
    mine = client.get("/api/v1/tasks/?status=mine").json()["results"]
    assert [row["id"] for row in mine] == [task.pk]

    no_opinion = client.post(f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "reject"}, format="json")
    assert_error(no_opinion, 400, "invalid")
    decided = client.post(
        f"/api/v1/tasks/{task.pk}/decide/",
        {"outcome": "approve", "opinion": "材料齐全，同意。"},
        format="json",
    )

    assert decided.status_code == 200, decided.json()
    answer = decided.json()
    # The decision, not the whole task (its detail is one GET away at `url`).
    assert set(answer) == {"id", "status", "outcome", "opinion", "completed_at", "case", "url"}
    assert (answer["id"], answer["status"], answer["outcome"]) == (task.pk, "completed", "approve")
    assert answer["opinion"] == "材料齐全，同意。"
    assert answer["completed_at"]
    assert answer["case"]["reference"] == business_case.reference
    assert answer["case"]["status"] == Case.objects.get(pk=business_case.pk).status
    assert answer["url"].endswith(f"/api/v1/tasks/{task.pk}/")
    assert client.get(answer["url"]).json()["outcome"] == "approve"
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert task.opinion == "材料齐全，同意。"
    outbox_drain()
    timeline = client.get(f"/api/v1/cases/{business_case.reference}/timeline/").json()["results"]
    kinds = [entry["kind"] for entry in timeline]
    assert "TASK_CLAIMED" in kinds
    assert "TASK_COMPLETED" in kinds
    completed = next(
        e for e in timeline if e["kind"] == "TASK_COMPLETED" and e["node_title"] != "登记申请受理"
    )
    assert completed["opinion"] == "材料齐全，同意。"
    assert completed["actor"]  # staff see who decided
    applicant_view = api_client(business_case.applicant).get(
        f"/api/v1/cases/{business_case.reference}/timeline/"
    )
    applicant_kinds = [entry["kind"] for entry in applicant_view.json()["results"]]
    assert "TASK_CLAIMED" not in applicant_kinds
    assert all(e["actor"] in ("", "applicant") for e in applicant_view.json()["results"])
    decided_again = client.post(
        f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"}, format="json"
    )
    assert_error(decided_again, 409, "conflict")
    decided = AuditEvent.objects.filter(case=business_case, action="TASK_COMPLETED", object_id=task.engine_id)
    assert decided.count() == 1
    assert Task.objects.filter(case=business_case, node_id="registration").count() == 1


def test_a_return_for_correction_is_answered_over_the_api(applicant, market_reviewer, business_case):
    task = live_task(business_case, "registration")
    reviewer = api_client(market_reviewer)
    reviewer.post(f"/api/v1/tasks/{task.pk}/claim/")
    returned = reviewer.post(
        f"/api/v1/tasks/{task.pk}/decide/",
        {"outcome": "return", "opinion": "请补正经营范围。"},
        format="json",
    )
    assert returned.status_code == 200, returned.json()
    client = api_client(applicant)
    case = client.get(f"/api/v1/cases/{business_case.reference}/").json()
    assert case["status"] == "awaiting_correction"
    assert case["can_correct"] is True
    assert case["correction"]["opinion"] == "请补正经营范围。"
    assert case["data"]["company_name"] == "北京测试科技有限公司"

    bad = client.post(
        f"/api/v1/cases/{business_case.reference}/correction/",
        {"data": {"legal_rep_id_number": "110105194912310021"}},
        format="json",
    )
    error = assert_error(bad, 400, "form_invalid")
    assert "legal_rep_id_number" in error["fields"]
    answered = client.post(
        f"/api/v1/cases/{business_case.reference}/correction/",
        {"data": {"business_scope": "软件开发；技术服务。"}},
        format="json",
    )

    assert answered.status_code == 200, answered.json()
    assert answered.json()["status"] == "in_review"
    assert Case.objects.get(pk=business_case.pk).data["business_scope"] == "软件开发；技术服务。"


def test_an_applicant_withdraws(applicant, business_case):
    client = api_client(applicant)

    withdrawn = client.post(
        f"/api/v1/cases/{business_case.reference}/withdraw/", {"reason": "不办了"}, format="json"
    )

    assert withdrawn.status_code == 200, withdrawn.json()
    assert withdrawn.json()["status"] == "withdrawn"
    assert_error(
        client.post(f"/api/v1/cases/{business_case.reference}/withdraw/", {}, format="json"), 409, "conflict"
    )


def test_reference_data_and_me(base_data, market_reviewer):
    client = api_client(market_reviewer)

    me = client.get("/api/v1/me/").json()
    departments = client.get("/api/v1/departments/?page_size=100").json()["results"]
    calendar = client.get("/api/v1/calendars/cn/").json()
    days = client.get("/api/v1/calendars/cn/days/?year=2026&kind=holiday").json()["results"]
    count = client.get("/api/v1/calendars/cn/working-days/?start=2026-09-30&end=2026-10-09").json()

    assert me["username"] == "market_regulation_reviewer"
    assert me["is_reviewer"] is True
    assert [d["code"] for d in me["departments"]] == ["market_regulation"]
    assert "market_regulation" in [d["code"] for d in departments]
    assert 2026 in [y["year"] for y in calendar["years"]]
    assert days
    assert all(d["kind"] == "holiday" and d["date"].startswith("2026-") for d in days)
    assert count["working_days"] < 7  # the National Day week has no working days
    missing = client.get("/api/v1/calendars/cn/working-days/?start=2026-01-05&end=2099-01-05")
    assert_error(missing, 404, "not_found")
