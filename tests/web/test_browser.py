"""End-to-end scenarios in a real Chromium against a live server.

Screenshots land in test-artifacts/<test name>/ so a person can look at the
pages. Service tasks (name check, ID check, credit code) run by draining the
outbox in this process, as a worker would."""

from __future__ import annotations

import re

import pytest

from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.outbox.services import outbox_drain

from .conftest import PDF_BYTES, PNG_BYTES, live_task, submitted

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BUSINESS_PARALLEL = ("seal", "tax", "social_insurance", "medical_insurance", "housing_fund", "bank_account")
VALID_ID = "11010519491231002X"


def _file(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def _fill_business_setup(page, *, id_number: str = VALID_ID) -> dict[str, str]:
    typed = {
        "f-company_name": "北京星河数据科技有限公司",
        "f-business_scope": "技术开发、技术咨询、技术服务；软件开发；数据处理服务。",
        "f-address": "北京市朝阳区建国路88号9层901",
        "f-registered_capital": "500.00",
        "f-legal_rep_name": "王小明",
        "f-legal_rep_id_number": id_number,
        "f-legal_rep_phone": "13800138000",
        "f-liaison_name": "李娜",
        "f-liaison_email": "lina@example.cn",
        "f-shareholders-0-name": "王小明",
        "f-shareholders-0-id_number": VALID_ID,
        "f-shareholders-0-subscribed_amount": "400.00",
        "f-shareholders-0-due_date": "2028-12-31",
        "f-employees_count": "12",
    }
    for field_id, value in typed.items():
        page.fill(f"#{field_id}", value)
    page.select_option("#f-entity_type", "llc")
    page.select_option("#f-region_code", "110105")
    page.select_option("#f-shareholders-0-contribution_form", "cash")
    page.select_option("#f-bank", "icbc")
    page.check("#f-need_invoice")
    return typed


def _decide(page, case, node_id, outcome, opinion, shots=None, label=None):
    task = live_task(case, node_id)
    page.goto(f"/cases/{case.reference}/")
    if task.status == "open":  # 签收 first: the decision form opens once the task is the reviewer's
        page.click(f"form[action='/inbox/tasks/{task.pk}/claim/'] button[type=submit]")
        page.wait_for_selector(f"#outcome-{task.pk}-{outcome}")
    page.check(f"#outcome-{task.pk}-{outcome}")
    page.fill(f"#opinion-{task.pk}", opinion)
    if shots is not None:
        shots(page, label or f"decide-{node_id}")
    page.click(f"form[action='/inbox/tasks/{task.pk}/decide/'] button[type=submit]")
    page.wait_for_url("**/inbox/")


def test_business_setup_submitted_approved_in_parallel_and_seen_approved(base_data, browser_for, shots):
    applicant = base_data["applicant"]
    # Given the applicant logs in through the login form
    page = browser_for(None)
    page.goto("/")
    shots(page, "catalogue-anonymous")
    page.click("text=登录")
    page.fill("#id_username", "applicant")
    page.fill("#id_password", "govflow-demo-2026")
    shots(page, "login")
    page.click("main button[type=submit]")
    # When they pick business setup and start an application
    page.goto("/services/business_setup/")
    shots(page, "service")
    page.click("text=开始申请")
    page.wait_for_url(re.compile(r".*/cases/GF[0-9A-Z]+/edit/$"))
    reference = page.url.rstrip("/").split("/")[-2]
    _fill_business_setup(page)
    # a second shareholder row, added in place by HTMX
    page.click("button[value='add_row:shareholders']")
    page.wait_for_selector("#rows-shareholders fieldset.row-card >> nth=1")
    second = page.locator("#rows-shareholders fieldset.row-card").nth(1)
    second.locator("input[name$='-name']").fill("赵敏")
    second.locator("input[name$='-id_number']").fill("110105198001010112")
    second.locator("input[name$='-subscribed_amount']").fill("100")
    second.locator("select[name$='-contribution_form']").select_option("ip")
    second.locator("input[name$='-due_date']").fill("2029-06-30")
    page.set_input_files(
        "#a-articles_of_association", files=[_file("公司章程.pdf", PDF_BYTES, "application/pdf")]
    )
    page.set_input_files("#a-address_proof", files=[_file("租赁合同.pdf", PDF_BYTES, "application/pdf")])
    page.set_input_files("#a-id_copies", files=[_file("身份证.png", PNG_BYTES, "image/png")])
    shots(page, "form-filled")
    page.click("button[value='save']:not(.visually-hidden)")
    page.wait_for_selector("text=草稿已保存")
    shots(page, "draft-saved")
    assert page.input_value("#f-company_name") == "北京星河数据科技有限公司"
    page.click("button[value='submit']")
    page.wait_for_url(f"**/cases/{reference}/")
    shots(page, "submitted")
    case = Case.objects.get(reference=reference)
    assert case.status == CaseStatus.SUBMITTED  # received; 受理 comes first
    assert len(case.data["shareholders"]) == 2
    assert case.attachments.count() == 3

    # Then market regulation accepts the application (受理) on the case page
    market = browser_for(base_data["market_regulation_reviewer"])
    _decide(market, case, "accept", "accept", "申请材料齐全，符合法定形式，予以受理。", shots, "acceptance")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.accepted_at is not None

    # Then the automatic checks run and market regulation registers the company
    outbox_drain()
    market.goto("/inbox/")
    shots(market, "inbox-market")
    task = live_task(case, "registration")
    market.click(f"#task-{task.pk} button:has-text('签收')")
    market.wait_for_selector(f"#task-{task.pk} >> text=办理")
    shots(market, "inbox-claimed")
    market.set_viewport_size({"width": 390, "height": 844})
    shots(market, "inbox-phone", full_page=False)
    market.set_viewport_size({"width": 1280, "height": 900})
    _decide(
        market, case, "registration", "approve", "材料齐全，准予设立登记。", shots, "case-market-reviewer"
    )
    outbox_drain()

    # and six departments approve side by side
    open_nodes = set(Task.objects.filter(case=case, status=TaskStatus.OPEN).values_list("node_id", flat=True))
    assert open_nodes == set(BUSINESS_PARALLEL)
    departments = {
        "seal": "public_security",
        "tax": "tax",
        "social_insurance": "human_resources",
        "medical_insurance": "medical_insurance",
        "housing_fund": "housing_fund",
        "bank_account": "bank",
    }
    pages = {node: browser_for(base_data[f"{dept}_reviewer"]) for node, dept in departments.items()}
    for node, reviewer_page in pages.items():
        _decide(
            reviewer_page,
            case,
            node,
            "approve",
            "同意。",
            shots if node == "tax" else None,
            "case-tax-reviewer",
        )

    # the applicant sees the case approved, with every decision
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    page.goto(f"/cases/{reference}/")
    assert page.inner_text("#case-status") == "已办结（准予许可）" or "准予" in page.inner_text(
        "#case-status"
    )
    assert page.locator("#certificates").is_visible()
    shots(page, "approved")
    phone = browser_for(applicant, viewport={"width": 390, "height": 844})
    phone.goto(f"/cases/{reference}/")
    shots(phone, "approved-phone")


def test_construction_permit_returned_for_correction_then_corrected_and_goes_on(
    base_data, browser_for, shots
):
    applicant = base_data["applicant"]
    case = submitted(applicant, "construction_permit", project_name="朝阳区社区卫生服务中心改扩建工程")
    land = live_task(case, "s1_land_review")
    # Given the land reviewer returns the case, first forgetting the opinion
    reviewer = browser_for(base_data["natural_resources_reviewer"])
    reviewer.goto(f"/cases/{case.reference}/")
    # (签收 first: the decision form opens once the task is the reviewer's)
    reviewer.click(f"form[action='/inbox/tasks/{land.pk}/claim/'] button[type=submit]")
    reviewer.check(f"#outcome-{land.pk}-return")
    reviewer.click(f"form[action='/inbox/tasks/{land.pk}/decide/'] button[type=submit]")
    reviewer.wait_for_selector(f"#opinion-{land.pk}-error")
    assert "意见" in reviewer.inner_text(f"#opinion-{land.pk}-error")
    assert reviewer.is_checked(f"#outcome-{land.pk}-return")  # the choice survives the error
    shots(reviewer, "return-needs-opinion")
    reviewer.fill(f"#opinion-{land.pk}", "请补正：土地权属证明不清晰，请重新上传；用地面积请按红线图核实。")
    reviewer.click(f"form[action='/inbox/tasks/{land.pk}/decide/'] button[type=submit]")
    reviewer.wait_for_url("**/inbox/")
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CORRECTION

    # When the applicant reads the request and corrects the application
    page = browser_for(applicant)
    page.goto(f"/cases/{case.reference}/")
    assert "土地权属证明不清晰" in page.inner_text("#correction-request")
    shots(page, "correction-requested")
    page.click("#correction-request a.button")
    page.wait_for_url(f"**/cases/{case.reference}/correct/")
    page.fill("#f-site_area", "12500.50")
    page.set_input_files("#a-land_documents", files=[_file("土地证.pdf", PDF_BYTES, "application/pdf")])
    shots(page, "correction-form")
    page.click("button[value='submit']")
    page.wait_for_url(f"**/cases/{case.reference}/")
    shots(page, "corrected")

    # Then the land review starts its second round and the case is in review again
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.data["site_area"] == "12500.50"
    second = live_task(case, "s1_land_review")
    assert second.round == 2
    reviewer.goto("/inbox/")
    assert reviewer.locator(f"#task-{second.pk}").is_visible()
    shots(reviewer, "inbox-second-round")


def test_a_bad_upload_and_a_bad_id_number_show_clear_errors_and_lose_nothing_typed(
    base_data, browser_for, shots
):
    applicant = base_data["applicant"]
    page = browser_for(applicant)
    page.goto("/services/business_setup/")
    page.click("text=开始申请")
    page.wait_for_url(re.compile(r".*/edit/$"))
    typed = _fill_business_setup(page, id_number="110105194912310021")  # wrong check digit
    # a text file named .pdf
    page.set_input_files(
        "#a-articles_of_association",
        files=[_file("章程.pdf", "这不是PDF，只是文字。".encode(), "application/pdf")],
    )
    page.click("button[value='submit']")
    page.wait_for_selector("#error-summary")
    shots(page, "errors")
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "errors-phone", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    id_error = page.inner_text("#f-legal_rep_id_number-error")
    upload_error = page.inner_text("#a-articles_of_association-error")
    assert "身份证" in id_error or "校验" in id_error
    assert "章程.pdf" in upload_error
    assert "PDF" in upload_error
    # everything typed is still there
    for field_id, value in typed.items():
        assert page.input_value(f"#{field_id}") == value, field_id
    assert page.locator("#f-entity_type").input_value() == "llc"
    assert page.is_checked("#f-need_invoice")
    reference = page.url.rstrip("/").split("/")[-2]
    assert Case.objects.get(reference=reference).status == CaseStatus.DRAFT
    # the error summary links to the field
    page.click("#error-summary a[href='#f-legal_rep_id_number']")
    # and English is complete too
    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    page.click("button[value='submit']")
    page.wait_for_selector("#error-summary")
    assert "check" in page.inner_text("#f-legal_rep_id_number-error").lower()
    shots(page, "errors-english")


def test_an_admin_publishes_a_template_with_an_error_sees_it_at_its_line_and_fixes_it(
    base_data, browser_for, shots
):
    page = browser_for(base_data["admin"])
    page.goto("/console/")
    shots(page, "console")
    page.goto("/console/templates/business_setup/")
    shots(page, "template-diagram")
    page.click("text=编辑并发布新版本")
    source = page.input_value("#source")
    lines = source.splitlines()
    line_number = next(i for i, line in enumerate(lines, 1) if "department: public_security" in line)
    broken = source.replace("department: public_security", "department: public_securty", 1)
    # The source is edited in the editor (CodeMirror stands in for the textarea).
    page.wait_for_selector(".CodeMirror")
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", broken)
    page.fill("#note", "公章刻制改由公安局办理")
    page.click("button[value=publish]")
    page.wait_for_selector("#problems")
    problems = page.inner_text("#problems")
    assert f"第 {line_number} 行" in problems
    assert "public_securty" in problems
    # choosing it in the list goes to its line, marked in the editor's gutter
    page.click("#problems a[data-line]")
    page.locator(".gf-problem-marker").wait_for()
    marked = page.locator(".CodeMirror-code > div", has=page.locator(".gf-problem-marker"))
    assert marked.locator(".CodeMirror-linenumber").inner_text() == str(line_number)
    shots(page, "publish-error-at-line")
    fixed = broken.replace("public_securty", "public_security").replace(
        "{zh: 公章刻制备案,", "{zh: 公章刻制及备案,", 1
    )
    assert fixed != source
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", fixed)
    page.click("button[value=simulate]")
    page.wait_for_selector("#dry-run-outcome")
    assert page.get_attribute("#dry-run-outcome", "data-outcome") == "approved"
    shots(page, "dry-run")
    page.click("button[value=publish]")
    page.wait_for_url("**/console/templates/business_setup/")
    assert "第 2 版已发布" in page.inner_text("main")
    shots(page, "published")
