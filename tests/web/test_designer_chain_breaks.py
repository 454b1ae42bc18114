"""The designer's page for a template whose chain breaks: the cards are
drawn as far as the chain goes (and on after the break where the reading
can), the card whose flow leads to where it breaks says so, the message
names the node, and no "+" or column button is offered there (changes of
shape are refused; properties still change)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from .conftest import login
from .test_designer_bpmn_page import CROSSING

pytestmark = pytest.mark.django_db

FOOD = (Path(settings.GOVFLOW_WORKFLOWS_DIR) / "food_business_licence.yaml").read_text(encoding="utf-8")
FOOD_URL = "/console/templates/food_business_licence/designer/"
# a loop entered at two places: the review may send the case to the
# decision, and the decision back to the inspection
LOOP = FOOD.replace(
    "      approve: inspection\n      reject: end_rejected",
    "      approve: inspection\n      reject: end_rejected\n      return: decision",
).replace(
    "      approve: end_approved\n      reject: end_rejected",
    "      approve: end_approved\n      reject: end_rejected\n      return: inspection",
)


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(date(2026, 3, 3), tick=False):
        yield


def _client(process_admin, language="en"):
    client = login(process_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="card-[^"]+" data-node="([^"]+)"', html)


def test_an_imported_model_whose_first_block_columns_meet_shows_its_cards_and_the_message(process_admin):
    client = _client(process_admin)
    upload = SimpleUploadedFile("crossing.bpmn", CROSSING, content_type="application/xml")
    response = client.post("/bpmn/import/", {"file": upload, "department": "tax", "open": "designer"})
    assert response["Location"] == "/console/templates/crossing_permit/designer/"
    page = client.get(response["Location"])
    html = unescape(page.content.decode())
    assert page.status_code == 200
    assert "'merge_ab' is reached from two places that do not close as one block" in html
    assert html.count("data-not-chain") == 1
    # every node has its card, in the chain's order: the "return" column
    # (Check B) stops where it meets the "approve" column
    assert _cards(html) == [
        "start",
        "review",
        "task_a",
        "merge_ab",
        "task_d",
        "task_b",
        "task_c",
        "merge_all",
        "end",
    ]
    check_b = html[html.index('id="card-task_b"') : html.index('id="card-task_c"')]
    assert "where the chain breaks" in check_b
    # no "+" and no column buttons where changes of shape are refused
    assert 'class="plus"' not in html
    assert "add_column|" not in html
    assert "remove_column|" not in html


def test_a_loop_entered_at_two_places_shows_the_cards_up_to_there_in_chinese(process_admin):
    client = _client(process_admin, "zh-hans")
    response = client.post(FOOD_URL, {"source": LOOP, "do": "open"})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert _cards(html) == [
        "start",
        "check_application",
        "check_gate",
        "accept",
        "review",
        "decision",
        "inspection",
    ]
    assert "“decision”从两处到达" in html
    assert "环节链在此中断" in html
    assert 'class="plus"' not in html


def test_shape_changes_are_refused_and_properties_change_where_the_chain_breaks(process_admin):
    client = _client(process_admin)
    refused = client.post(FOOD_URL, {"source": LOOP, "do": "insert_step|after:accept|user_task"})
    assert refused.status_code == 400
    assert refused.context["source"] == LOOP
    assert "edit it as text" in str(refused.context["refused"])
    changed = client.post(
        FOOD_URL, {"source": LOOP, "do": "set|review", "prop:sla_days": "4", "was:sla_days": "3"}
    )
    assert changed.status_code == 200
    assert changed.context["source"] == LOOP.replace(
        "    sla: {days: 3, remind_at: 0.66}", "    sla: {days: 4, remind_at: 0.66}"
    )
    # the food licence itself still offers "+" everywhere
    assert 'class="plus"' in client.get(FOOD_URL).content.decode()
