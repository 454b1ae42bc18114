"""The applicant portal through the Django test client: catalogue, the
generated form (drafts, table rows, uploads, validation), submission, the case
page, corrections, withdrawal, downloads, language and error pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment, Case, CaseStatus, TaskStatus
from govflow.cases.services import case_create
from tests.deciding import claim_and_complete

from .conftest import PDF_BYTES, example, live_task, login, pdf, png, submitted

pytestmark = pytest.mark.django_db


def _post_data(data: dict) -> dict:
    """Form fields as the browser posts them for example data."""
    posted = {}
    for key, value in data.items():
        if isinstance(value, list):
            for index, row in enumerate(value):
                for column, cell in row.items():
                    posted[f"{key}-{index}-{column}"] = str(cell)
        elif isinstance(value, bool):
            if value:
                posted[key] = "true"
        else:
            posted[key] = str(value)
    return posted


@pytest.fixture
def draft(applicant):
    return case_create(applicant=applicant, template_code="business_setup")


def test_the_catalogue_lists_services_with_time_limit_and_documents(client, base_data):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "企业开办" in html
    assert "工程建设项目审批" in html
    assert "1 个工作日" in html
    assert "120 个工作日" in html
    detail = client.get("/services/business_setup/").content.decode()
    assert "公司章程" in detail
    assert "住所使用证明" in detail
    assert "登录后申请" in detail
    assert client.get("/services/no_such_service/").status_code == 404


def test_starting_an_application_makes_a_draft_and_opens_the_form(applicant):
    client = login(applicant)
    response = client.post("/services/business_setup/apply/")
    case = Case.objects.filter(applicant=applicant).latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/edit/"
    form = client.get(response["Location"]).content.decode()
    assert case.status == CaseStatus.DRAFT
    for field_id in ("f-company_name", "f-legal_rep_id_number", "f-shareholders-0-id_number", "a-id_copies"):
        assert f'id="{field_id}"' in form
    assert 'for="f-company_name"' in form  # every input has a label


def test_saving_a_draft_keeps_exactly_what_was_typed(applicant, draft):
    client = login(applicant)
    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {
            "action": "save",
            "row_version": draft.row_version,
            "company_name": "北京半成品科技有限公司",
            "registered_capital": "abc",
            "shareholders-0-name": "王五",
            "shareholders-0-id_number": "123",
            "shareholders-5-name": "",
            "need_invoice": "true",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.data["company_name"] == "北京半成品科技有限公司"
    assert draft.data["registered_capital"] == "abc"
    assert draft.data["shareholders"] == [{"name": "王五", "id_number": "123"}]
    assert draft.data["need_invoice"] is True
    page = client.get(f"/cases/{draft.reference}/edit/").content.decode()
    assert 'value="abc"' in page
    assert 'value="王五"' in page


def test_submitting_an_invalid_form_shows_every_error_next_to_its_field_and_keeps_the_input(applicant, draft):
    client = login(applicant)
    data = example("business_setup", legal_rep_id_number="110105194912310021")  # bad check digit
    data["shareholders"][0]["id_number"] = "12345"
    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {**_post_data(data), "action": "submit", "row_version": draft.row_version},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="error-summary"' in html
    assert 'id="f-legal_rep_id_number-error"' in html
    assert "校验" in html
    assert 'id="f-shareholders-0-id_number-error"' in html
    assert 'id="a-articles_of_association-error"' in html
    assert "请上传此项材料" in html
    assert 'value="110105194912310021"' in html
    draft.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT
    assert draft.data["legal_rep_id_number"] == "110105194912310021"


def test_messages_follow_the_chosen_language(applicant, draft):
    client = login(applicant)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.post(f"/cases/{draft.reference}/edit/", {"action": "submit"}).content.decode()
    assert "This field is required." in html
    assert "Please correct the following" in html
    assert '<html lang="en">' in html


def test_chinese_is_the_default_whatever_the_browser_asks_for(client, base_data):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "办事服务" in html
    assert 'lang="zh-Hans"' in html


def test_a_complete_draft_with_its_documents_is_submitted(applicant, draft):
    client = login(applicant)
    files = {
        "attach-articles_of_association": pdf("章程.pdf"),
        "attach-address_proof": pdf("租赁.pdf"),
        "attach-id_copies": png("身份证.png"),
    }
    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {
            **_post_data(example("business_setup")),
            **files,
            "action": "submit",
            "row_version": draft.row_version,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{draft.reference}/"
    draft.refresh_from_db()
    assert draft.status == CaseStatus.SUBMITTED  # market regulation accepts it next (受理)
    assert sorted(Attachment.objects.filter(case=draft).values_list("slot", flat=True)) == [
        "address_proof",
        "articles_of_association",
        "id_copies",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "已提交" in page
    assert "暂无" in page


def test_a_refused_upload_says_why_and_stores_nothing(applicant, draft):
    client = login(applicant)
    fake = SimpleUploadedFile("章程.pdf", "纯文本，不是PDF".encode(), content_type="application/pdf")
    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "company_name": "北京保留测试有限公司", "attach-articles_of_association": fake},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "章程.pdf" in html
    assert "TXT" in html
    assert "只接受 PDF" in html
    assert not Attachment.objects.filter(case=draft).exists()
    draft.refresh_from_db()
    assert draft.data["company_name"] == "北京保留测试有限公司"  # typed data saved regardless


def test_rows_are_added_and_removed_without_losing_other_input(applicant, draft):
    client = login(applicant)
    added = client.post(
        f"/cases/{draft.reference}/edit/",
        {"action": "add_row:shareholders", "company_name": "北京行测试有限公司", "shareholders-0-name": "甲"},
    )
    assert 'id="f-shareholders-1-name"' in added.content.decode()
    client.post(
        f"/cases/{draft.reference}/edit/",
        {
            "action": "save",
            "shareholders-0-name": "甲",
            "shareholders-7-name": "乙",
            "shareholders-9-name": "丙",
        },
    )
    draft.refresh_from_db()
    assert [row["name"] for row in draft.data["shareholders"]] == ["甲", "乙", "丙"]
    client.post(
        f"/cases/{draft.reference}/edit/",
        {
            "action": "remove_row:shareholders:1",
            "shareholders-0-name": "甲",
            "shareholders-1-name": "乙",
            "shareholders-2-name": "丙",
            "company_name": "北京行测试有限公司",
        },
    )
    draft.refresh_from_db()
    assert [row["name"] for row in draft.data["shareholders"]] == ["甲", "丙"]
    assert draft.data["company_name"] == "北京行测试有限公司"
    row = client.get(f"/cases/{draft.reference}/rows/shareholders/", HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    assert "row-card" in row.content.decode()
    assert client.get(f"/cases/{draft.reference}/rows/company_name/").status_code == 404


def test_removing_an_uploaded_file(applicant, draft):
    from govflow.cases.attachments import attachment_add

    attachment = attachment_add(case_id=draft.pk, actor=applicant, slot="address_proof", upload=pdf())
    response = login(applicant).post(
        f"/cases/{draft.reference}/edit/", {"action": f"remove_attachment:{attachment.pk}"}
    )
    assert response.status_code == 200
    assert "文件已删除" in response.content.decode()
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert AuditEvent.objects.filter(action="ATTACHMENT_REMOVED", object_id=str(attachment.pk)).exists()


def test_a_stale_draft_save_from_another_window_is_refused_with_a_message(applicant, draft):
    client = login(applicant)
    client.post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "row_version": draft.row_version, "company_name": "第一个窗口"},
    )
    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "row_version": draft.row_version, "company_name": "第二个窗口"},
    )
    html = response.content.decode()
    assert "其他窗口" in html
    assert 'value="第二个窗口"' in html
    draft.refresh_from_db()
    assert draft.data["company_name"] == "第一个窗口"


def test_the_case_page_shows_progress_timeline_and_masks_the_owners_secrets(
    applicant, base_data, time_machine
):
    # A working Tuesday inside the loaded calendar: the time left is exact (not 预计).
    time_machine.move_to("2026-03-03 10:00 +08:00", tick=False)
    business_case = submitted(applicant, "business_setup", company_name="北京测试科技有限公司")
    html = login(applicant).get(f"/cases/{business_case.reference}/").content.decode()
    secret = business_case.data["legal_rep_id_number"]
    assert "办理进度" in html
    assert 'id="progress-view"' in html
    assert "设立登记审核" in html
    assert "市场监督管理局" in html
    assert "办理记录" in html
    assert "提交申请并受理" in html
    # The step under review shows the date it is due by, exact (no 预计) in a loaded year.
    steps = html.split('id="progress-view"')[1].split("</ol>")[0]
    assert "办理时限" in steps
    assert "2026-03-" in steps
    assert 'class="provisional"' not in steps
    assert "工作日" in html
    assert secret not in html
    assert secret[:4] + "**********" + secret[-4:] in html


def test_the_applicant_answers_a_correction_and_the_review_goes_on(base_data, applicant):
    case = submitted(applicant, "construction_permit")
    claim_and_complete(
        task_id=live_task(case, "s1_land_review").pk,
        actor=base_data["natural_resources_reviewer"],
        outcome="return",
        opinion="请补充土地权属证明。",
    )
    client = login(applicant)
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "需要补正材料" in page
    assert "请补充土地权属证明。" in page
    assert "计时" in page
    form = client.get(f"/cases/{case.reference}/correct/").content.decode()
    assert "部门的补正要求" in form
    posted = _post_data(case.data)
    posted.update(
        {
            "site_area": "999.99",
            "action": "submit",
            "attach-land_documents": SimpleUploadedFile(
                "土地证.pdf", PDF_BYTES, content_type="application/pdf"
            ),
        }
    )

    response = client.post(f"/cases/{case.reference}/correct/", posted)

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.data["site_area"] == "999.99"
    corrected = AuditEvent.objects.filter(case=case, action="CASE_CORRECTED").latest("id")
    assert corrected.data["fields"] == ["site_area"]
    assert live_task(case, "s1_land_review").round == 2
    names = set(
        Attachment.objects.filter(case=case, slot="land_documents").values_list("original_name", flat=True)
    )
    assert names == {"land_documents.pdf", "土地证.pdf"}  # the one submitted, and the correction's


def test_an_invalid_correction_is_refused_with_the_field_error(base_data, applicant):
    case = submitted(applicant, "construction_permit")
    claim_and_complete(
        task_id=live_task(case, "s1_land_review").pk,
        actor=base_data["natural_resources_reviewer"],
        outcome="return",
        opinion="请核实。",
    )
    posted = {**_post_data(case.data), "site_area": "-5", "action": "submit"}
    html = login(applicant).post(f"/cases/{case.reference}/correct/", posted).content.decode()
    assert 'id="f-site_area-error"' in html
    assert 'value="-5"' in html
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CORRECTION


def test_withdrawing_an_application_and_a_draft(applicant, business_case, draft):
    client = login(applicant)
    assert "确定撤回此申请吗" in client.get(f"/cases/{business_case.reference}/withdraw/").content.decode()
    client.post(f"/cases/{business_case.reference}/withdraw/", {"reason": "不再需要"})
    client.post(f"/cases/{draft.reference}/withdraw/", {})
    business_case.refresh_from_db()
    draft.refresh_from_db()
    assert business_case.status == CaseStatus.WITHDRAWN
    assert draft.status == CaseStatus.WITHDRAWN
    assert not business_case.tasks.filter(status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).exists()
    again = client.post(f"/cases/{business_case.reference}/withdraw/", {})
    assert again.status_code == 302  # ends on the case page with a message, not a traceback
    assert "已办结，不能撤回" in client.get(again["Location"]).content.decode()


def test_downloads_are_attachments_with_the_original_name_and_no_sniffing(applicant, draft):
    from govflow.cases.attachments import attachment_add

    attachment = attachment_add(
        case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf("公司章程.pdf")
    )
    response = login(applicant).get(f"/cases/{draft.reference}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_my_applications_filters_by_status(applicant, business_case, draft):
    client = login(applicant)
    drafts = client.get("/cases/?status=draft").content.decode()
    running = client.get("/cases/?status=open").content.decode()
    assert draft.reference in drafts
    assert business_case.reference not in drafts
    assert business_case.reference in running
    assert draft.reference not in running


def test_unknown_pages_and_service_errors_get_friendly_pages(applicant, business_case):
    client = login(applicant)
    missing = client.get("/cases/GFNOPE1234/")
    assert missing.status_code == 404
    assert "页面不存在" in missing.content.decode()
    apply_again = client.post("/services/no_such_service/apply/")
    assert apply_again.status_code == 404
    edit_submitted = client.get(f"/cases/{business_case.reference}/edit/")
    assert edit_submitted.status_code == 302  # a submitted case is not editable: back to its page


def test_a_csrf_failure_gets_a_page_in_the_users_language(applicant, draft):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(applicant)
    response = client.post(f"/cases/{draft.reference}/edit/", {"action": "save"})
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()


def test_server_errors_render_the_500_page_without_a_traceback(applicant, monkeypatch):
    from django.test import Client

    import govflow.web.views.portal as portal

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(portal, "services_catalogue", broken)
    client = Client(raise_request_exception=False)
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "系统繁忙" in html
    assert "secret internals" not in html
    assert "Traceback" not in html


def test_every_demo_page_renders_for_its_people(base_data):
    from django.utils import timezone

    from govflow.demo_cases import load_demo_cases

    cases = load_demo_cases(base_data, now=timezone.now())
    owner = login(base_data["applicant"])
    for case in cases:
        page = owner.get(f"/cases/{case.reference}/")
        assert page.status_code == 200, case.reference
    assert owner.get(f"/cases/{cases[0].reference}/edit/").status_code == 200
    assert owner.get(f"/cases/{cases[2].reference}/correct/").status_code == 200
    for name in ("market_regulation_reviewer", "tax_head", "natural_resources_reviewer", "bank_reviewer"):
        client = login(base_data[name])
        assert client.get("/inbox/").status_code == 200
        assert client.get("/inbox/?status=done").status_code == 200
    assert login(base_data["tax_head"]).get("/inbox/department/").status_code == 200
