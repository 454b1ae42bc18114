"""Issue 23's closing note: the eleven attacks that once got through, sent
again exactly as the issue states them, through the real app (Django's test
client on PostgreSQL; gunicorn for the request line; SQLite for item 11).
Each test asserts the refusal or the survival (status, error code, nothing
stored) and records (item, request, status, short response) in a table,
written at the end of the session to test-artifacts/attack-rerun.md
(attack-rerun-gwN.md under xdist, one per worker).

Where an existing test already runs the attack, its helpers and fixtures
are reused (tests/security/test_cache_outage.py, test_request_limits.py,
tests/web/test_database_outage.py, tests/notifications/test_mail_settings.py,
tests/test_converters.py)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govflow import cache as safe
from govflow.api.errors import RETRY_AFTER_SECONDS
from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment, Case, CaseStatus
from govflow.cases.services import case_create
from govflow.outbox.models import OutboxMessage
from govflow.webhooks.models import Delivery, Endpoint
from govflow.webhooks.services import endpoint_register
from tests.api.conftest import api_client, assert_error
from tests.faults.conftest import publishing_to
from tests.notifications.test_mail_settings import (  # noqa: F401 (fixtures)
    QUOTED,
    USER,
    _manage,
    production_environment,
    smtp_server,
)
from tests.security.test_cache_outage import _unused_port, post_data, redis_cache
from tests.security.test_request_limits import gunicorn, raw  # noqa: F401 (fixture)
from tests.test_converters import HUGE
from tests.web.conftest import example, pdf, png, submitted
from tests.web.test_database_outage import database_down  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "hostile"
ARTIFACT = ROOT / "test-artifacts"


# -- the table ---------------------------------------------------------------------


class AttackTable:
    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str]] = []

    def add(self, item: int, request: str, status, answer: str) -> None:
        self.rows.append((item, request, str(status), answer))

    def response(self, item: int, request: str, response, answer: str | None = None) -> None:
        self.add(item, request, response.status_code, answer if answer is not None else short(response))

    def markdown(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = [
            "# Issue 23: the attacks re-run",
            "",
            "Written by tests/security/test_attack_rerun.py; one row per request sent.",
            "",
            "| item | request | status | response |",
            "| --- | --- | --- | --- |",
        ]
        for item, request, status, answer in sorted(self.rows, key=lambda row: row[0]):
            lines.append(f"| {item} | {cell(request)} | {status} | {cell(answer)} |")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def attack_table(worker_id):
    table = AttackTable()
    yield table
    if table.rows:
        ARTIFACT.mkdir(exist_ok=True)
        name = "attack-rerun.md" if worker_id == "master" else f"attack-rerun-{worker_id}.md"
        (ARTIFACT / name).write_text(table.markdown(), encoding="utf-8")


def short(response, limit: int = 110) -> str:
    """The error code and message of a JSON answer, or the text of a page's
    error (or its title)."""
    content_type = response.get("Content-Type", "")
    body = response.content if not getattr(response, "streaming", False) else b""
    if content_type.startswith("application/json") and body:
        data = json.loads(body)
        if "error" in data:
            error = data["error"]
            text = f"{error['code']}: {error['message']}"
            if error["fields"]:
                text += f" {json.dumps(error['fields'], ensure_ascii=False)}"
            return text[:limit]
        return json.dumps(data, ensure_ascii=False)[:limit]
    text = body.decode("utf-8", "replace")
    for pattern in (
        r'class="field-error"[^>]*>(.*?)</p>',
        r'class="error-summary".*?<li>(.*?)</li>',
        r'class="[^"]*error[^"]*"[^>]*>(.*?)</',
        r"<title>(.*?)</title>",
    ):
        found = re.search(pattern, text, re.S)
        if found and found[1].strip():
            return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found[1]))).strip()[:limit]
    if response.status_code in (301, 302, 303):
        return f"→ {response['Location']}"
    return (content_type or "(no body)")[:limit]


# -- shared setup ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def draft(base_data, applicant) -> str:
    response = api_client(applicant).post("/api/v1/cases/", {"service": "business_setup"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["reference"]


def web(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def upload_hostile(
    table, item, applicant, reference, corpus_name, sent_as=None, content_type="application/pdf"
):
    """POST /api/v1/cases/{ref}/attachments/ with a file of the corpus;
    asserts the refusal and that nothing was stored or audited."""
    name = sent_as or corpus_name
    audited = AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count()
    response = api_client(applicant, language="en").post(
        f"/api/v1/cases/{reference}/attachments/",
        {
            "slot": "articles_of_association",
            "file": SimpleUploadedFile(name, (CORPUS / corpus_name).read_bytes(), content_type=content_type),
        },
        format="multipart",
    )
    fields = response.json().get("error", {}).get("fields", {}) if response.status_code == 400 else {}
    refusal = fields.get("articles_of_association")
    table.response(
        item,
        f"POST /api/v1/cases/{{ref}}/attachments/ (slot articles_of_association, file “{name}”)",
        response,
        f"form_invalid: {refusal[0]}" if refusal else None,
    )
    error = assert_error(response, 400, "form_invalid")
    assert list(error["fields"]) == ["articles_of_association"]
    assert f"“{name}”" in error["fields"]["articles_of_association"][0]
    assert not Attachment.objects.filter(case__reference=reference).exists()
    assert AuditEvent.objects.filter(action="ATTACHMENT_ADDED").count() == audited
    return error["fields"]["articles_of_association"][0]


# -- 1. a Redis outage -------------------------------------------------------------


@pytest.fixture
def redis_down(settings):
    """Redis as the cache and as the broker, on a port where nothing listens
    (production's default: REDIS_URL for both); rate limits on."""
    safe.breaker_reset()
    url = f"redis://127.0.0.1:{_unused_port()}/0"
    settings.CACHES = redis_cache(url)
    settings.GOVFLOW_RATE_LIMITS_ENABLED = True
    with publishing_to(url):
        yield url
    safe.breaker_reset()


@pytest.mark.django_db
def test_01_a_redis_outage_stops_neither_the_api_nor_the_web_submission(
    attack_table, redis_down, applicant, process_admin, django_capture_on_commit_callbacks
):
    endpoint_register(
        actor=process_admin,
        name="exchange",
        url="http://127.0.0.1:9/hooks",
        kinds=["case.submitted"],
        system="data exchange",
    )
    api = api_client(applicant)
    me = api.get("/api/v1/me/")
    attack_table.response(1, "GET /api/v1/me/ (token; Redis cache and broker down)", me)
    assert me.status_code == 200, me.content
    assert me.json()["username"] == "applicant"

    for attempt in range(1, 4):
        with django_capture_on_commit_callbacks(execute=True):
            created = api.post(
                "/api/v1/cases/",
                {"service": "business_setup", "data": {"company_name": f"北京缓存故障{attempt}科技有限公司"}},
                format="json",
            )
        attack_table.response(
            1,
            f"POST /api/v1/cases/ (attempt {attempt} of 3; Redis down)",
            created,
            f"created {created.json().get('reference')}",
        )
        assert created.status_code == 201, created.content
        assert Case.objects.filter(reference=created.json()["reference"]).exists()

    draft = case_create(applicant=applicant, template_code="business_setup")
    with django_capture_on_commit_callbacks(execute=True):  # the dispatch meets the dead broker
        submitted_page = web(applicant).post(
            f"/cases/{draft.reference}/edit/",
            {
                **post_data(example("business_setup")),
                "attach-articles_of_association": pdf("章程.pdf"),
                "attach-address_proof": pdf("租赁.pdf"),
                "attach-id_copies": png("身份证.png"),
                "action": "submit",
                "row_version": draft.row_version,
            },
        )
    attack_table.response(1, "POST /cases/{ref}/edit/ action=submit (web; Redis down)", submitted_page)
    assert submitted_page.status_code == 302, submitted_page.content[:500]
    draft.refresh_from_db()
    assert draft.status == CaseStatus.SUBMITTED
    # The effects wait in the database for the broker (the sweeper sends them), once each.
    assert Delivery.objects.filter(case_id=draft.pk, kind="case.submitted").count() == 1
    assert OutboxMessage.objects.filter(done_at__isnull=True).exists()


# -- 2, 3, 4. hostile uploads ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("corpus_name", "refused"),
    [
        ("pdf-openaction-hex-javascript.pdf", "contains scripts"),  # /S /J#61vaScript
        ("pdf-openaction-hex-launch.pdf", "launches a program"),  # /S /L#61unch
        ("pdf-javascript-in-object-stream.pdf", "contains scripts"),
    ],
)
def test_02_pdf_actions_are_found_by_parsing_not_by_a_byte_pattern(
    attack_table, applicant, draft, corpus_name, refused
):
    data = (CORPUS / corpus_name).read_bytes()
    if "object-stream" in corpus_name:
        assert b"JavaScript" not in data  # compressed: no byte pattern sees it
    else:
        assert b"#61" in data
    message = upload_hostile(attack_table, 2, applicant, draft, corpus_name)
    assert refused in message


