"""The process designer in a real Chromium under the production CSP: open a
shipped template, change a step's time limit and department in the
properties panel, save the draft and find the draft's YAML changed in
those lines only; add a step with the keyboard through "+"; a condition
naming an unknown field, and a countersign in a new branch naming a
department that does not exist, each shown on its card. Screenshots in
test-artifacts/<test name>/."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from govflow.processes.models import ProcessDraft
from govflow.security.headers import DEFAULT_CSP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.designer,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

WORKFLOWS = Path(settings.GOVFLOW_WORKFLOWS_DIR)
# template, the card changed, its time limit line before and after, its department line before and after
CHANGES = {
    "food_business_licence": (
        "decision",
        "    sla: {days: 2, remind_at: 0.5}",
        "    sla: {days: 3, remind_at: 0.5}",
        "    department: market_regulation",
        "    department: tax",
    ),
    "business_setup": (
        "registration",
        "        sla: {hours: 4, remind_at: 0.5, on_breach: escalate}",
        "        sla: {days: 3, remind_at: 0.5, on_breach: escalate}",
        "        department: market_regulation",
        "        department: tax",
    ),
}


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "status of 400" not in m.text else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _changed(before: str, after: str) -> list[tuple[list[str], list[str]]]:
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(old[i1:i2], new[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


@pytest.mark.parametrize("code", sorted(CHANGES))
def test_a_time_limit_and_a_department_changed_in_the_designer_change_only_those_lines(
    process_admin, browser_for, shots, code
):
    node, sla_before, sla_after, dept_before, dept_after = CHANGES[code]
    original = (WORKFLOWS / f"{code}.yaml").read_text(encoding="utf-8")
    page = browser_for(process_admin)
    errors = _watch(page)

    # Given the designer open on the published template
    response = page.goto(f"/console/templates/{code}/designer/")
    assert response.headers["content-security-policy"] == DEFAULT_CSP
    page.wait_for_selector(f"#card-{node}")
    assert page.locator(".card").count() > 5
    shots(page, "opened")

    # When the administrator chooses the card and sets its time limit and department
    page.click(f"#card-{node}-title")
    page.wait_for_selector("#panel-form")
    page.fill("#prop-sla-days", "3")
    page.select_option("#prop-sla-unit", "days")  # business setup's limit is in office hours
    page.select_option("#prop-department", "tax")
    shots(page, "panel")
    page.click("#apply-properties")
    page.wait_for_selector(f"#card-{node}.card-selected")
    assert "税务局" in page.locator(f"#card-{node}").inner_text()
    assert "3 个工作日" in page.locator(f"#card-{node}").inner_text()

    # And saves the draft
    page.click("#save-draft")
    page.wait_for_selector(".message-success")
    shots(page, "saved")

    # Then the draft differs from the published text in those two lines only
    draft = ProcessDraft.objects.get(template__code=code).source
    removed = sorted(line for old, _new in _changed(original, draft) for line in old)
    added = sorted(line for _old, new in _changed(original, draft) for line in new)
    assert removed == sorted([sla_before, dept_before])
    assert added == sorted([sla_after, dept_after])
    assert len(draft.splitlines()) == len(original.splitlines())
    assert errors == []


def test_a_step_added_with_the_keyboard_through_plus(process_admin, browser_for, shots):
    page = browser_for(process_admin)
    errors = _watch(page)
    page.goto("/console/templates/food_business_licence/designer/")
    plus = page.locator("details.plus[data-at='after:review'] > summary")
    plus.focus()
    page.keyboard.press("Enter")  # the "+" opens its menu from the keyboard
    menu = page.locator("details.plus[data-at='after:review'] .plus-menu")
    assert menu.is_visible()
    shots(page, "plus-open", full_page=False)
    page.keyboard.press("Escape")  # closes it, back on its "+"
    assert not menu.is_visible()
    page.keyboard.press("Enter")
    assert menu.is_visible()
    menu.locator("button[value='insert_step|after:review|countersign']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-countersign.card-selected")
    order = page.locator("ol.chain > li > article.card").evaluate_all(
        "cards => cards.map(c => c.dataset.node)"
    )
    assert order.index("review") + 1 == order.index("countersign") == order.index("inspection") - 1
    shots(page, "inserted")
    assert errors == []


def test_a_condition_naming_an_unknown_field_is_shown_on_its_card(process_admin, browser_for, shots):
    page = browser_for(process_admin)
    errors = _watch(page)
    page.goto("/console/templates/food_business_licence/designer/")
    page.click("#card-check_gate-title")
    page.fill("#prop-condition-0", "shoe_size > 40")
    page.click("#apply-properties")
    card = page.locator("#card-check_gate")
    card.locator(".card-problems").wait_for()
    assert "shoe_size" in card.locator(".card-problems").inner_text()
    assert "card-bad" in card.get_attribute("class")
    assert page.locator("#problem-count").is_visible()  # and no dry run until it is fixed
    shots(page, "error-on-card")
    assert errors == []


def test_a_condition_is_checked_as_it_is_typed(process_admin, browser_for, shots):
    page = browser_for(process_admin)
    errors = _watch(page)
    page.goto("/console/templates/food_business_licence/designer/?node=check_gate")
    condition = page.locator("#prop-condition-0")
    condition.fill("")
    # an unknown field: the message shows under the input, nothing submitted
    condition.press_sequentially("shoe_size > 40", delay=20)
    message = page.locator("#prop-condition-0-check")
    message.wait_for()
    page.wait_for_function(
        "document.getElementById('prop-condition-0-check').textContent.includes('shoe_size')"
    )
    assert condition.get_attribute("aria-invalid") == "true"
    assert page.locator(".card-problems").count() == 0  # the card has no problem: nothing was applied
    shots(page, "unknown-field", full_page=False)
    # the form's field names are offered for the word being typed
    condition.fill("")
    condition.press_sequentially("region_co", delay=20)
    offered = page.locator("#form-fields option").evaluate_all("options => options.map(o => o.value)")
    assert offered == ["region_code"]
    # a valid condition: the message goes
    condition.press_sequentially('de == "110101"', delay=20)
    expect(message).to_have_text("")
    assert condition.get_attribute("aria-invalid") == "false"
    shots(page, "valid", full_page=False)
    assert errors == []


def test_a_field_edited_in_the_form_panel_changes_only_its_lines(process_admin, browser_for, shots):
    original = (WORKFLOWS / "food_business_licence.yaml").read_text(encoding="utf-8")
    page = browser_for(process_admin)
    errors = _watch(page)
    page.goto("/console/templates/food_business_licence/designer/")
    page.click("#open-form")
    page.wait_for_selector("#form-panel")
    page.click("button[value='select|@form:field:safety_manager']")
    page.wait_for_selector("#field-editor")
    # 内部 → 敏感, seen unmasked by the on-site inspection only
    page.select_option("#form-sensitivity", "secret")
    page.click("#apply-field")
    page.wait_for_selector("#field-clearance")
    page.check("#form-clearance-inspection")
    page.fill("#form-label-zh", "食品安全管理员")
    shots(page, "field")
    page.click("#apply-field")
    page.wait_for_selector("#form-clearance-inspection:checked")
    # removing a field a step is cleared for is refused, naming the steps
    page.click("button[value='select|@form:field:contact_phone']")
    page.click("#remove-field")
    expect(page.locator("#refused")).to_contain_text("review")
    shots(page, "refused")
    page.click("#save-draft")
    page.wait_for_selector(".message-success")
    draft = ProcessDraft.objects.get(template__code="food_business_licence").source
    assert _changed(original, draft) == [
        (["      sensitivity: internal"], ["      sensitivity: secret"]),
        (
            ["      label: {zh: 食品安全管理人员, en: Food safety manager}"],
            ["      label: {zh: 食品安全管理员, en: Food safety manager}"],
        ),
        (["    clearance: [contact_phone]"], ["    clearance: [contact_phone, safety_manager]"]),
    ]
    assert errors == []


def test_a_branch_signed_by_a_department_that_does_not_exist_shows_the_error_on_its_card(
    process_admin, browser_for, shots
):
    page = browser_for(process_admin)
    errors = _watch(page)
    page.goto("/console/templates/food_business_licence/designer/")
    # Given a parallel branch after the document review, with a countersign at the top of its first column
    page.click("details.plus[data-at='after:review'] > summary")
    page.click("details.plus[data-at='after:review'] button[value='insert_block|after:review|parallel|2']")
    split = page.locator("details.plus[data-at^='column:'][data-at$=':0']").first.get_attribute("data-at")
    page.click(f"details.plus[data-at='{split}'] > summary")
    page.click(f"details.plus[data-at='{split}'] button[value='insert_step|{split}|countersign']")
    page.wait_for_selector("#card-countersign.card-selected")
    assert page.locator("#problem-count").count() == 0 or not page.locator("#problem-count").is_visible()
    # When the administrator names a department that does not exist among its signers
    page.fill("#prop-signers", "market_regulation, no_such_bureau")
    page.click("#apply-properties")
    # Then the error is on that card, and the template cannot be published as it is
    card = page.locator("#card-countersign")
    card.locator(".card-problems").wait_for()
    assert "no_such_bureau" in card.locator(".card-problems").inner_text()
    assert "card-bad" in card.get_attribute("class")
    assert page.locator("#problem-count").is_visible()
    shots(page, "unknown-department-on-card")
    assert errors == []
