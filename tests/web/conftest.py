"""Fixtures for the web tests: logged-in clients, cases in given states, and
for tests marked `browser` a real Chromium driven by Playwright.

Browser tests use Debian's chromium at /usr/bin/chromium (never a browser
Playwright downloads). Without it they skip with one line, unless CI=true,
where a missing browser fails the run."""

from __future__ import annotations

import contextlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

# A well-formed one-page PDF (qpdf reads it without repair).
from tests.security.pdfs import PDF_BYTES

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

# One white pixel; its image data decodes in full (uploads are decoded).
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS"
    b"\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\r\xefF\xb8\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _require_browser() -> None:
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"needs Debian's chromium at {CHROMIUM}: apt-get install chromium"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "needs Playwright for Python: pip install -r requirements.lock"
    if problem:
        if IN_CI:
            pytest.fail(f"browser tests are required under CI=true: {problem}")
        pytest.skip(problem)


@pytest.fixture(autouse=True)
def _browser_available(request):
    if request.node.get_closest_marker("browser"):
        _require_browser()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for():
    return login


def pdf(name="材料.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def png(name="scan.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def example(template_code: str, **overrides):
    from govflow.engine.simulate import example_data
    from govflow.processes.models import ProcessTemplate
    from govflow.processes.services import version_definition

    template = ProcessTemplate.objects.get(code=template_code)
    data = example_data(version_definition(template.current_version).form, today=timezone.localdate())
    return {**data, **overrides}


def submitted(applicant, template_code="business_setup", *, accepted=True, **overrides):
    """A submitted case, accepted (受理) by the accepting department unless
    `accepted=False`, whose automatic steps have run."""
    from govflow.cases.services import case_create, case_submit
    from govflow.demo_cases import accept_pending, attach_required_documents
    from govflow.outbox.services import outbox_drain

    case = case_create(
        applicant=applicant, template_code=template_code, data=example(template_code, **overrides)
    )
    attach_required_documents(case, applicant, now=timezone.now())
    case_submit(case_id=case.pk, actor=applicant)
    if accepted:
        accept_pending(case, now=timezone.now())
    outbox_drain()
    case.refresh_from_db()
    return case


def live_task(case, node_id):
    from govflow.cases.models import LIVE_TASK_STATUSES, Task

    return Task.objects.get(case=case, node_id=node_id, status__in=LIVE_TASK_STATUSES)


@pytest.fixture
def business_case(base_data, applicant):
    """A business-setup case waiting for market regulation's registration review."""
    return submitted(applicant, "business_setup", company_name="北京测试科技有限公司")


@pytest.fixture
def fixed_now():
    return datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


# -- browser ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API runs an event loop in this thread; the tests also
    # use the ORM here (outside any coroutine), which Django would refuse.
    # Other test folders import this fixture into their conftest, which makes
    # a second session fixture; Playwright allows one sync instance per
    # thread, so they share it (counted, closed by the last one).
    _require_browser()  # before launching: session fixtures are set up ahead of autouse ones
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not _SHARED:
        from playwright.sync_api import sync_playwright

        manager = sync_playwright()
        with _real_clock_environ():  # the driver (Node.js) inherits os.environ when it starts
            playwright = manager.start()
        _SHARED.update(
            manager=manager,
            browser=playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=_chromium_env()
            ),
            users=0,
        )
    _SHARED["users"] += 1
    yield _SHARED["browser"]
    _SHARED["users"] -= 1
    if _SHARED["users"] == 0:
        _SHARED["browser"].close()
        _SHARED["manager"].__exit__(None, None, None)
        _SHARED.clear()


_SHARED: dict = {}


def _chromium_env() -> dict[str, str]:
    """Under `make test-dates` Chromium runs on the machine's real clock, as
    a citizen's browser runs on its own: with faketime's monotonic clock real
    (tests/__init__.py) it hangs at start-up, and with both clocks faked it
    now and then stalls after a navigation. The server is what runs at the
    faked date."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_FAKETIME_VARIABLES)}


_FAKETIME_VARIABLES = ("LD_PRELOAD", "FAKETIME")


@contextlib.contextmanager
def _real_clock_environ():
    """Playwright's driver, a Node.js process, runs on the real clock too:
    under libfaketime 0.9.10 its absolute-deadline sleeps go wrong (see
    tests/__init__.py), and a click whose navigation the driver waits for
    then stalled until the 15 s timeout, now and then, under `make
    test-dates` only."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(_FAKETIME_VARIABLES)}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


class Shots:
    """Numbered screenshots under test-artifacts/<test name>/."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, page, label: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request):
    return Shots(request.node.name)


@pytest.fixture
def browser_for(chromium, live_server):
    """browser_for(user) -> a page logged in as the user (None: anonymous),
    in Chinese (the default language) on a desktop-sized window."""
    contexts = []

    def open_page(user=None, *, viewport=None):
        context = chromium.new_context(
            locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900}, base_url=live_server.url
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        if user is not None:
            client = login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
            )
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
