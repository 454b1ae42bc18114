"""Field masking over the API is the web's: secret fields masked unless the
reader's department is cleared, raw data only to the applicant while the
case is with them, and every unmasked read audited."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases import selectors

from .conftest import api_client, example

pytestmark = pytest.mark.django_db


def _fields(body):
    return {f["id"]: f for f in body["fields"]}


def test_a_reviewer_sees_cleared_secrets_and_masks_the_rest(market_reviewer, business_case):
    data = business_case.data
    before = AuditEvent.objects.filter(case=business_case, action="SECRET_FIELD_READ").count()

    body = api_client(market_reviewer).get(f"/api/v1/cases/{business_case.reference}/").json()

    fields = _fields(body)
    assert body["role"] == "reviewer"
    assert body["data"] is None
    assert body["problems"] is None
    assert fields["legal_rep_id_number"]["text"] == data["legal_rep_id_number"]
    assert fields["legal_rep_id_number"]["masked"] is False
    holder_ids = [row[1] for row in fields["shareholders"]["rows"]]
    assert holder_ids
    assert all(cell["masked"] for cell in holder_ids)
    for cell, row in zip(holder_ids, data["shareholders"], strict=True):
        assert cell["text"] != row["id_number"]
        assert "*" in cell["text"]
        assert row["id_number"] not in str(body)
    read = AuditEvent.objects.filter(case=business_case, action="SECRET_FIELD_READ").order_by("-id")
    assert read.count() == before + 1
    assert "legal_rep_id_number" in read.first().data["fields"]


def test_the_api_shows_exactly_what_the_web_shows(market_reviewer, applicant, business_case):
    for user in (market_reviewer, applicant):
        web = selectors.case_detail(user=user, reference=business_case.reference)
        api = api_client(user).get(f"/api/v1/cases/{business_case.reference}/").json()

        assert [(f["id"], f["text"], f["masked"]) for f in api["fields"]] == [
            (v.id, v.text, v.masked) for v in web.disclosure.fields
        ]


def test_the_applicant_sees_secrets_masked_once_submitted_and_raw_in_a_draft(applicant, business_case):
    client = api_client(applicant)
    submitted = client.get(f"/api/v1/cases/{business_case.reference}/").json()
    draft = client.post(
        "/api/v1/cases/",
        {
            "service": "business_setup",
            "data": {"legal_rep_id_number": example("business_setup")["legal_rep_id_number"]},
        },
        format="json",
    ).json()

    assert submitted["data"] is None
    assert _fields(submitted)["legal_rep_id_number"]["masked"] is True
    assert business_case.data["legal_rep_id_number"] not in str(submitted)
    assert draft["data"]["legal_rep_id_number"] == example("business_setup")["legal_rep_id_number"]


def test_a_department_without_clearance_sees_every_secret_masked(base_data, business_case):
    from govflow.cases.models import Task

    from .conftest import live_task

    market = api_client(base_data["market_regulation_reviewer"])
    task = live_task(business_case, "registration")
    market.post(f"/api/v1/tasks/{task.pk}/claim/")
    market.post(f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"}, format="json")
    from govflow.outbox.services import outbox_drain

    outbox_drain()
    assert Task.objects.filter(case=business_case, department__code="human_resources").exists()

    body = (
        api_client(base_data["human_resources_reviewer"])
        .get(f"/api/v1/cases/{business_case.reference}/")
        .json()
    )

    fields = _fields(body)
    assert fields["legal_rep_id_number"]["masked"] is True
    assert fields["legal_rep_phone"]["masked"] is True
    for secret in (business_case.data["legal_rep_id_number"], business_case.data["legal_rep_phone"]):
        assert secret not in str(body)
