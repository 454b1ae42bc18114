"""签收 on the case page, in a real Chromium: a reviewer opening a case whose
task is open sees the 签收 button and the hint that the decision form opens
once the task is theirs, and no decision form; after 签收 the form is there.
Screenshots land in test-artifacts/<test name>/."""

from __future__ import annotations

import pytest
from django.conf import settings

from govflow.cases.models import TaskStatus

from .conftest import live_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "zh-hans": {
        "claim": "签收",
        "hint": "请先签收任务，再作出决定：任务由您签收后，办理表单即会打开。",
        "claimed": "已签收，此任务由您办理。",
        "decision": "审批决定",
    },
    "en": {
        "claim": "Claim",
        "hint": "Claim the task (签收) to decide it: the decision form opens once the task is yours.",
        "claimed": "You claimed the task; it is now yours to decide.",
        "decision": "Decision",
    },
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_case_page_asks_for_a_claim_then_opens_the_decision_form(
    base_data, business_case, browser_for, live_server, shots, language
):
    texts = TEXTS[language]
    reviewer = base_data["market_regulation_reviewer"]
    task = live_task(business_case, "registration")
    assert task.status == TaskStatus.OPEN
    page = browser_for(reviewer)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    claim = page.locator(f"form[action='/inbox/tasks/{task.pk}/claim/'] button[type=submit]")
    decide_form = page.locator(f"form[action='/inbox/tasks/{task.pk}/decide/']")

    # Given the case page of a case whose registration review nobody holds
    page.goto(f"/cases/{business_case.reference}/")
    page.wait_for_selector(f"#claim-first-{task.pk}")

    # Then the reviewer sees 签收 and why there is no decision form yet
    assert claim.inner_text().strip() == texts["claim"]
    assert texts["hint"] in page.locator(f"#claim-first-{task.pk}").inner_text()
    assert decide_form.count() == 0
    shots(page, f"before-claim-{language}")

    # When they claim it
    claim.click()
    page.wait_for_url(f"**/cases/{business_case.reference}/")
    page.wait_for_selector(f"#outcome-{task.pk}-approve")

    # Then the hint is gone and the decision form is theirs to fill
    assert texts["claimed"] in page.locator(".message").all_inner_texts()[0]
    assert page.locator(f"#claim-first-{task.pk}").count() == 0
    assert decide_form.locator("legend").first.inner_text().strip() == texts["decision"]
    assert page.is_visible(f"#opinion-{task.pk}")
    shots(page, f"after-claim-{language}")
    task.refresh_from_db()
    assert task.status == TaskStatus.CLAIMED
    assert task.assignee_id == reviewer.pk
