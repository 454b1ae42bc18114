"""NUL bytes and invisible characters: refused with a clear message (400 or
a message next to the field), never a 500, wherever text comes in: web
filters, web forms, the API's query parameters and bodies, and the
application form (govflow.engine.text, govflow.security.input)."""

from __future__ import annotations

import pytest
from django.test import Client

from govflow.cases.models import Case, CaseStatus
from govflow.cases.services import case_create
from govflow.demo import ensure_user
from tests.api.conftest import api_client, assert_error
from tests.web.conftest import example, live_task, pdf, png, submitted

from .test_cache_outage import post_data

pytestmark = pytest.mark.django_db

HIDDEN = ["\x00", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\x1b"]
POINTS = {char: f"U+{ord(char):04X}" for char in HIDDEN}

# (who may see the page, the address, the filter parameter, a value it takes)
FILTERS = [
    ("applicant", "/cases/", "q", "北京"),
    ("applicant", "/cases/", "status", "open"),
    ("market_regulation_reviewer", "/inbox/", "q", "北京"),
    ("market_regulation_reviewer", "/inbox/", "service", "business_setup"),
    ("market_regulation_head", "/inbox/department/", "q", "北京"),
    ("admin", "/insight/", "service", "business_setup"),
    ("admin", "/insight/", "department", "market_regulation"),
    ("admin", "/insight/export/services.csv", "service", "business_setup"),
    ("market_regulation_reviewer", "/catalog/company_register/records/", "q", "北京"),
    ("admin", "/verify/manage/", "q", "北京"),
    ("auditor", "/audit/", "actor", "admin"),
    ("admin", "/webhooks/deliveries/", "q", "北京"),
]


def client_of(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def users(base_data):
    return base_data


@pytest.mark.parametrize(("who", "url", "param", "clean"), FILTERS, ids=[f"{f[1]}?{f[2]}" for f in FILTERS])
def test_a_refused_character_in_a_web_filter_is_a_400_naming_it(users, who, url, param, clean):
    client = client_of(users[who])
    assert client.get(url, {param: clean}).status_code == 200  # the page and its filter exist

    for char in ("\x00", "\u200b", "\ufeff"):
        response = client.get(url, {param: f"{clean}{char}"})

        assert response.status_code == 400, (url, param, char)
        html = response.content.decode()
        assert POINTS[char] in html
        assert f"“{param}”" in html


def test_the_message_is_in_the_users_language(users):
    client = client_of(users["applicant"])
    chinese = client.get("/cases/", {"q": "\x00"}).content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/cases/", {"q": "\x00"}).content.decode()

    assert "包含不允许的字符（U+0000" in chinese
    assert "contains a character that is not allowed (U+0000" in english


def test_a_refused_character_in_the_address_names_nothing(users):
    client = client_of(users["applicant"])

    assert client.get("/catalog/lookup/%00/").status_code == 404
    assert_error(api_client(users["applicant"]).get("/api/v1/cases/GF%00/"), 404, "not_found")
    assert_error(api_client(users["applicant"]).get("/api/v1/cases/GF%E2%80%8B/"), 404, "not_found")


@pytest.mark.parametrize("char", HIDDEN, ids=POINTS.get)
def test_api_query_parameters_are_refused_by_name(users, char):
    client = api_client(users["market_regulation_reviewer"])

    error = assert_error(client.get("/api/v1/tasks/", {"q": f"a{char}"}), 400, "invalid")

    assert set(error["fields"]) == {"q"}
    assert POINTS[char] in error["message"]


def test_a_refused_parameter_name_is_not_repeated(users):
    response = client_of(users["applicant"]).get("/cases/?a%00b=1")

    assert response.status_code == 400
    assert "a\x00b" not in response.content.decode()


@pytest.mark.parametrize("char", HIDDEN, ids=POINTS.get)
def test_api_bodies_are_refused_field_by_field(users, applicant, char):
    case = submitted(applicant, "business_setup", company_name="北京测试科技有限公司")
    reviewer = api_client(users["market_regulation_reviewer"])
    task = live_task(case, "registration")

    withdraw = api_client(applicant).post(
        f"/api/v1/cases/{case.reference}/withdraw/", {"reason": f"不办了{char}"}, format="json"
    )
    decide = reviewer.post(
        f"/api/v1/tasks/{task.pk}/decide/", {"outcome": "reject", "opinion": f"材料{char}不全"}, format="json"
    )

    assert set(assert_error(withdraw, 400, "invalid")["fields"]) == {"reason"}
    assert set(assert_error(decide, 400, "invalid")["fields"]) == {"opinion"}
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_api_form_data_is_refused_by_the_forms_rules(applicant):
    client = api_client(applicant)

    created = client.post(
        "/api/v1/cases/",
        {"service": "business_setup", "data": {"company_name": "北京\u200b示例科技有限公司"}},
        format="json",
    )
    draft = client.post("/api/v1/cases/", {"service": "business_setup", "data": {}}, format="json").json()
    patched = client.patch(
        f"/api/v1/cases/{draft['reference']}/",
        {"data": {"shareholders": [{"name": "王\x00五"}]}},
        format="json",
    )

    error = assert_error(created, 400, "form_invalid")
    assert set(error["fields"]) == {"company_name"}
    assert "U+200B" in error["fields"]["company_name"][0]
    assert set(assert_error(patched, 400, "form_invalid")["fields"]) == {"shareholders[0].name"}
    assert Case.objects.get(reference=draft["reference"]).data == {}


@pytest.mark.parametrize("char", HIDDEN, ids=POINTS.get)
def test_the_application_form_shows_the_refusal_next_to_the_field_and_keeps_the_draft(applicant, char):
    original = {"company_name": "北京原名"}
    draft = case_create(applicant=applicant, template_code="business_setup", data=original)
    client = client_of(applicant)

    saved = client.post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "row_version": draft.row_version, "company_name": f"北京{char}示例"},
    )

    html = saved.content.decode()
    assert saved.status_code == 200
    assert 'id="f-company_name-error"' in html
    assert POINTS[char] in html
    draft.refresh_from_db()
    assert draft.data == original  # the stored draft survives


