"""Issue 26's build test in a real Chromium: a food-business licence built
from an empty template entirely in the designer (acceptance, a document
review, an on-site inspection countersigned by two reviewers with its time
limit, a 公示 notice with its objection review, the decision, the licence
at the end), published from the designer page, and a case run through it
with the services, from submission to the certificate. Screenshots in
test-artifacts/<test name>/."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from govflow.accounts.models import Department, Membership
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.certificates.models import Certificate
from govflow.demo import ensure_user
from govflow.engine.loader import check_definition
from govflow.outbox.services import outbox_drain
from govflow.processes.models import ProcessTemplate
from tests.deciding import claim_and_complete

pytestmark = [
    pytest.mark.browser,
    pytest.mark.designer,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

CODE = "food_licence_built"


def _plus(page, at: str, kind: str) -> None:
    """ "+" below a card, then a kind of step."""
    page.click(f"details.plus[data-at='{at}'] > summary")
    with page.expect_navigation():
        page.click(f"details.plus[data-at='{at}'] button[value='insert_step|{at}|{kind}']")
    if not page.locator(".card-selected, #refused").count():
        raise AssertionError(
            (
                page.url,
                page.locator(".message, .error-summary").all_inner_texts(),
                page.locator("article.card").evaluate_all("cs => cs.map(c => c.id + ' ' + c.className)"),
            )
        )
    assert not page.locator("#refused").count(), page.locator("#refused").inner_text()


def _panel(page, node: str, **fields: str) -> None:
    """Choose a card, fill its panel and apply."""
    if not page.locator(f"#card-{node}.card-selected").count():
        page.click(f"#card-{node}-title")
    page.wait_for_selector(f"#panel-form input[name='selected'][value='{node}']", state="attached")
    for selector, value in fields.items():
        target = page.locator(f"#{selector}")
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    page.click("#apply-properties")
    page.wait_for_selector(f"#card-{node}.card-selected")


def _choice_field(page, field_id: str, zh: str, en: str, choices: str) -> None:
    """A required public choice field added in the form panel."""
    page.click("#open-form")
    page.click("#add-field")
    page.wait_for_selector("#field-editor")
    page.fill("#form-id", field_id)
    page.fill("#form-label-zh", zh)
    page.fill("#form-label-en", en)
    page.select_option("#form-type", "choice")
    page.check("#form-required")
    page.select_option("#form-sensitivity", "public")
    page.click("#apply-field")
    page.wait_for_selector("#form-choices")
    page.fill("#form-choices", choices)
    page.click("#apply-field")
    page.wait_for_selector("#field-editor")


@pytest.fixture
def keys(base_data, settings, tmp_path):
    """Signing keys of this test's own: the licence is issued and signed."""
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())


def _reviewer(name: str):
    user = ensure_user(name, password="x", groups=("reviewer",))
    Membership.objects.get_or_create(user=user, department=Department.objects.get(code="market_regulation"))
    return user


