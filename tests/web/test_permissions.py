"""The permission matrix: every URL that shows a case, task or attachment
(lists, search and downloads included) against the owner, another
applicant, a reviewer of a department on the case, a reviewer of another
department and an anonymous visitor. A forbidden object answers 404, the same
as one that does not exist; role pages (inbox, console) answer 403; an
anonymous visitor is sent to log in. No response to an outsider contains the
case's reference, its company name or a secret value.

Certificates have no URLs yet (they come with the certificates issue); when
they do, they belong in this matrix."""

from urllib.parse import unquote

import pytest
from django.conf import settings

from govflow.cases.attachments import attachment_add
from govflow.cases.models import CaseStatus, TaskStatus
from govflow.cases.services import case_create

from .conftest import live_task, login, pdf, submitted

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "other_applicant", "reviewer_on_case", "reviewer_elsewhere", "anonymous")
COMPANY = "北京矩阵测试科技有限公司"


@pytest.fixture
def world(base_data, applicant, other_applicant, market_reviewer, fire_reviewer):
    case = submitted(applicant, "business_setup", company_name=COMPANY)
    draft = case_create(
        applicant=applicant,
        template_code="business_setup",
        data={"company_name": COMPANY + "草稿", "legal_rep_id_number": "11010519491231002X"},
    )
    case_file = attachment_add(
        case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf()
    )
    # an attachment on the submitted case: uploaded while it was a draft in real life
    from govflow.cases.models import Attachment

    submitted_file = Attachment.objects.create(
        case=case,
        slot="address_proof",
        file=case_file.file.name,
        original_name="住所证明.pdf",
        content_type="application/pdf",
        size=case_file.size,
        sha256=case_file.sha256,
        uploaded_by=applicant,
    )
    clients = {
        "owner": login(applicant),
        "other_applicant": login(other_applicant),
        "reviewer_on_case": login(market_reviewer),
        "reviewer_elsewhere": login(fire_reviewer),
        "anonymous": None,
    }
    from django.test import Client

    clients["anonymous"] = Client()
    return {
        "case": case,
        "draft": draft,
        "draft_file": case_file,
        "case_file": submitted_file,
        "task": live_task(case, "registration"),
        "clients": clients,
        "secrets": [
            case.data["legal_rep_id_number"],
            case.data["legal_rep_phone"],
            case.data["shareholders"][0]["id_number"],
            "11010519491231002X",
        ],
    }