@pytest.mark.django_db
def test_03_a_zip_behind_64_kib_of_padding_is_refused(attack_table, applicant, draft):
    data = (CORPUS / "pdf-64k-padding-then-zip.pdf").read_bytes()
    assert data.index(b"PK\x03\x04") - data.rindex(b"%%EOF") > 64 * 1024
    message = upload_hostile(attack_table, 3, applicant, draft, "pdf-64k-padding-then-zip.pdf")
    assert "archive hidden inside" in message


@pytest.mark.django_db
@pytest.mark.parametrize("sent_as", ["scan.html", "scan.svg", "scan.exe"])
def test_04_a_pdf_under_another_extension_is_not_stored_under_it(attack_table, applicant, draft, sent_as):
    corpus_name = {"scan.html": "pdf-named-as-html.html", "scan.svg": "pdf-named-as-svg.svg"}.get(
        sent_as, "pdf-named-as-exe.exe"
    )
    assert (CORPUS / corpus_name).read_bytes().startswith(b"%PDF-")
    message = upload_hostile(attack_table, 4, applicant, draft, corpus_name, sent_as=sent_as)
    assert f"named .{sent_as.rsplit('.', 1)[1]} but is actually PDF" in message


# -- 5. NUL in web filters ---------------------------------------------------------

