"""The BPMN pages: upload into the editor, the diagram XML of a version
(admins) and of a case (who may see the case), and the viewer on the pages."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.web.conftest import login, submitted

from .conftest import CORPUS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/xml")


def english(client):
    """The console in English (it is Chinese unless the reader chooses)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_an_admin_imports_a_model_into_the_editor(process_admin):
    client = english(login(process_admin))
    assert client.get("/bpmn/import/").status_code == 200
    data = (
        CORPUS / "camunda-bpm-platform" / "gateway__ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn"
    ).read_bytes()
    response = client.post("/bpmn/import/", {"file": upload("diverging.bpmn", data), "department": "tax"})
    assert response.status_code == 200
    assert "console/editor.html" in [t.name for t in response.templates]
    source = response.context["source"]
    assert "id: exclusive_gw_diverging" in source
    assert source.startswith("# BPMN import notes")
    assert "diverging.bpmn:16: element 'flow2'" in source


def test_a_condition_govflow_cannot_read_is_refused_with_its_text(process_admin):
    # The console keeps no placeholders: the XPath condition of advert_permit.bpmn is refused.
    client = english(login(process_admin))
    data = (CORPUS / "govflow" / "advert_permit.bpmn").read_bytes()
    response = client.post("/bpmn/import/", {"file": upload("advert.bpmn", data), "department": ""})
    assert response.status_code == 400
    problems = response.context["problems"]
    assert any(
        p.startswith("advert.bpmn:50: element 'f_struct'") and "getDataObject('site')/height > 10" in p
        for p in problems
    )


def test_a_refused_import_reads_in_the_readers_language_at_the_same_element_and_line(process_admin):
    # The refusal, the condition's reason inside it and the place it points at:
    # Chinese for a Chinese reader, English for an English one, the same line and element.
    data = (CORPUS / "govflow" / "advert_permit.bpmn").read_bytes()
    said = {}
    for language in ("zh-hans", "en"):
        client = login(process_admin)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.post("/bpmn/import/", {"file": upload("advert.bpmn", data), "department": ""})
        assert response.status_code == 400
        said[language] = next(p for p in response.context["problems"] if "f_struct" in p)
        assert said[language] in html.unescape(response.content.decode())
    chinese, english = said["zh-hans"], said["en"]
    assert chinese.startswith("advert.bpmn:50: 元素 'f_struct'：条件 ")
    assert "无法转换为 govflow 的条件语言（其中调用了 'getDataObject(...)'" in chinese
    assert "cannot" not in chinese
    assert "element" not in chinese
    assert english.startswith("advert.bpmn:50: element 'f_struct': the condition ")
    assert "cannot be translated into govflow's condition language (it calls 'getDataObject(...)'" in english
    assert not re.search(r"[\u4e00-\u9fff]", english)
    for both in ("getDataObject('site')/height > 10", "--keep-conditions", "docs/process-language.md"):
        assert both in chinese
        assert both in english


def test_a_refused_model_lists_its_problems(process_admin):
    client = english(login(process_admin))
    data = (CORPUS / "miwg" / "C.9.1.bpmn").read_bytes()
    response = client.post("/bpmn/import/", {"file": upload("C.9.1.bpmn", data), "department": "tax"})
    assert response.status_code == 400
    problems = response.context["problems"]
    assert any("C.9.1.bpmn:12: element 'SendTask_RequestDocument': send tasks" in p for p in problems)
    assert "C.9.1.bpmn:12" in response.content.decode()


def test_import_without_a_file_or_with_garbage_is_a_clear_error(process_admin):
    client = login(process_admin)
    assert client.post("/bpmn/import/", {}).status_code == 400
    response = client.post("/bpmn/import/", {"file": upload("x.bpmn", b"\x00\xff garbage")})
    assert response.status_code == 400
    assert response.context["problems"]


def test_only_admins_import(applicant):
    assert login(applicant).get("/bpmn/import/").status_code == 403