def _leaks(world, response, url: str = "") -> list[str]:
    """Case data in a response that the request itself did not carry (a page
    may echo its own address or search words; that tells nobody anything)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    asked = unquote(url)
    needles = [world["case"].reference, world["draft"].reference, COMPANY, *world["secrets"]]
    return [needle for needle in needles if needle in text and needle not in asked]


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


# (url builder, expected status per persona). "login" means a redirect to the login page.
CASE_PAGES = {
    "case page": (
        lambda w: f"/cases/{w['case'].reference}/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 200, "reviewer_elsewhere": 404},
    ),
    "draft page": (
        lambda w: f"/cases/{w['draft'].reference}/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "draft form": (
        lambda w: f"/cases/{w['draft'].reference}/edit/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "table row": (
        lambda w: f"/cases/{w['draft'].reference}/rows/shareholders/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "correction form": (
        lambda w: f"/cases/{w['case'].reference}/correct/",
        {"owner": 302, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "withdraw page": (
        lambda w: f"/cases/{w['case'].reference}/withdraw/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "draft attachment": (
        lambda w: f"/cases/{w['draft'].reference}/attachments/{w['draft_file'].pk}/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
    "case attachment": (
        lambda w: f"/cases/{w['case'].reference}/attachments/{w['case_file'].pk}/",
        {"owner": 200, "other_applicant": 404, "reviewer_on_case": 200, "reviewer_elsewhere": 404},
    ),
    "attachment under the wrong case": (
        lambda w: f"/cases/{w['case'].reference}/attachments/{w['draft_file'].pk}/",
        {"owner": 404, "other_applicant": 404, "reviewer_on_case": 404, "reviewer_elsewhere": 404},
    ),
}


@pytest.mark.parametrize("page", list(CASE_PAGES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_case_urls(world, page, persona):
    url_of, expected = CASE_PAGES[page]
    url = url_of(world)
    response = world["clients"][persona].get(url)
    if persona == "anonymous":
        assert _is_login_redirect(response)
        return
    assert response.status_code == expected[persona], (page, persona)
    if expected[persona] == 404:
        assert _leaks(world, response, url) == []
        assert "页面不存在" in response.content.decode()  # the site's own 404 page, same as a missing case


LISTS = {
    "my applications": "/cases/",
    "my applications, searched": "/cases/?q={ref}",
    "my applications, searched by name": "/cases/?q=" + COMPANY,
    "inbox": "/inbox/",
    "inbox, searched": "/inbox/?q={ref}",
    "inbox, decided": "/inbox/?status=done",
    "inbox, overdue": "/inbox/?due=overdue",
    "department dashboard": "/inbox/department/",
}
# Who may see the case in each list; everyone else gets no row (or 403 for role pages).
LIST_SEES = {
    "my applications": {"owner"},
    "my applications, searched": {"owner"},
    "my applications, searched by name": {"owner"},
    "inbox": {"reviewer_on_case"},
    "inbox, searched": {"reviewer_on_case"},
    "inbox, decided": {"reviewer_on_case"},  # market regulation accepted it (受理)
    "inbox, overdue": set(),
    "department dashboard": set(),
}
ROLE_PAGES = {"inbox", "inbox, searched", "inbox, decided", "inbox, overdue", "department dashboard"}


@pytest.mark.parametrize("listing", list(LISTS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_and_search(world, listing, persona):
    url = LISTS[listing].format(ref=world["case"].reference)
    response = world["clients"][persona].get(url)
    if persona == "anonymous":
        assert _is_login_redirect(response)
        return
    if listing in ROLE_PAGES and persona in ("owner", "other_applicant"):
        assert response.status_code == 403
        assert _leaks(world, response, url) == []
        return
    if listing == "department dashboard":
        assert response.status_code == 403  # only heads
        return
    assert response.status_code == 200
    shows = f"/cases/{world['case'].reference}/" in response.content.decode()  # a row links to the case
    assert shows == (persona in LIST_SEES[listing]), (listing, persona)
    if persona not in LIST_SEES[listing]:
        assert _leaks(world, response, url) == []


def test_the_head_of_the_department_on_the_case_sees_it_on_the_dashboard(world, base_data):
    other_head = login(base_data["fire_head"]).get("/inbox/department/")
    head = login(base_data["market_regulation_head"]).get("/inbox/department/")
    assert head.status_code == 200
    assert world["case"].reference in head.content.decode()
    assert other_head.status_code == 200
    assert _leaks(world, other_head) == []


TASK_ACTIONS = ("claim", "release", "decide", "handover")


@pytest.mark.parametrize("action", TASK_ACTIONS)
@pytest.mark.parametrize("persona", ["owner", "other_applicant", "reviewer_elsewhere", "anonymous"])
def test_task_actions_by_outsiders_are_refused_and_change_nothing(world, base_data, action, persona):
    task = world["task"]
    data = {"outcome": "approve", "opinion": "越权", "to_user": base_data["fire_reviewer"].pk}

    response = world["clients"][persona].post(f"/inbox/tasks/{task.pk}/{action}/", data)

    if persona == "anonymous":
        assert _is_login_redirect(response)
    elif persona == "reviewer_elsewhere":
        assert response.status_code == 404
    else:
        assert response.status_code == 403  # applicants have no inbox at all
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.assignee_id is None
    world["case"].refresh_from_db()
    assert world["case"].status == CaseStatus.IN_REVIEW


@pytest.mark.parametrize("persona", ["other_applicant", "reviewer_on_case", "reviewer_elsewhere"])
def test_only_the_owner_can_edit_submit_correct_or_withdraw(world, persona):
    client = world["clients"][persona]
    draft, case = world["draft"], world["case"]

    responses = [
        client.post(f"/cases/{draft.reference}/edit/", {"action": "submit", "company_name": "篡改"}),
        client.post(f"/cases/{case.reference}/correct/", {"action": "submit", "company_name": "篡改"}),
        client.post(f"/cases/{draft.reference}/withdraw/", {"reason": "x"}),
        client.post(f"/cases/{case.reference}/withdraw/", {"reason": "x"}),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    draft.refresh_from_db()
    case.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT
    assert draft.data["company_name"] == COMPANY + "草稿"
    assert case.status == CaseStatus.IN_REVIEW


def test_admin_console_is_for_process_admins_only(world, base_data):
    for persona in ("owner", "reviewer_on_case"):
        assert world["clients"][persona].get("/console/").status_code == 403
        assert (
            world["clients"][persona]
            .post("/console/editor/", {"action": "publish", "source": "x"})
            .status_code
            == 403
        )
    assert _is_login_redirect(world["clients"]["anonymous"].get("/console/"))
    assert login(base_data["admin"]).get("/console/").status_code == 200