def test_a_submission_with_an_invisible_character_is_not_submitted(applicant):
    draft = case_create(applicant=applicant, template_code="business_setup")
    client = client_of(applicant)

    response = client.post(
        f"/cases/{draft.reference}/edit/",
        {
            **post_data(example("business_setup", company_name="北京\u200d示例科技有限公司")),
            "attach-articles_of_association": pdf("章程.pdf"),
            "attach-address_proof": pdf("租赁.pdf"),
            "attach-id_copies": png("身份证.png"),
            "action": "submit",
            "row_version": draft.row_version,
        },
    )

    assert response.status_code == 200
    assert 'id="f-company_name-error"' in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT


def test_a_multiline_field_keeps_its_line_breaks(applicant):
    draft = case_create(applicant=applicant, template_code="business_setup")

    saved = client_of(applicant).post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "row_version": draft.row_version, "business_scope": "软件开发\r\n技术咨询\t服务"},
    )

    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.data["business_scope"] == "软件开发\r\n技术咨询\t服务"


@pytest.mark.parametrize("char", ["\x00", "\u200b", "\u202e"], ids=POINTS.get)
def test_other_web_forms_refuse_with_a_400(users, applicant, char):
    case = submitted(applicant, "business_setup", company_name="北京测试科技有限公司")
    task = live_task(case, "registration")
    reviewer = client_of(users["market_regulation_reviewer"])

    decide = reviewer.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "reject", "opinion": f"不全{char}"})
    withdraw = client_of(applicant).post(f"/cases/{case.reference}/withdraw/", {"reason": f"a{char}"})
    login = Client().post("/accounts/login/", {"username": f"applicant{char}", "password": "x"})

    for response in (decide, withdraw, login):
        assert response.status_code == 400
        assert POINTS[char] in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_a_password_may_hold_any_character(base_data):
    ensure_user("emoji_user", password="家👨\u200d👩\u200d👧密码", groups=("applicant",))

    response = Client().post(
        "/accounts/login/", {"username": "emoji_user", "password": "家👨\u200d👩\u200d👧密码"}
    )

    assert response.status_code == 302