def test_version_xml_for_admins_and_404_for_everyone_else(process_admin, applicant, client):
    from govflow.processes.models import ProcessTemplate

    version = ProcessTemplate.objects.get(code="business_setup").current_version
    url = f"/bpmn/templates/business_setup/v{version.number}.bpmn"
    response = login(process_admin).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert b"<bpmndi:BPMNDiagram" in response.content
    download = login(process_admin).get(url + "?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="business_setup-v{version.number}.bpmn"'
    assert login(applicant).get(url).status_code == 404
    assert client.get(url).status_code == 404
    assert login(process_admin).get("/bpmn/templates/business_setup/v999.bpmn").status_code == 404


def test_case_xml_follows_the_case_page_permissions(
    applicant, other_applicant, market_reviewer, fire_reviewer, client
):
    case = submitted(applicant, "business_setup", company_name="北京图示科技有限公司")
    url = f"/bpmn/cases/{case.reference}.bpmn"
    assert login(applicant).get(url).status_code == 200
    assert login(market_reviewer).get(url).status_code == 200  # registration is theirs
    assert login(other_applicant).get(url).status_code == 404
    assert login(fire_reviewer).get(url).status_code == 404
    assert client.get(url).status_code == 404
    assert login(applicant).get("/bpmn/cases/ZZZZ9999.bpmn").status_code == 404


def test_the_case_page_shows_the_viewer_with_current_nodes_and_a_fallback(applicant, market_reviewer):
    # Reviewers see the diagram; the applicant sees the progress view instead (docs/bpmn.md).
    case = submitted(applicant, "business_setup", company_name="北京图示二科技有限公司")
    own = login(applicant).get(f"/cases/{case.reference}/").content.decode()
    assert 'id="progress-view"' in own
    assert "data-bpmn-url" not in own
    page = login(market_reviewer).get(f"/cases/{case.reference}/").content.decode()
    assert f'data-bpmn-url="/bpmn/cases/{case.reference}.bpmn"' in page
    # 一件事: the bundle and, inside its registration item, the review
    assert 'data-current="items registration"' in page
    assert "<svg" in page  # the server-drawn fallback
    assert "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page


def test_the_console_shows_the_viewer_and_offers_the_download(process_admin):
    page = login(process_admin).get("/console/templates/construction_permit/").content.decode()
    assert 'data-bpmn-url="/bpmn/templates/construction_permit/v' in page
    assert ".bpmn?download=1" in page
    home = login(process_admin).get("/console/").content.decode()
    assert 'href="/bpmn/import/"' in home


def test_the_console_takes_a_lane_map_like_the_command(process_admin):
    from .test_lane_map import laned

    client = english(login(process_admin))
    data = laned(("L0", "窗口"), ("L1", "科长")).encode()
    refused = client.post("/bpmn/import/", {"file": upload("lanes.bpmn", data), "department": ""})
    assert refused.status_code == 400
    assert any("lane '窗口' names no department" in p for p in refused.context["problems"])
    mapped = client.post(
        "/bpmn/import/",
        {
            "file": upload("lanes.bpmn", data),
            "department": "",
            "lane_map": "# who is who\n窗口=market_regulation\n\n科长 = fire\n",
        },
    )
    assert mapped.status_code == 200, mapped.context["problems"]
    source = mapped.context["source"]
    assert "department: market_regulation" in source
    assert "department: fire" in source


def test_a_malformed_lane_map_line_is_named_and_the_form_keeps_what_was_typed(process_admin):
    from .test_lane_map import laned

    client = login(process_admin)
    data = laned(("L0", "窗口")).encode()
    response = client.post(
        "/bpmn/import/",
        {
            "file": upload("lanes.bpmn", data),
            "lane_map": "窗口=market_regulation\n科长",
            "keep_conditions": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["problems"] == [
        "泳道映射第 2 行：'科长'：格式应为 泳道=部门代码，例如 '市场监管=market_regulation'"
    ]
    page = response.content.decode()
    assert "窗口=market_regulation\n科长</textarea>" in page
    assert 'name="keep_conditions" checked' in page
    unknown = client.post("/bpmn/import/", {"file": upload("lanes.bpmn", data), "lane_map": "窗口=nowhere"})
    assert unknown.status_code == 400
    assert any("'nowhere' 不是 govflow 已知的部门代码" in p for p in unknown.context["problems"])


def test_keep_conditions_in_the_console_leaves_placeholders_to_edit(process_admin):
    client = login(process_admin)
    data = (CORPUS / "govflow" / "advert_permit.bpmn").read_bytes()
    response = client.post(
        "/bpmn/import/", {"file": upload("advert.bpmn", data), "department": "", "keep_conditions": "on"}
    )
    assert response.status_code == 200, response.context["problems"]
    from govflow.bpmn.conditions import PLACEHOLDER_FIELD

    assert PLACEHOLDER_FIELD in response.context["source"]
    warnings = [str(m) for m in response.context["messages"]]
    assert any("占位符" in m for m in warnings)
