"""The console's process designer page (server side): the chain of a
shipped template, operations posted with the working text, problems on
their cards, the approve-all figure, saving the draft, permissions."""

from __future__ import annotations

import difflib
import hashlib
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from govflow.audit.models import AuditEvent
from govflow.processes.models import ProcessDraft

from .conftest import login

pytestmark = pytest.mark.django_db

FOOD = (Path(settings.GOVFLOW_WORKFLOWS_DIR) / "food_business_licence.yaml").read_text(encoding="utf-8")
URL = "/console/templates/food_business_licence/designer/"


@pytest.fixture
def admin_client(process_admin):
    return login(process_admin)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(date(2026, 3, 3), tick=False):
        yield


def _post(client, source, do, **extra):
    return client.post(URL, {"source": source, "do": do, **extra})


def test_the_designer_draws_the_published_template_as_a_chain(admin_client):
    response = admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    for node in ("start", "check_application", "accept", "review", "inspection", "decision", "end_approved"):
        assert f'data-node="{node}"' in html
    assert "现场核查" in html
    assert 'id="approve-all-days">10<' in html  # the approve-all path uses the full 10 working days
    assert "承诺" in html


def test_the_designer_is_for_administrators_only(client_for, base_data):
    reviewer = next(u for u in base_data.values() if getattr(u, "is_staff", None) is False)
    assert login(reviewer).get(URL).status_code in (302, 403)


def test_an_sla_change_and_a_save_write_the_draft_only(admin_client, process_admin):
    response = _post(admin_client, FOOD, "set|review", **{"prop:sla_days": "4", "was:sla_days": "3"})
    assert response.status_code == 200
    source = response.context["source"]
    changed = [
        line for line in difflib.unified_diff(FOOD.splitlines(), source.splitlines(), lineterm="", n=0)
    ][2:]
    assert changed == [
        "@@ -230 +230 @@",
        "-    sla: {days: 3, remind_at: 0.66}",
        "+    sla: {days: 4, remind_at: 0.66}",
    ]
    assert not ProcessDraft.objects.exists()
    _post(admin_client, source, "save")
    draft = ProcessDraft.objects.get(template__code="food_business_licence")
    assert draft.source == source
    # who saved which text is on the audit trail
    saved = AuditEvent.objects.get(action="TEMPLATE_DRAFT_SAVED")
    assert saved.actor_id == process_admin.pk
    assert saved.data["template"] == "food_business_licence"
    assert saved.data["sha256"] == hashlib.sha256(source.encode("utf-8")).hexdigest()
    # the published version is untouched, and the designer opens the draft again
    assert "days: 4" in admin_client.get(URL).context["source"]


def test_a_condition_naming_an_unknown_field_shows_on_its_card(admin_client):
    response = _post(
        admin_client,
        FOOD,
        "set|check_gate",
        **{
            "prop:condition:0": "shoe_size > 40",
            "was:condition:0": "result.check_application.valid == false",
        },
    )
    html = response.content.decode()
    card = html[html.index('id="card-check_gate"') :]
    card = card[: card.index("</article>")]
    assert "shoe_size" in card
    assert "card-problems" in card


def test_a_refused_operation_says_why_and_keeps_the_text(admin_client):
    response = _post(admin_client, FOOD, "delete|start")
    assert response.status_code == 400
    assert response.context["source"] == FOOD
    assert response.context["refused"]


def test_inserting_a_step_with_plus(admin_client):
    response = _post(admin_client, FOOD, "insert_step|after:review|countersign")
    html = response.content.decode()
    assert 'data-node="countersign"' in html
    assert response.context["selected"] == "countersign"


def test_a_draft_with_another_id_is_refused(admin_client):
    response = _post(admin_client, FOOD.replace("id: food_business_licence", "id: other", 1), "save")
    assert response.status_code == 400
    assert not ProcessDraft.objects.exists()


def test_the_editor_and_the_designer_show_the_same_text(admin_client):
    changed = FOOD.replace("sla: {days: 2, remind_at: 0.5}", "sla: {days: 1, remind_at: 0.5}")
    # the text editor's text opens in the designer
    opened = _post(admin_client, changed, "open")
    assert opened.context["source"] == changed
    # the designer's draft opens in the text editor
    _post(admin_client, changed, "save")
    editor = admin_client.get("/console/editor/?template=food_business_licence&draft=1")
    assert editor.context["source"] == changed
    assert 'id="to-designer"' in editor.content.decode()
    template_page = admin_client.get("/console/templates/food_business_licence/").content.decode()
    assert 'id="open-designer"' in template_page


def test_the_designer_speaks_english_to_an_english_reader(admin_client):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = admin_client.get(URL).content.decode()
    assert "Process designer" in html
    assert "On-site inspection" in html  # the template's own English titles
    assert "Countersign" in html
    assert "流程设计器" not in html
    refused = _post(admin_client, FOOD, "delete|start")
    assert "the start and the ends stay where they are" in refused.content.decode()


def test_the_panel_of_an_acceptance_sets_its_length(admin_client):
    html = admin_client.get(URL + "?node=accept").content.decode()
    assert 'id="prop-days"' in html
    assert 'id="prop-sla-days"' not in html
    response = _post(admin_client, FOOD, "set|accept", **{"prop:days": "4", "was:days": "5"})
    assert "    days: 4\n" in response.context["source"]


