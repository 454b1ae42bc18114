"""What an administrator and an auditor read, in a real Chromium, in both
languages: the Django admin names every app and model in the reader's
language (no ACCOUNTS, AXES, 证书s), and the audit trail says outcomes and
objects in words. Screenshots land in test-artifacts/<test name>/."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HAN = re.compile(r"[\u4e00-\u9fff]")
TEXTS = {
    "zh-hans": {
        "apps": ["账号与部门", "登录尝试与锁定", "工作日历与计时器", "证书"],
        "models": ["证书", "工作日历", "日历日", "计时器"],
        "outcome": "成功",
        "object": "用户",
        "case": "办件",
    },
    "en": {
        "apps": ["Accounts and departments", "Login attempts (axes)", "Working-day calendars and timers"],
        "models": ["Certificates", "Working-day calendars", "Calendar days", "Timers"],
        "outcome": "ok",
        "object": "user",
        "case": "case",
    },
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_admin_and_the_audit_trail_speak_the_readers_language(
    base_data, browser_for, live_server, shots, language
):
    texts = TEXTS[language]
    cookie = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]

    # Given an administrator on the Django admin's index
    page = browser_for(base_data["admin"])
    page.context.add_cookies(cookie)
    page.goto("/admin/")
    page.wait_for_selector("#content-main")
    captions = [c.strip() for c in page.locator("#content-main caption").all_inner_texts()]
    models = [m.strip() for m in page.locator("#content-main th[scope=row]").all_inner_texts()]
    shots(page, f"admin-{language}")

    # Then every app and model is named in the reader's language
    for app in texts["apps"]:
        assert any(app.lower() == c.lower() for c in captions), (app, captions)
    for model in texts["models"]:
        assert model in models, (model, models)
    if language == "zh-hans":
        assert not [c for c in captions if not HAN.search(c)]
        assert not [m for m in models if re.search(r"[\u4e00-\u9fff]s$", m)]

    # Given an auditor on the audit trail, after the logins above
    page = browser_for(base_data["auditor"])
    page.context.add_cookies(cookie)
    page.goto("/audit/")
    page.wait_for_selector("table tbody tr")
    row = page.locator("table tbody tr").first
    shots(page, f"audit-{language}")

    # Then the outcome and the object read in words
    cells = row.locator("td[data-label]")
    assert cells.nth(6).inner_text().strip() == texts["outcome"]
    assert cells.nth(4).inner_text().strip().split(" ")[0] in (texts["object"], TEXTS[language]["case"])
