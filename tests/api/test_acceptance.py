"""受理 and the one-time correction notice over the API and the web pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from govflow.cases.models import Case, CaseStatus
from govflow.cases.services import case_create, case_submit
from govflow.processes.services import process_publish
from tests.deciding import claim

from .conftest import api_client, assert_error, live_task

pytestmark = pytest.mark.procedure

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "acceptance.yaml"
NOTICE = [{"kind": "field", "id": "company_name", "reason": "名称含有禁用字词"}]


@pytest.fixture
def case(base_data, applicant):
    process_publish(source=TEMPLATE.read_text(encoding="utf-8"))
    draft = case_create(
        applicant=applicant,
        template_code="acceptance_demo",
        data={"company_name": "北京接口受理科技有限公司", "scope": "软件"},
    )
    return case_submit(case_id=draft.pk, actor=applicant)


def test_the_acceptance_task_is_decided_over_the_api(case, market_reviewer):
    client = api_client(market_reviewer)
    task = live_task(case, "accept")
    detail = client.get(f"/api/v1/tasks/{task.pk}/").json()
    assert detail["kind"] == "acceptance"
    assert detail["outcomes"] == ["accept", "notice", "refuse"]
    listed = client.get(f"/api/v1/cases/{case.reference}/").json()
    assert listed["status"] == "submitted"
    assert listed["accepted_at"] is None

    # 签收 first: deciding a task nobody holds is refused with the one error shape
    unclaimed = client.post(f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "accept"}, format="json")
    assert assert_error(unclaimed, 409, "not_claimed")["message"] in (
        "请先签收该任务，再作出决定。",
        "Claim the task (签收) before deciding it.",
    )
    assert client.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 200

    # a refusal without its legal basis, and a notice with nothing listed, are refused
    no_basis = client.post(
        f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "refuse", "opinion": "不属本机关职权"}, format="json"
    )
    assert "legal_basis" in assert_error(no_basis, 400, "invalid")["fields"]
    empty = client.post(f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "notice"}, format="json")
    assert_error(empty, 400, "notice_invalid")
    stray = client.post(
        f"/api/v1/tasks/{task.pk}/decide/",
        {"outcome": "notice", "notice": [{"kind": "field", "id": "company_name", "reason": "x", "x": 1}]},
        format="json",
    )
    assert stray.status_code == 400

    accepted = client.post(f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "accept"}, format="json")

    assert accepted.status_code == 200, accepted.json()
    body = client.get(f"/api/v1/cases/{case.reference}/").json()
    assert body["status"] == "in_review"
    assert body["accepted_at"] is not None


def test_a_notice_restricts_the_correction_over_the_api(case, applicant, market_reviewer):
    # Given a one-time notice listing the company name only
    task = live_task(case, "accept")
    claim(task.pk, market_reviewer)
    noticed = api_client(market_reviewer).post(
        f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "notice", "notice": NOTICE}, format="json"
    )
    assert noticed.status_code == 200, noticed.json()
    client = api_client(applicant)
    body = client.get(f"/api/v1/cases/{case.reference}/").json()
    assert body["status"] == "awaiting_correction"
    assert body["correction"]["notice"] == [
        {"kind": "field", "id": "company_name", "label": "名称", "reason": "名称含有禁用字词"}
    ]

    # When the applicant changes another field, it is refused and nothing changes
    outside = client.post(
        f"/api/v1/cases/{case.reference}/correction/", {"data": {"scope": "咨询"}}, format="json"
    )
    error = assert_error(outside, 400, "outside_notice")
    assert list(error["fields"]) == ["scope"]
    assert Case.objects.get(pk=case.pk).data["scope"] == "软件"

    # Then the listed field can be corrected, and the case goes back to acceptance
    answered = client.post(
        f"/api/v1/cases/{case.reference}/correction/",
        {"data": {"company_name": "北京接口更名科技有限公司"}},
        format="json",
    )
    assert answered.status_code == 200, answered.json()
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert case.title == "北京接口更名科技有限公司"


def test_the_reviewer_sees_what_changed_on_the_api_and_the_case_page(
    case, applicant, market_reviewer, client
):
    api = api_client(market_reviewer)
    claim(live_task(case, "accept").pk, market_reviewer)
    api.post(
        f"/api/v1/tasks/{live_task(case, 'accept').pk}/decide/",
        {"outcome": "notice", "notice": NOTICE},
        format="json",
    )
    api_client(applicant).post(
        f"/api/v1/cases/{case.reference}/correction/",
        {"data": {"company_name": "北京改后科技有限公司"}},
        format="json",
    )

    changes = api.get(f"/api/v1/cases/{case.reference}/").json()["changes"]
    assert changes == [
        {
            "field": "company_name",
            "label": "名称",
            "before": "北京接口受理科技有限公司",
            "after": "北京改后科技有限公司",
            "masked": False,
        }
    ]
    client.force_login(market_reviewer)
    page = client.get(reverse("web:case", kwargs={"reference": case.reference})).content.decode()
    assert 'id="changes"' in page
    assert "北京接口受理科技有限公司" in page
    assert api_client(applicant).get(f"/api/v1/cases/{case.reference}/").json()["changes"] == []


def test_the_web_correction_form_offers_only_what_the_notice_lists(case, applicant, market_reviewer, client):
    # Given a notice decided on the web form (the name field ticked, with its reason)
    client.force_login(market_reviewer)
    task = live_task(case, "accept")
    page = client.get(reverse("web:case", kwargs={"reference": case.reference})).content.decode()
    assert f'id="claim-first-{task.pk}"' in page  # 签收 first: the decision form opens once claimed
    assert 'name="legal_basis"' not in page
    client.post(reverse("web:task_claim", kwargs={"pk": task.pk}))
    page = client.get(reverse("web:case", kwargs={"reference": case.reference})).content.decode()
    assert 'name="legal_basis"' in page
    assert 'value="field:company_name"' in page
    decided = client.post(
        reverse("web:task_decide", kwargs={"pk": task.pk}),
        {
            "outcome": "notice",
            "notice_item": ["field:company_name"],
            "reason-field:company_name": "名称不规范",
        },
    )
    assert decided.status_code == 302
    client.logout()

    # When the applicant opens the correction form
    client.force_login(applicant)
    form = client.get(reverse("web:case_correct", kwargs={"reference": case.reference})).content.decode()

    # Then it shows the notice and offers the listed field only
    assert "名称不规范" in form
    assert 'name="company_name"' in form
    assert 'name="scope"' not in form
    # and a forged post of another field changes nothing
    client.post(
        reverse("web:case_correct", kwargs={"reference": case.reference}),
        {"action": "submit", "company_name": "北京网页更名科技有限公司", "scope": "咨询"},
    )
    case.refresh_from_db()
    assert case.data["company_name"] == "北京网页更名科技有限公司"
    assert case.data["scope"] == "软件"
    assert case.status == CaseStatus.SUBMITTED
