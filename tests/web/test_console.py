"""The admin console: template list, the editor's check / dry run / publish
with errors at their lines, version pages and the SVG diagram."""

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from govflow.processes.models import ProcessTemplate, ProcessVersion

from .conftest import login

pytestmark = pytest.mark.django_db

SOURCE = (Path(settings.GOVFLOW_WORKFLOWS_DIR) / "business_setup.yaml").read_text(encoding="utf-8")


@pytest.fixture
def admin_client(process_admin):
    return login(process_admin)


def test_the_console_lists_templates_with_versions(admin_client):
    html = admin_client.get("/console/").content.decode()
    assert "企业开办" in html
    assert "工程建设项目审批" in html
    assert "当前版本" in html
    assert 'href="/admin/"' in html


def test_the_template_page_draws_the_process(admin_client):
    html = admin_client.get("/console/templates/business_setup/").content.decode()
    assert "<svg" in html
    assert "设立登记审核" in html
    assert "市场监督管理局" in html
    assert "流程文字说明" in html


def test_the_editor_starts_from_the_current_version(admin_client):
    html = admin_client.get("/console/editor/?template=business_setup").content.decode()
    assert "id: business_setup" in html
    assert admin_client.get("/console/editor/?template=nope").status_code == 404


def test_check_reports_every_problem_with_its_line_and_column(admin_client):
    lines = SOURCE.splitlines()
    seal = next(i for i, line in enumerate(lines, 1) if "department: public_security" in line)
    broken = SOURCE.replace("department: public_security", "department: nowhere", 1).replace(
        "handler: company_name_check", "handler: no_such_handler", 1
    )

    response = admin_client.post("/console/editor/", {"action": "validate", "source": broken})

    html = response.content.decode()
    assert response.status_code == 400
    assert "模板有 2 处问题" in html
    assert f'<li id="L{seal}" class="bad">' in html
    assert f"第 {seal} 行" in html
    assert "nowhere" in html
    assert "no_such_handler" in html
    assert 'value="' not in html.split('id="source"')[1][:20]  # the source stays in the textarea
    assert "department: nowhere" in html