@pytest.mark.parametrize(
    "source",
    [
        "",
        "nodes: [",
        "- just a list",
        "id: food_business_licence\nnodes: {}",
        "id: food_business_licence\nnodes:\n  - id: a\n    type: user_task\n    outcomes: [x]\n    next: 5",
        "id: food_business_licence\nnodes:\n  - {id: s, type: start, next: s}",
        "id: food_business_licence\nnodes:\n  - {id: s, type: start, next: e}\n"
        "  - {id: e, type: end, outcome: approved}",
    ],
)
@pytest.mark.parametrize(
    "do", ["open", "select|s", "insert_step|after:s|user_task", "set|s", "delete|e", "save", "x"]
)
def test_bad_text_or_buttons_get_an_answer_not_a_traceback(admin_client, source, do):
    response = _post(admin_client, source, do, **{"prop:title_zh": "开始", "was:title_zh": ""})
    assert response.status_code in (200, 400)
    assert not ProcessDraft.objects.exists() or do == "save"


def test_the_form_panel_edits_a_field_and_refuses_removing_a_cleared_one(admin_client):
    opened = _post(admin_client, FOOD, "select|@form")
    html = opened.content.decode()
    assert opened.status_code == 200
    assert 'id="form-fields-list"' in html
    assert "select|@form:field:contact_phone" in html
    assert "select|@form:material:safety_rules" in html
    chosen = _post(admin_client, FOOD, "select|@form:field:contact_phone", selected="@form")
    html = chosen.content.decode()
    assert 'id="field-editor"' in html
    assert 'name="form:clearance" value="review" checked' in html  # 敏感: the steps cleared for it
    refused = _post(
        admin_client, FOOD, "form|remove_field|contact_phone", selected="@form:field:contact_phone"
    )
    assert refused.status_code == 400
    assert refused.context["source"] == FOOD
    assert "review" in refused.context["refused"]
    edited = _post(
        admin_client,
        FOOD,
        "form|set_field|safety_manager",
        selected="@form:field:safety_manager",
        **{
            "form:id": "safety_manager",
            "form:label_zh": "食品安全管理员",
            "form:label_en": "Food safety manager",
            "form:type": "text",
            "form:required": "1",
            "form:sensitivity": "internal",
        },
    )
    assert edited.status_code == 200
    assert [
        line
        for line in difflib.unified_diff(
            FOOD.splitlines(), edited.context["source"].splitlines(), lineterm="", n=0
        )
    ][2:] == [
        "@@ -149 +149 @@",
        "-      label: {zh: 食品安全管理人员, en: Food safety manager}",
        "+      label: {zh: 食品安全管理员, en: Food safety manager}",
    ]
    assert edited.context["selected"] == "@form:field:safety_manager"
    added = _post(admin_client, FOOD, "form|add_material|", selected="@form")
    assert added.context["selected"] == "@form:material:material"
    assert 'id="material-editor"' in added.content.decode()


def test_a_condition_is_checked_against_the_working_text(admin_client, client_for, base_data):
    url = URL + "condition/"
    unknown = admin_client.post(url, {"source": FOOD, "expression": "shoe_size > 40"}).json()
    assert unknown["ok"] is False
    assert [p["offset"] for p in unknown["problems"]] == [0]
    assert "shoe_size" in unknown["problems"][0]["message"]
    assert admin_client.post(url, {"source": FOOD, "expression": 'region_code == "110101"'}).json() == {
        "ok": True,
        "problems": [],
    }
    broken = admin_client.post(url, {"source": FOOD, "expression": "region_code =="}).json()
    assert broken["ok"] is False
    assert broken["problems"][0]["offset"] == 14
    # a field added in the working text (not saved) is known at once
    added = FOOD.replace(
        "    - id: contact_phone\n",
        "    - id: shoe_size\n      type: number\n      label: {zh: 鞋码, en: Shoe size}\n"
        "    - id: contact_phone\n",
        1,
    )
    assert admin_client.post(url, {"source": added, "expression": "shoe_size > 40"}).json()["ok"] is True
    reviewer = next(u for u in base_data.values() if getattr(u, "is_staff", None) is False)
    assert login(reviewer).post(url, {"source": FOOD, "expression": "x"}).status_code in (302, 403)
    assert admin_client.get(url).status_code == 405


def test_a_branch_signed_by_an_unknown_department_shows_the_problem_on_its_card(admin_client):
    # Given a parallel branch after the document review, with a countersign at the top of its first column
    branched = _post(admin_client, FOOD, "insert_block|after:review|parallel|2").context["source"]
    signed = _post(admin_client, branched, "insert_step|column:parallel:0|countersign").context["source"]
    assert "countersign" in signed
    # When one of its signers is a department that does not exist
    response = _post(
        admin_client,
        signed,
        "set|countersign",
        **{
            "prop:signers": "market_regulation, no_such_bureau",
            "was:signers": "market_regulation, market_regulation",
            "prop:remind_at": "",
            "was:remind_at": "",
            "prop:sla_days": "",
            "was:sla_days": "",
            "prop:sla_unit": "days",
            "was:sla_unit": "days",
        },
    )
    # Then the text has it, and the problem is on that card (publishing would refuse it)
    assert "no_such_bureau" in response.context["source"]
    html = response.content.decode()
    start = html.rindex("<article", 0, html.index('id="card-countersign"'))
    card = html[start : html.index("</article>", start)]
    assert "card-bad" in card[: card.index(">")]
    assert "no_such_bureau" in card