def _open_tasks(case, node):
    return list(
        Task.objects.filter(case=case, node_id=node, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    )


def test_the_food_licence_built_from_empty_published_and_run(
    process_admin, applicant, market_reviewer, browser_for, shots, now, keys
):
    page = browser_for(process_admin)

    # A new template from the console
    page.goto("/console/")
    page.click("#new-in-designer")
    page.fill("#new-code", CODE)
    page.fill("#new-title-zh", "食品经营许可（设计器）")
    page.fill("#new-title-en", "Food business licence (designer)")
    page.select_option("#new-department", "market_regulation")
    shots(page, "new")
    page.click("#create-template")
    page.wait_for_selector("#card-acceptance")
    shots(page, "empty")

    # The skeleton's review becomes the document review
    _panel(
        page,
        "review",
        **{"prop-title-zh": "申请材料审查", "prop-title-en": "Document review", "prop-sla-days": "3"},
    )
    # + a countersign of two market regulation reviewers: the on-site inspection, 5 working days
    _plus(page, "after:review", "countersign")
    page.wait_for_selector("#card-countersign.card-selected")
    assert page.locator("#prop-signers").input_value() == "market_regulation, market_regulation"
    _panel(
        page,
        "countersign",
        **{"prop-title-zh": "现场核查", "prop-title-en": "On-site inspection", "prop-sla-days": "5"},
    )
    # + 公示 with its objection review
    _plus(page, "after:countersign", "publicity")
    page.wait_for_selector("#card-notice.card-selected")
    _panel(
        page, "notice", **{"prop-title-zh": "许可前公示", "prop-title-en": "Public notice before the licence"}
    )
    assert "异议审查" in page.locator("#card-notice").inner_text()
    # + the decision
    _plus(page, "after:notice", "user_task")
    page.wait_for_selector("#card-review_2.card-selected")
    _panel(
        page, "review_2", **{"prop-title-zh": "许可决定", "prop-title-en": "Decision", "prop-sla-days": "2"}
    )
    # the licence at the approving end
    _panel(
        page,
        "end_approved",
        **{
            "prop-cert-0-type": "food_business_licence",
            "prop-cert-0-department": "market_regulation",
            "prop-cert-0-zh": "食品经营许可证",
            "prop-cert-0-en": "Food business licence",
        },
    )
    # the form: what the licence prints and numbers by (主体业态, the district)
    _choice_field(
        page,
        "business_format",
        "主体业态",
        "Type of food business",
        "food_sales | 食品销售经营者 | Food seller\ncatering | 餐饮服务经营者 | Catering business",
    )
    _choice_field(
        page, "region_code", "经营场所所在区", "District", "110105 | 北京市朝阳区 | Chaoyang District"
    )
    shots(page, "form")
    order = page.locator("ol.chain > li > article.card").evaluate_all(
        "cards => cards.map(c => c.dataset.node)"
    )
    assert order == ["start", "acceptance", "review", "countersign", "notice", "review_2", "end_approved"]
    assert page.locator(".card-problems").count() == 0
    assert page.locator("#approve-all-days").is_visible()
    shots(page, "built")

    # Published from the page
    page.fill("#publish-note", "built in the designer")
    page.click("#publish")
    page.wait_for_selector(".message-success")
    shots(page, "published")
    template = ProcessTemplate.objects.get(code=CODE)
    source = template.current_version.source
    assert template.current_version.note == "built in the designer"
    assert check_definition(source)[1] == []
    for line in (
        "    countersign:\n      mode: all\n      signers: [market_regulation, market_regulation]\n",
        "    type: publicity\n",
        "    objection: objection_review\n",
        "      - type: food_business_licence\n        department: market_regulation\n",
    ):
        assert line in source

    # A case from submission to the licence (services; 审批人去重 wants a new person per step)
    inspectors = [_reviewer("inspector_a"), _reviewer("inspector_b")]
    decider = _reviewer("licence_signer")
    case = case_create(
        applicant=applicant,
        template_code=CODE,
        data={"applicant_name": "好味小吃店", "business_format": "catering", "region_code": "110105"},
        now=now,
    )
    case = case_submit(case_id=case.pk, actor=applicant, now=now)
    claim_and_complete(
        task_id=_open_tasks(case, "acceptance")[0].pk, actor=market_reviewer, outcome="accept", now=now
    )
    claim_and_complete(
        task_id=_open_tasks(case, "review")[0].pk, actor=market_reviewer, outcome="approve", now=now
    )
    signatures = _open_tasks(case, "countersign")
    assert len(signatures) == 2
    for task, inspector in zip(signatures, inspectors, strict=True):
        claim_and_complete(task_id=task.pk, actor=inspector, outcome="approve", now=now)
    assert not _open_tasks(case, "review_2")  # in notice for 5 working days
    later = now + timedelta(days=10)
    timers_fire_due(now=later)
    claim_and_complete(
        task_id=_open_tasks(case, "review_2")[0].pk, actor=decider, outcome="approve", now=later
    )
    case = Case.objects.get(pk=case.pk)
    assert case.status == "approved"
    outbox_drain()  # the licence is issued by the outbox's consumer
    assert Certificate.objects.filter(case=case, type="food_business_licence").count() == 1
