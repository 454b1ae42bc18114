"""A template started from empty in the designer, and publishing from the
designer page through the text editor's service (four-eyes included)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from govflow.processes.models import ProcessDraft, ProcessProposal, ProcessTemplate
from govflow.processes.services import template_new
from govflow.web.selectors import services_catalogue, template_check

from .conftest import login

pytestmark = pytest.mark.django_db

NEW = "/console/designer/new/"


@pytest.fixture
def admin_client(process_admin):
    return login(process_admin)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(date(2026, 3, 3), tick=False):
        yield


def _new(client, code="shop_sign", **extra):
    data = {"code": code, "title_zh": "店招设置", "title_en": "Shop sign", "department": "market_regulation"}
    data.update(extra)
    return client.post(NEW, data)


def test_a_new_template_opens_in_the_designer_as_a_valid_draft(admin_client):
    assert 'id="new-in-designer"' in admin_client.get("/console/").content.decode()
    response = _new(admin_client)
    assert response.status_code == 302
    assert response["Location"] == "/console/templates/shop_sign/designer/"
    template = ProcessTemplate.objects.get(code="shop_sign")
    assert (template.title_zh, template.title_en, template.current_version) == ("店招设置", "Shop sign", None)
    source = ProcessDraft.objects.get(template=template).source
    definition, problems = template_check(source)  # departments in the database, as publishing checks
    assert problems == []
    assert definition.id == "shop_sign"
    assert definition.title == {"zh": "店招设置", "en": "Shop sign"}
    assert [n.type for n in definition.nodes.values()] == [
        "start",
        "acceptance",
        "user_task",
        "end",
        "end",
    ]
    page = admin_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    for node in ("start", "acceptance", "review", "end_approved"):
        assert f'data-node="{node}"' in html
    assert 'id="approve-all-days"' in html
    # a template with no version is not offered to applicants
    assert "shop_sign" not in [s.code for s in services_catalogue()]


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("Shop", {}),  # capitals
        ("1shop", {}),
        ("shop sign", {}),
        ("x" * 65, {}),
        ("food_business_licence", {}),  # exists
        ("shop_sign", {"title_en": " "}),
        ("shop_sign", {"department": "no_such_department"}),
    ],
)
def test_a_new_template_is_refused_with_the_reason(admin_client, code, extra):
    response = _new(admin_client, code, **extra)
    assert response.status_code == 400
    assert 'id="new-error"' in response.content.decode()
    assert not ProcessTemplate.objects.filter(code=code).exclude(code="food_business_licence").exists()
    assert not ProcessDraft.objects.exists()


def test_the_code_may_have_a_hyphen_as_the_language_allows(process_admin):
    draft = template_new(
        code="shop-sign",
        title_zh="店招",
        title_en="Sign: shop, street",
        department="tax",
        actor=process_admin,
    )
    assert 'title: {zh: 店招, en: "Sign: shop, street"}' in draft.source
    assert template_check(draft.source)[1] == []


def test_a_new_template_is_published_from_the_designer(admin_client):
    _new(admin_client)
    url = "/console/templates/shop_sign/designer/"
    source = admin_client.get(url).context["source"]
    response = admin_client.post(url, {"source": source, "do": "publish", "note": "first"})
    assert response.status_code == 302
    assert response["Location"] == "/console/templates/shop_sign/"
    template = ProcessTemplate.objects.get(code="shop_sign")
    assert template.current_version.number == 1
    assert template.current_version.source == source
    assert template.current_version.note == "first"
    assert "shop_sign" in [s.code for s in services_catalogue()]


def test_publishing_an_invalid_text_from_the_designer_is_refused_with_its_problems(admin_client):
    _new(admin_client)
    url = "/console/templates/shop_sign/designer/"
    source = (
        admin_client.get(url)
        .context["source"]
        .replace("department: market_regulation", "department: nowhere")
    )
    response = admin_client.post(url, {"source": source, "do": "publish"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="publish-problems"' in html
    assert "nowhere" in html
    assert response.context["source"] == source  # the working text is kept
    assert ProcessTemplate.objects.get(code="shop_sign").current_version is None


def test_publishing_another_template_id_from_its_designer_is_refused(admin_client):
    _new(admin_client)
    url = "/console/templates/shop_sign/designer/"
    source = admin_client.get(url).context["source"].replace("id: shop_sign", "id: shop_other")
    response = admin_client.post(url, {"source": source, "do": "publish"})
    assert response.status_code == 400
    assert not ProcessTemplate.objects.filter(code="shop_other").exists()


def test_a_template_with_second_approval_is_proposed_from_the_designer(admin_client, process_admin):
    ProcessTemplate.objects.filter(code="food_business_licence").update(second_approval=True)
    url = "/console/templates/food_business_licence/designer/"
    page = admin_client.get(url)
    assert 'id="publish"' in page.content.decode()
    template = ProcessTemplate.objects.get(code="food_business_licence")
    number = template.current_version.number
    source = page.context["source"].replace(
        "sla: {days: 3, remind_at: 0.66}", "sla: {days: 4, remind_at: 0.66}"
    )
    response = admin_client.post(url, {"source": source, "do": "publish", "note": "four eyes"})
    proposal = ProcessProposal.objects.get(template=template)
    assert response.status_code == 302
    assert response["Location"] == f"/console/templates/food_business_licence/proposals/{proposal.pk}/"
    assert (proposal.source, proposal.proposed_by, proposal.note) == (source, process_admin, "four eyes")
    template.refresh_from_db()
    assert template.current_version.number == number  # not published until another administrator approves


def test_a_public_notice_and_a_new_end_from_the_page(admin_client):
    url = "/console/templates/food_business_licence/designer/"
    source = admin_client.get(url).context["source"]
    response = admin_client.post(url, {"source": source, "do": "insert_step|after:inspection|publicity"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-node="notice"' in html
    assert response.context["selected"] == "notice"
    source = response.context["source"]
    assert "objection: objection_review" in source
    # the decision's panel offers a new end as a route target
    panel = admin_client.post(url, {"source": source, "do": "select|decision"}).content.decode()
    assert 'value="new_end:withdrawn"' in panel
    routed = admin_client.post(
        url,
        {
            "source": source,
            "do": "set|decision",
            "prop:route:reject": "new_end:withdrawn",
            "was:route:reject": "end_rejected",
        },
    )
    assert routed.status_code == 200
    assert "reject: end_withdrawn_2" in routed.context["source"]
    assert 'id="problem-count"' not in routed.content.decode()


def test_the_panel_sets_an_sla_in_hours_a_vote_and_a_second_certificate(admin_client):
    url = "/console/templates/food_business_licence/designer/"
    source = admin_client.get(url).context["source"]
    panel = admin_client.post(url, {"source": source, "do": "select|review"}).content.decode()
    for name in ("prop:sla_unit", "prop:extension", "prop:extension_max", "prop:cc_roles", "prop:clock"):
        assert f'name="{name}"' in panel
    hours = admin_client.post(
        url,
        {
            "source": source,
            "do": "set|review",
            "prop:sla_days": "6",
            "was:sla_days": "3",
            "prop:sla_unit": "hours",
            "was:sla_unit": "days",
            "prop:clock": "counted",
            "was:clock": "counted",
        },
    )
    assert "    sla: {hours: 6, remind_at: 0.66}\n" in hours.context["source"]
    assert hours.context["source"].count("\n") == source.count("\n")
    panel = admin_client.post(url, {"source": source, "do": "select|inspection"}).content.decode()
    assert 'name="prop:mode"' in panel
    vote = admin_client.post(
        url, {"source": source, "do": "set|inspection", "prop:mode": "vote", "was:mode": "all"}
    )
    assert 'pass_ratio: "2/3"' in vote.context["source"]
    assert 'name="prop:pass_ratio"' in vote.content.decode()
    panel = admin_client.post(url, {"source": source, "do": "select|end_approved"}).content.decode()
    assert 'name="prop:certificate:1:type"' in panel  # a row for another certificate
    second = admin_client.post(
        url,
        {
            "source": source,
            "do": "set|end_approved",
            "prop:certificate:1:type": "inspection_record",
            "was:certificate:1:type": "",
            "prop:certificate:1:department": "market_regulation",
            "was:certificate:1:department": "",
            "prop:certificate:1:title_zh": "现场核查记录",
            "was:certificate:1:title_zh": "",
            "prop:certificate:1:title_en": "Inspection record",
            "was:certificate:1:title_en": "",
        },
    )
    assert (
        "      - type: inspection_record\n        department: market_regulation\n" in second.context["source"]
    )
    assert 'value="现场核查记录"' in second.content.decode()