NUL_FILTERS = [
    ("applicant", "/cases/?q=%00"),
    ("market_regulation_reviewer", "/inbox/?q=%00"),
    ("market_regulation_reviewer", "/inbox/?service=%00"),
    ("admin", "/insight/?service=%00"),
    ("admin", "/insight/?department=%00"),
    ("market_regulation_reviewer", "/catalog/company_register/records/?q=%00"),
    ("admin", "/verify/manage/?q=%00"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "address"), NUL_FILTERS, ids=[a for _w, a in NUL_FILTERS])
def test_05_a_nul_byte_in_a_web_filter_is_a_400_not_a_500(attack_table, base_data, who, address):
    client = web(base_data[who])
    response = client.get(address)
    attack_table.response(5, f"GET {address} (as {who})", response)
    assert response.status_code == 400, response.content[:300]
    assert "U+0000" in response.content.decode()
    assert client.get(address.replace("%00", "")).status_code == 200  # the page and its filter exist


# -- 6. webhook targets inside the network -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/"])
def test_06_a_webhook_cannot_point_inside_the_network(attack_table, settings, process_admin, target):
    settings.GOVFLOW_WEBHOOK_ALLOWED_HOSTS = []
    response = web(process_admin).post(
        "/webhooks/new/",
        {"name": "inside", "url": target, "system": "x", "kinds": ["case.submitted"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    attack_table.response(6, f"POST /webhooks/new/ url={target}", response)
    assert response.status_code in (200, 400)
    page = response.content.decode()
    assert re.search(r"169\.254\.169\.254|127\.0\.0\.1", page)
    assert "GOVFLOW_WEBHOOK_ALLOWED_HOSTS" in page
    assert not Endpoint.objects.exists()


# -- 7. invisible characters in form text ------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.django_db
@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_07_an_invisible_character_in_form_text_is_refused(attack_table, applicant, char):
    point = f"U+{ord(char):04X}"
    original = {"company_name": "北京示例科技有限公司"}
    draft = case_create(applicant=applicant, template_code="business_setup", data=original)

    saved = web(applicant).post(
        f"/cases/{draft.reference}/edit/",
        {"action": "save", "row_version": draft.row_version, "company_name": f"北京示例{char}科技有限公司"},
    )
    created = api_client(applicant).post(
        "/api/v1/cases/",
        {"service": "business_setup", "data": {"company_name": f"北京示例{char}科技有限公司"}},
        format="json",
    )

    attack_table.response(7, f"POST /cases/{{ref}}/edit/ company_name=北京示例<{point}>科技有限公司", saved)
    attack_table.response(7, f"POST /api/v1/cases/ data.company_name=北京示例<{point}>科技有限公司", created)
    assert saved.status_code == 200
    assert 'id="f-company_name-error"' in saved.content.decode()
    assert point in saved.content.decode()
    draft.refresh_from_db()
    assert draft.data == original
    error = assert_error(created, 400, "form_invalid")
    assert set(error["fields"]) == {"company_name"}
    assert point in error["fields"]["company_name"][0]
    assert not Case.objects.filter(data__company_name__contains=char).exists()


# -- 8. the mail server in production ----------------------------------------------


def test_08_production_mail_goes_to_the_server_the_environment_names(
    attack_table,
    smtp_server,  # noqa: F811
    production_environment,  # noqa: F811
):
    inbox, port = smtp_server("plain")
    production_environment["EMAIL_URL"] = f"smtp://{QUOTED}@127.0.0.1:{port}"

    result = _manage(production_environment, "sendtestemail", "admin@example.gov.cn")

    received = len(inbox.messages)
    attack_table.add(
        8,
        f"manage.py sendtestemail --settings=govflow.settings.production (EMAIL_URL=smtp://…@127.0.0.1:{port})",
        f"exit {result.returncode}",
        f"{received} message received by the SMTP server, login {inbox.messages[0][3] if received else '-'}",
    )
    assert result.returncode == 0, result.stderr
    ((sender, recipients, _content, login),) = inbox.messages
    assert (sender, recipients, login) == ("noreply@example.gov.cn", ["admin@example.gov.cn"], USER)


# -- 9. the schema and the request line --------------------------------------------


@pytest.mark.django_db
def test_09_a_reason_that_is_a_number_is_refused(attack_table, applicant):
    case = submitted(applicant, "business_setup", company_name="北京测试科技有限公司")

    response = api_client(applicant).post(
        f"/api/v1/cases/{case.reference}/withdraw/", {"reason": -195561}, format="json"
    )

    attack_table.response(9, 'POST /api/v1/cases/{ref}/withdraw/ {"reason": -195561}', response)
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"reason"}
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


@pytest.mark.django_db
def test_09_requests_valid_by_the_schema_are_taken(attack_table, applicant):
    """schemathesis's rejected valid-by-schema requests: a PATCH without
    `data`, a date before 1900, a blank `q`."""
    client = api_client(applicant)
    draft = client.post("/api/v1/cases/", {"service": "business_setup", "data": {}}, format="json").json()

    patched = client.patch(f"/api/v1/cases/{draft['reference']}/", {}, format="json")
    early = client.get("/api/v1/cases/?submitted_before=1899-12-31T23:59:59Z")
    blank = client.get("/api/v1/cases/?q=")

    attack_table.response(9, "PATCH /api/v1/cases/{ref}/ {} (no data)", patched, "row_version unchanged")
    attack_table.response(9, "GET /api/v1/cases/?submitted_before=1899-12-31T23:59:59Z", early, "listed")
    attack_table.response(9, "GET /api/v1/cases/?q=", blank, "listed")
    assert patched.status_code == 200, patched.content
    assert patched.json()["row_version"] == draft["row_version"]
    assert early.status_code == 200, early.content
    assert blank.status_code == 200, blank.content


def test_09_a_request_line_over_4094_bytes_gets_the_json_error_shape(attack_table, gunicorn):  # noqa: F811
    """Over gunicorn's default 4,094 bytes: the app answers (here 401, no
    token); over the configured limit (GUNICORN_LIMIT_REQUEST_LINE, 8,190):
    a JSON 414, never gunicorn's HTML page."""
    for length, expected, code in ((4100, 401, "not_authenticated"), (9000, 414, "uri_too_long")):
        path = "/api/v1/cases/?q=" + "a" * length
        line = f"GET {path} HTTP/1.1"
        status, headers, body = raw(
            gunicorn, f"{line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )

        is_json = headers.get("content-type", "").startswith("application/json")
        error = json.loads(body)["error"] if is_json else None
        attack_table.add(
            9,
            f"GET /api/v1/cases/?q=a…a HTTP/1.1 (request line {len(line)} bytes, through gunicorn)",
            status,
            f"{error['code']}: {error['message']}"[:110] if error else body[:80].decode("latin-1"),
        )
        assert status == expected
        assert error is not None, body[:200]
        assert error["code"] == code
        assert error["fields"] == {}


# -- 10. a PostgreSQL outage and HEAD ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_10_a_database_outage_is_a_503_with_retry_after_and_head_is_answered(
    attack_table,
    base_data,
    applicant,
    database_down,  # noqa: F811
):
    down, up = database_down
    api = api_client(applicant)
    api.raise_request_exception = False
    anonymous = Client(raise_request_exception=False)

    down()
    page = anonymous.get("/")
    answer = api.get("/api/v1/me/")
    up()
    head = Client().head("/")

    attack_table.response(
        10, "GET / (PostgreSQL unreachable)", page, f"Retry-After: {page.get('Retry-After')}"
    )
    attack_table.response(
        10,
        "GET /api/v1/me/ (token; PostgreSQL unreachable)",
        answer,
        f"{short(answer)}; Retry-After: {answer.get('Retry-After')}",
    )
    attack_table.response(
        10, "HEAD /", head, f"Content-Type {head['Content-Type']}, {len(head.content)} bytes of body"
    )
    assert page.status_code == 503
    assert page["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert_error(answer, 503, "unavailable")
    assert answer["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert head.status_code == 200
    assert head.content == b""


# -- 11. an id beyond 64 bits on SQLite ---------------------------------------------

SQLITE_SCRIPT = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    assert connection.vendor == "sqlite"
    from govflow.demo import load_base

    call_command("migrate", verbosity=0)
    load_base()
    reviewer = get_user_model().objects.get(username="market_regulation_reviewer")
    api = Client(raise_request_exception=False,
                 HTTP_AUTHORIZATION="Token " + Token.objects.create(user=reviewer).key)
    response = api.post("/api/v1/tasks/{huge}/decide/", {{"outcome": "approve"}},
                        content_type="application/json")
    print(json.dumps({{"status": response.status_code, "body": response.content.decode()}}))
    """
)


@pytest.mark.slow
def test_11_an_id_beyond_64_bits_is_a_404_on_sqlite(attack_table, tmp_path):
    # The embedded default (make run), its own SQLite file, as tests/test_converters.py runs it.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="govflow.settings.local",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="testserver",
        GOVFLOW_VAR_DIR=str(tmp_path),
        GOVFLOW_LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT),
    )

    done = subprocess.run(
        [sys.executable, "-c", SQLITE_SCRIPT.format(huge=HUGE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    error = json.loads(answer["body"])["error"]
    attack_table.add(
        11,
        f'POST /api/v1/tasks/{HUGE}/decide/ {{"outcome": "approve"}} (SQLite, make run\'s settings)',
        answer["status"],
        f"{error['code']}: {error['message']}",
    )
    assert answer["status"] == 404
    assert error["code"] == "not_found"