def _problem_data(html: str) -> list[dict]:
    found = re.search(r'<script id="source-problems" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the problems are not on the page as JSON"
    return json.loads(found[1])


def test_the_editor_loads_the_vendored_codemirror_and_its_start_up_file(admin_client):
    html = admin_client.get("/console/editor/?template=business_setup").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    # the editor after the library and its YAML mode; all from /static/ (the CSP allows 'self' only)
    wanted = [
        "/static/vendor/codemirror/codemirror.js",
        "/static/vendor/codemirror/yaml.js",
        "/static/govflow/yaml-editor.js",
    ]
    assert [s for s in scripts if s in wanted] == wanted
    assert 'href="/static/vendor/codemirror/codemirror.css"' in html
    assert 'href="/static/govflow/yaml-editor.css"' in html
    for path in ("vendor/codemirror/codemirror.js", "vendor/codemirror/yaml.js", "govflow/yaml-editor.js"):
        assert finders.find(path), path
    licence = Path(finders.find("vendor/codemirror/LICENSE")).read_text(encoding="utf-8")
    assert "MIT License" in licence
    assert "5.65" in Path(finders.find("vendor/codemirror/VERSION")).read_text(encoding="utf-8")
    # the textarea is still the form field, and there are no problems to mark
    assert '<textarea id="source" name="source"' in html
    assert _problem_data(html) == []


def test_the_problems_reach_the_editor_with_their_lines_in_both_languages(admin_client):
    lines = SOURCE.splitlines()
    seal = next(i for i, line in enumerate(lines, 1) if "department: public_security" in line)
    col = lines[seal - 1].index("department") + len("department: ") + 1
    broken = SOURCE.replace("department: public_security", "department: nowhere", 1)

    html = admin_client.post("/console/editor/", {"action": "validate", "source": broken}).content.decode()

    [problem] = _problem_data(html)
    assert problem["line"] == seal
    assert problem["col"] == col
    assert "nowhere" in problem["message"]
    assert problem["label"].startswith(f"第 {seal} 行第 {col} 列：")
    assert problem["below"].startswith(f"第 {col} 列：")
    assert f'<a href="#L{seal}" data-line="{seal}" data-col="{col}">' in html
    assert "问题标在行号旁" in html

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.post("/console/editor/", {"action": "validate", "source": broken}).content.decode()
    [problem] = _problem_data(english)
    assert problem["label"].startswith(f"Line {seal}, column {col}: ")
    assert problem["below"].startswith(f"Column {col}: ")
    assert "Problems are marked beside their line numbers" in english


def test_a_valid_template_checks_clean_and_shows_its_diagram(admin_client):
    html = admin_client.post("/console/editor/", {"action": "validate", "source": SOURCE}).content.decode()
    assert "模板校验通过" in html
    assert "<svg" in html


def test_the_dry_run_runs_the_simulator(admin_client):
    html = admin_client.post("/console/editor/", {"action": "simulate", "source": SOURCE}).content.decode()
    # the outcome in the reader's language, its code only in the markup (not "准予许可 approved")
    assert 'id="dry-run-outcome" data-outcome="approved">' in html
    assert ">approved<" not in html
    assert "未超出时限" in html
    rejected = admin_client.post(
        "/console/editor/",
        {"action": "simulate", "source": SOURCE, "script": "decisions:\n  registration: reject\n"},
    ).content.decode()
    assert 'id="dry-run-outcome" data-outcome="rejected">' in rejected
    bad_script = admin_client.post(
        "/console/editor/",
        {"action": "simulate", "source": SOURCE, "script": "decisions:\n  nowhere: approve\n"},
    ).content.decode()
    assert "decisions：不存在的节点 &#x27;nowhere&#x27;" in bad_script  # the script's problems, translated


def test_the_templates_problems_are_in_chinese_at_the_same_line_and_column(
    admin_client, client, process_admin
):
    broken = SOURCE.replace("department: public_security", "department: nowhere", 1)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "department: nowhere" in text)

    chinese = admin_client.post("/console/editor/", {"action": "validate", "source": broken})
    client.force_login(process_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/console/editor/", {"action": "validate", "source": broken})

    assert chinese.status_code == english.status_code == 400
    zh = [(p.line, p.col, p.message) for p in chinese.context["problems"]]
    en = [(p.line, p.col, p.message) for p in english.context["problems"]]
    assert [(ln, col) for ln, col, _m in zh] == [(ln, col) for ln, col, _m in en] == [(line, en[0][1])]
    assert "unknown department 'nowhere'" in en[0][2]
    assert "不存在的部门 'nowhere'" in zh[0][2]
    assert not re.search(r"[a-z]{4,} [a-z]{4,}", zh[0][2].replace("nowhere", "")), zh[0][2]


def test_publishing_makes_a_new_version_and_running_cases_keep_theirs(admin_client, business_case):
    changed = SOURCE.replace("{zh: 公章刻制备案,", "{zh: 公章刻制及备案,", 1)
    response = admin_client.post("/console/editor/", {"action": "publish", "source": changed, "note": "改名"})
    template = ProcessTemplate.objects.get(code="business_setup")
    assert response.status_code == 302
    assert template.current_version.number == 2
    assert template.current_version.note == "改名"
    business_case.refresh_from_db()
    assert business_case.version.number == 1
    same = admin_client.post("/console/editor/", {"action": "publish", "source": changed}, follow=True)
    assert "未发布新版本" in same.content.decode()
    assert ProcessVersion.objects.filter(template=template).count() == 2


def test_publishing_an_invalid_template_shows_the_errors_and_publishes_nothing(admin_client):
    response = admin_client.post("/console/editor/", {"action": "publish", "source": "id: x\nnodes: 5\n"})
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()
    assert not ProcessTemplate.objects.filter(code="x").exists()


def test_version_pages_and_the_svg(admin_client):
    html = admin_client.get("/console/templates/business_setup/v1/").content.decode()
    assert 'id="L1"' in html
    assert "<svg" in html
    svg = admin_client.get("/console/templates/construction_permit/v1/diagram.svg")
    assert svg["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.content)
    assert root.tag.endswith("svg")
    assert admin_client.get("/console/templates/business_setup/v9/").status_code == 404


def test_a_failed_dry_run_says_why_in_the_readers_language_at_the_template_line(
    admin_client, client, process_admin
):
    line = next(i for i, text in enumerate(SOURCE.splitlines(), 1) if text.strip() == "- id: accept")
    script = "decisions:\n  accept: reject\n"  # an acceptance (受理) takes accept, refuse or notice

    chinese = admin_client.post(
        "/console/editor/", {"action": "simulate", "source": SOURCE, "script": script}
    )
    client.force_login(process_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/console/editor/", {"action": "simulate", "source": SOURCE, "script": script})

    zh, en = chinese.context["dry_run"].error, english.context["dry_run"].error
    assert zh == (
        f"'accept' 不提供决定 'reject'（可选：accept, notice, refuse，或“silence”），"
        f"位置：'accept'（模板第 {line} 行）"
    )
    assert en == (
        "decision 'reject' for 'accept' is not offered there "
        f"(offered: accept, notice, refuse, or 'silence'), at 'accept' (template line {line})"
    )
    assert f"模板第 {line} 行" in chinese.content.decode()
