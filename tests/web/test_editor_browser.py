"""The console's YAML editor in a real Chromium under the production CSP:
line numbers, highlighting, the server's problems marked at their lines,
the problem list moving the cursor there, and the form still posting the
text (and working without JavaScript). Screenshots in
test-artifacts/<test name>/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from govflow.security.headers import DEFAULT_CSP

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOURCE = (Path(settings.GOVFLOW_WORKFLOWS_DIR) / "business_setup.yaml").read_text(encoding="utf-8")
EDITOR = "document.querySelector('.CodeMirror').CodeMirror"


def _broken() -> tuple[str, int]:
    lines = SOURCE.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "department: public_security" in text)
    return SOURCE.replace("department: public_security", "department: nowhere", 1), line


def _watch(page) -> list[str]:
    """Script errors and CSP violations; the 400 answer to a check that
    finds problems is logged too and is not one."""
    problems: list[str] = []

    def console(message):
        if message.type == "error" and "status of 400" not in message.text:
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_editor_marks_the_problems_at_their_lines(
    process_admin, browser_for, live_server, shots, language
):
    broken, bad_line = _broken()
    page = browser_for(process_admin)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    errors = _watch(page)

    # Given the editor open on the published template
    response = page.goto("/console/editor/?template=business_setup")
    assert response.headers["content-security-policy"] == DEFAULT_CSP
    page.wait_for_selector(".CodeMirror[data-problems='0']")
    assert not page.locator("textarea#source").is_visible()  # CodeMirror stands in for it
    numbers = page.locator(".CodeMirror-linenumber").all_inner_texts()
    assert numbers[:3] == ["1", "2", "3"]
    assert page.locator(".CodeMirror .cm-atom, .CodeMirror .cm-string, .CodeMirror .cm-comment").count() > 0
    shots(page, f"editor-{language}")

    # When a department is mistyped and the template checked
    page.evaluate(f"(text) => {EDITOR}.setValue(text)", broken)
    with page.expect_navigation() as navigation:
        page.click("button[value=validate]")
    assert navigation.value.status == 400
    assert navigation.value.headers["content-security-policy"] == DEFAULT_CSP
    page.wait_for_selector(".CodeMirror[data-problems='1']")
    assert page.locator("#problem-excerpts").is_hidden()  # the editor shows them at the lines

    # Then choosing the problem in the list puts the cursor on its line, marked in the gutter
    page.click("#problems a[data-line]")
    marker = page.locator(".gf-problem-marker")
    marker.wait_for()
    row = page.locator(".CodeMirror-code > div", has=marker)
    assert row.locator(".CodeMirror-linenumber").inner_text() == str(bad_line)
    assert "department: nowhere" in row.locator(".CodeMirror-line").inner_text()
    number_box = row.locator(".CodeMirror-linenumber").bounding_box()
    marker_box = marker.bounding_box()
    assert (
        abs((marker_box["y"] + marker_box["height"] / 2) - (number_box["y"] + number_box["height"] / 2)) < 4
    )
    assert page.evaluate(f"{EDITOR}.getCursor().line") == bad_line - 1
    assert page.locator(".gf-problem-mark").inner_text() == "nowhere"
    title = marker.get_attribute("title")
    below = row.locator(".gf-problem-below").inner_text()
    assert "nowhere" in title
    assert "nowhere" in below
    if language == "en":
        assert title.startswith(f"Line {bad_line}, column ")
        assert "Problems are marked beside their line numbers" in page.inner_text("#source-editor-hint")
    else:
        assert title.startswith(f"第 {bad_line} 行第 ")
        assert "问题标在行号旁" in page.inner_text("#source-editor-hint")
    shots(page, f"problem-marked-{language}", full_page=False)

    # When the word is corrected in the editor and checked again, the form posts the edited text
    page.dblclick(".gf-problem-mark")
    page.keyboard.type("public_security")
    assert page.locator(".CodeMirror.gf-problems-stale").count() == 1
    with page.expect_navigation() as navigation:
        page.click("button[value=validate]")
    assert navigation.value.status == 200
    page.wait_for_selector(".CodeMirror[data-problems='0']")
    assert page.locator(".message-success").count() == 1
    assert page.locator(".gf-problem-marker").count() == 0
    shots(page, f"corrected-{language}")

    assert not errors, errors  # no CSP violation, no script error


def test_without_javascript_the_textarea_posts_and_the_excerpts_show_the_lines(
    process_admin, chromium, live_server, shots
):
    broken, bad_line = _broken()
    context = chromium.new_context(locale="zh-CN", java_script_enabled=False, base_url=live_server.url)
    context.set_default_timeout(15_000)
    cookie = login(process_admin).cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    try:
        page = context.new_page()
        page.goto("/console/editor/")
        assert page.locator("textarea#source").is_visible()
        assert page.locator(".CodeMirror").count() == 0
        assert page.locator("#source-editor-hint").is_hidden()
        page.fill("textarea#source", broken)
        page.click("button[value=validate]")
        page.wait_for_selector(f"#problem-excerpts li#L{bad_line}.bad")
        assert "department: nowhere" in page.input_value("textarea#source")
        shots(page, "no-javascript")
    finally:
        context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_dry_run_script_is_edited_in_the_same_editor(
    process_admin, browser_for, live_server, shots, language
):
    page = browser_for(process_admin)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    errors = _watch(page)
    script = ".CodeMirror[data-editor='script']"

    # Given the editor open on the published template, the script folded away
    response = page.goto("/console/editor/?template=business_setup")
    assert response.headers["content-security-policy"] == DEFAULT_CSP
    page.wait_for_selector(".CodeMirror[data-problems='0']")
    assert page.locator(script).count() == 1
    assert not page.locator("textarea#script").is_visible()  # CodeMirror stands in for it

    # When the script is unfolded, it has line numbers and shows the example while empty
    page.click("details:has(#script) > summary")
    page.wait_for_selector(f"{script} .CodeMirror-code .CodeMirror-linenumber")
    assert page.locator(script).bounding_box()["height"] > 100
    assert page.locator(f"{script}.gf-empty .gf-placeholder").is_visible()
    assert "registration: [return, approve]" in page.inner_text(f"{script} .gf-placeholder")
    page.click(f"{script} .CodeMirror-lines")
    page.keyboard.type("decisions:\n  registration: reject")
    assert page.locator(f"{script}.gf-empty").count() == 0
    assert page.locator(f"{script} .cm-atom, {script} .cm-string, {script} .cm-keyword").count() > 0
    shots(page, f"script-{language}")

    # Then the dry run takes the typed script, and the editor holds it again on the answer
    with page.expect_navigation():
        page.click("button[value=simulate]")
    assert page.get_attribute("#dry-run-outcome", "data-outcome") == "rejected"
    page.wait_for_selector(f"{script} .CodeMirror-code .CodeMirror-linenumber")
    typed = page.evaluate(
        "document.querySelector(\".CodeMirror[data-editor='script']\").CodeMirror.getValue()"
    )
    assert typed.splitlines() == ["decisions:", "  registration: reject"]
    shots(page, f"script-dry-run-{language}")

    assert not errors, errors  # no CSP violation, no script error
