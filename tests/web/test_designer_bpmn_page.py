"""BPMN from the designer's page: a model imported straight into the
designer (kept as the template's draft, the part that is not
block-structured named), and the designer's working text exported with
the exporter export_bpmn uses."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from lxml import etree

from govflow.processes.models import ProcessDraft, ProcessTemplate

from .conftest import login

pytestmark = pytest.mark.django_db

FOOD = (Path(settings.GOVFLOW_WORKFLOWS_DIR) / "food_business_licence.yaml").read_text(encoding="utf-8")
# A review whose "approve" and "return" columns meet (merge_ab) before the
# block the review opens closes (merge_all): valid, but not a chain there.
CROSSING = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.org/x">
  <process id="crossing_permit" name="Crossing permit" isExecutable="true">
    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <userTask id="review" name="Review" />
    <sequenceFlow id="f2" sourceRef="review" targetRef="choose" />
    <exclusiveGateway id="choose" />
    <sequenceFlow id="fa" name="approve" sourceRef="choose" targetRef="task_a" />
    <sequenceFlow id="fb" name="return" sourceRef="choose" targetRef="task_b" />
    <sequenceFlow id="fc" name="reject" sourceRef="choose" targetRef="task_c" />
    <userTask id="task_a" name="Check A" />
    <userTask id="task_b" name="Check B" />
    <userTask id="task_c" name="Check C" />
    <sequenceFlow id="fa2" sourceRef="task_a" targetRef="merge_ab" />
    <sequenceFlow id="fb2" sourceRef="task_b" targetRef="merge_ab" />
    <exclusiveGateway id="merge_ab" />
    <sequenceFlow id="fab" sourceRef="merge_ab" targetRef="task_d" />
    <userTask id="task_d" name="Check D" />
    <sequenceFlow id="fd" sourceRef="task_d" targetRef="merge_all" />
    <sequenceFlow id="fc2" sourceRef="task_c" targetRef="merge_all" />
    <exclusiveGateway id="merge_all" />
    <sequenceFlow id="fe" sourceRef="merge_all" targetRef="end" />
    <endEvent id="end" />
  </process>
</definitions>
"""


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("crossing.bpmn", data, content_type="application/xml")


def test_a_model_imported_into_the_designer_names_the_part_that_is_not_a_chain(process_admin):
    client = _english(login(process_admin))
    response = client.post(
        "/bpmn/import/", {"file": _upload(CROSSING), "department": "tax", "open": "designer"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/console/templates/crossing_permit/designer/"
    template = ProcessTemplate.objects.get(code="crossing_permit")
    assert (template.title_zh, template.title_en, template.current_version) == (
        "Crossing permit",
        "Crossing permit",
        None,
    )
    draft = ProcessDraft.objects.get(template=template)
    assert "id: merge_ab" in draft.source
    page = client.get(response["Location"])
    html = unescape(page.content.decode())
    assert page.status_code == 200
    assert "data-not-chain" in html
    assert "'merge_ab' is reached from two places that do not close as one block" in html


def test_a_model_imported_into_the_designer_never_overwrites_a_draft(process_admin):
    client = _english(login(process_admin))
    assert client.post("/bpmn/import/", {"file": _upload(CROSSING), "department": "tax", "open": "designer"})[
        "Location"
    ]
    saved = ProcessDraft.objects.get(template__code="crossing_permit").source
    again = client.post(
        "/bpmn/import/",
        {"file": _upload(CROSSING.replace(b"Check D", b"Check E")), "department": "tax", "open": "designer"},
    )
    assert again.status_code == 400
    assert "already has a draft" in again.context["problems"][0]
    assert ProcessDraft.objects.get(template__code="crossing_permit").source == saved
    # into the editor, as before
    editor = client.post("/bpmn/import/", {"file": _upload(CROSSING), "department": "tax"})
    assert "console/editor.html" in [t.name for t in editor.templates]


def test_the_designer_exports_its_working_text_to_bpmn(process_admin):
    client = _english(login(process_admin))
    page = client.get("/console/templates/food_business_licence/designer/").content.decode()
    assert 'action="/bpmn/templates/food_business_licence/designer.bpmn"' in page
    changed = FOOD.replace(
        "title: {zh: 现场核查, en: On-site inspection}", "title: {zh: 现场核查, en: Site visit}"
    )
    assert changed != FOOD
    response = client.post("/bpmn/templates/food_business_licence/designer.bpmn", {"source": changed})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="food_business_licence.bpmn"'
    root = etree.fromstring(response.content)
    assert root.xpath("//*[local-name()='userTask']/@id")  # BPMN with its tasks
    xml = response.content.decode()
    assert "Site visit" in xml  # the working text, not the published one
    assert "On-site inspection" not in xml
    broken = client.post("/bpmn/templates/food_business_licence/designer.bpmn", {"source": "id: x\n"})
    assert broken.status_code == 400
    assert broken["Content-Type"].startswith("text/plain")
    assert "food_business_licence:" in broken.content.decode()
    assert client.get("/bpmn/templates/food_business_licence/designer.bpmn").status_code == 405


def test_only_administrators_export_from_the_designer(base_data):
    reviewer = next(u for u in base_data.values() if getattr(u, "is_staff", None) is False)
    response = login(reviewer).post("/bpmn/templates/food_business_licence/designer.bpmn", {"source": FOOD})
    assert response.status_code in (302, 403)
