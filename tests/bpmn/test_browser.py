"""The bpmn-js viewer in a real Chromium: the case page draws the process
with the case's current node marked, and the console draws every pool.
Screenshots land in test-artifacts/<test name>/."""

from __future__ import annotations

import pytest

from tests.web.conftest import submitted

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_case_page_viewer_marks_the_current_node(base_data, browser_for, shots):
    applicant = base_data["applicant"]
    case = submitted(applicant, "business_setup", company_name="北京浏览器测试科技有限公司")
    # The diagram is for reviewers and admins (the applicant sees the progress view)
    page = browser_for(base_data["market_regulation_reviewer"])
    page.goto(f"/cases/{case.reference}/")
    viewer = page.locator(".bpmn-viewer.bpmn-ready")
    viewer.wait_for(state="attached")
    # Then the diagram is drawn by bpmn-js, with the registration review marked
    assert int(viewer.get_attribute("data-rendered")) > 20
    # (一件事: the bundle and, inside its registration item, the review)
    assert viewer.get_attribute("data-marked") == "2"
    assert page.locator('.djs-element.govflow-current[data-element-id="items"]').count() == 1
    current = page.locator('.djs-element.govflow-current[data-element-id="registration"]')
    assert current.count() == 1
    stroke = current.locator(".djs-visual > :first-child").evaluate("el => getComputedStyle(el).stroke")
    assert stroke == "rgb(194, 65, 12)"
    # And the server-drawn fallback is hidden, the bpmn.io watermark visible
    assert page.locator(".bpmn-viewer .bpmn-fallback").is_hidden()
    assert page.locator(".bpmn-viewer .bjs-powered-by").is_visible()
    page.locator("#process-diagram").scroll_into_view_if_needed()
    shots(page, "case-diagram-current-node")
    page.locator("#process-diagram").screenshot(path=str(shots.folder / "case-diagram-panel.png"))


def test_console_viewer_draws_every_pool(base_data, browser_for, shots):
    page = browser_for(base_data["admin"])
    page.goto("/console/templates/construction_permit/")
    viewer = page.locator(".bpmn-viewer.bpmn-ready")
    viewer.wait_for(state="attached")
    # The main process and its four stages, each a pool
    assert page.locator('.djs-element.djs-shape[data-element-id^="pool_"]').count() == 5
    assert page.locator('.djs-element[data-element-id="stage_1"]').count() == 1
    shots(page, "console-diagram")


def test_without_javascript_the_server_svg_stays(base_data, chromium, live_server, shots):
    applicant = base_data["applicant"]
    case = submitted(applicant, "business_setup", company_name="北京无脚本测试科技有限公司")
    from django.conf import settings

    from tests.web.conftest import login

    context = chromium.new_context(java_script_enabled=False, base_url=live_server.url, locale="zh-CN")
    # Reviewers see the case's diagram (the applicant sees the progress view).
    cookie = login(base_data["market_regulation_reviewer"]).cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(f"/cases/{case.reference}/")
    assert page.locator(".bpmn-viewer .bpmn-fallback svg").is_visible()
    assert (
        page.locator(".bpmn-viewer .bpmn-current").inner_text().startswith("当前步骤")
        or page.locator(".bpmn-viewer .bpmn-current").is_visible()
    )
    shots(page, "case-diagram-no-javascript")
    context.close()
