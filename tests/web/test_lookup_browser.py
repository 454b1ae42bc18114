"""In a real Chromium: the public progress lookup and the applicant's
progress view in both languages, and /api/docs/ under the production CSP.
Screenshots in test-artifacts/<test name>/."""

from __future__ import annotations

import pytest
import time_machine

from govflow.security.headers import DEFAULT_CSP
from govflow.web.lookup import query_code

from .conftest import submitted

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _to_english(page):
    page.click("form.lang-form button[value='en']")
    page.wait_for_selector("html[lang='en']")


def test_the_lookup_and_the_progress_view_in_chinese_and_english(base_data, browser_for, shots, now):
    applicant = base_data["applicant"]
    with time_machine.travel(now, tick=True):
        case = submitted(applicant, "business_setup", employees_count=5, bank="icbc")
        code = query_code(case)

        # The applicant's case page shows every department to come, with expected dates
        own = browser_for(applicant)
        own.goto(f"/cases/{case.reference}/")
        own.wait_for_selector("#progress-view")
        steps = own.locator("#progress-view .progress-step")
        assert steps.count() >= 10
        # the credit code (automatic) and the six departments side by side
        assert own.locator("#progress-view .step-upcoming").count() == 7
        assert "预计" in own.inner_text("#progress-view")
        assert own.inner_text("#query-code-value") == code
        assert own.locator("#process-diagram").count() == 0
        shots(own, "case-page-progress-zh")
        _to_english(own)
        own.wait_for_selector("#progress-view")
        assert "expected" in own.inner_text("#progress-view")
        assert "预计" not in own.inner_text("#progress-view")
        shots(own, "case-page-progress-en")

        # Anyone with the number and the code looks it up without logging in
        page = browser_for(None)
        page.goto("/lookup/")
        shots(page, "lookup-form-zh")
        page.fill("#lookup-reference", case.reference.lower())
        page.fill("#lookup-code", code.replace("-", "").lower())
        page.click("main form button[type=submit]")
        page.wait_for_selector("#lookup-result")
        result = page.inner_text("#lookup-result")
        assert "企业开办" in result
        assert "预计" in result
        assert case.data["company_name"] not in page.content()
        shots(page, "lookup-result-zh")

        # a wrong code is refused, and says nothing about the case
        page.fill("#lookup-reference", case.reference)
        page.fill("#lookup-code", "ABCDE-FGHJK")
        page.click("main form button[type=submit]")
        page.wait_for_selector("#lookup-not-found")
        assert page.locator("#lookup-result").count() == 0
        shots(page, "lookup-wrong-code-zh")

        _to_english(page)
        page.fill("#lookup-reference", case.reference)
        page.fill("#lookup-code", code)
        page.click("main form button[type=submit]")
        page.wait_for_selector("#lookup-result")
        result = page.inner_text("#lookup-result")
        assert "Business setup" in result
        assert "expected" in result
        shots(page, "lookup-result-en")

        # on a phone the steps stay inside the page
        phone = browser_for(None, viewport={"width": 390, "height": 844})
        phone.goto("/lookup/")
        phone.fill("#lookup-reference", case.reference)
        phone.fill("#lookup-code", code)
        phone.click("main form button[type=submit]")
        phone.wait_for_selector("#lookup-result")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        shots(phone, "lookup-result-phone-zh")


def test_api_docs_render_the_operations_under_the_production_csp(base_data, browser_for, shots):
    page = browser_for(None)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    response = page.goto("/api/docs/")

    assert response.headers["content-security-policy"] == DEFAULT_CSP
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-tag:has-text('lookup')").count() == 1
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    shots(page, "api-docs")
