"""Real processes for the fault tests: Celery workers (prefork, 2 children)
and the outbox relay that publishes to them, on a Redis database of the
test's own, a private redis-server the test may
stop, and the helpers that wait for them.

Every process started here is killed in the fixture's teardown. Tests are
transactional (`transaction=True`) so the workers, which connect to the test
database through DATABASE_URL, see what the test commits.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings

from tests.faults import handlers
from tests.servers.processes import (  # noqa: F401  (used by the fault tests)
    WAIT_SLACK,
    RedisServer,
    Relay,
    Worker,
    publishing_to,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
FAULTS_YAML = ROOT / "tests" / "data" / "services" / "faults.yaml"
REVIEW_YAML = ROOT / "tests" / "data" / "services" / "review.yaml"
GOOD_REVIEW_DATA = {
    "company_name": "北京示例科技有限公司",
    "area": 120,
    "rep_id_number": "11010519491231002X",
}
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing(what: str, how: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available ({how})")
    pytest.skip(f"needs {what}: {how}")


def _xdist_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


# -- the test database, as the workers must see it ---------------------------


@pytest.fixture
def database_url(transactional_db) -> str:
    from django.db import connection

    assert connection.vendor == "postgresql", "the fault tests run on PostgreSQL"
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def fault_tables(transactional_db) -> Iterator[None]:
    handlers.tables_create()
    yield
    handlers.tables_drop()


@pytest.fixture
def faults_template(base_data):
    from govflow.processes.services import process_publish

    return process_publish(source=FAULTS_YAML.read_text(encoding="utf-8")).template


@pytest.fixture
def review_template(base_data):
    from govflow.processes.services import process_publish

    return process_publish(source=REVIEW_YAML.read_text(encoding="utf-8")).template


# -- brokers ----------------------------------------------------------------


def _flush(url: str) -> None:
    import redis

    with suppress(redis.RedisError):
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


@pytest.fixture
def shared_redis_url() -> Iterator[str]:
    """A database of its own on the machine's Redis (one per xdist worker),
    emptied before and after."""
    parts = urlsplit(settings.TEST_REDIS_URL)
    url = f"redis://{parts.hostname or '127.0.0.1'}:{parts.port or 6379}/{8 + _xdist_index() % 8}"
    _flush(url)
    yield url
    _flush(url)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _missing("redis-server", "install Redis (the test starts and stops a server of its own)")
    server = RedisServer(tmp_path)
    try:
        server.start()  # a server that never answers is killed too
        yield server
    finally:
        server.kill()


# -- workers ----------------------------------------------------------------


def _process_env(database_url: str, broker_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="govflow.settings.test",
        DATABASE_URL=database_url,
        GOVFLOW_TEST_BROKER_URL=broker_url,
        GOVFLOW_OUTBOX_RETRY_BASE_SECONDS="0.2",
        GOVFLOW_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def relays(database_url, tmp_path, request) -> Iterator[Callable[..., Relay]]:
    """Start outbox relays with `relays(broker_url)`; all are killed
    afterwards. Their logs are printed when the test failed."""
    started: list[Relay] = []

    def start(broker_url: str, name: str | None = None) -> Relay:
        relay = Relay(
            name or f"r{len(started) + 1}",
            log_dir=tmp_path,
            env=_process_env(database_url, broker_url),
        )  # the relay's defaults: polling every 0.05 s, no NOTIFY
        started.append(relay)
        return relay.start()

    start.started = started
    try:
        yield start
    finally:
        for relay in started:
            relay.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for relay in started:
                print(f"--- log of relay {relay.name} ---\n{relay.log()[-6000:]}")


@pytest.fixture
def workers(database_url, fault_tables, relays, tmp_path, request) -> Iterator[Callable[..., Worker]]:
    """Start workers with `workers(broker_url)`; all are killed afterwards.
    The first worker on a broker comes with an outbox relay publishing to it
    (the relay role), unless `relay=False`. Their logs are printed when the
    test failed."""
    started: list[Worker] = []

    def start(broker_url: str, name: str | None = None, *, relay: bool = True) -> Worker:
        worker = Worker(
            name or f"w{len(started) + 1}",
            log_dir=tmp_path,
            env=_process_env(database_url, broker_url),
            app="tests.faults.worker_app",
        )
        started.append(worker)
        worker.start()
        if relay and not any(
            r.running() and r.env["GOVFLOW_TEST_BROKER_URL"] == broker_url for r in relays.started
        ):
            relays(broker_url)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for worker in started:
                print(f"--- log of worker {worker.name} ---\n{worker.log()[-6000:]}")


def supervised(workers: Callable[..., Worker], broker_url: str) -> Callable[[], None]:
    """Start a worker on the broker and return `supervise`, which starts a
    new one when it has exited: what the compose file's `restart:
    unless-stopped` does. Celery and kombu 5.7 can exit ("Unrecoverable
    error: AttributeError: 'NoneType' object has no attribute 'hostname'")
    when the broker goes away while the worker holds an unacknowledged
    message; a row it was attempting then waits out its lease
    (govflow.outbox.services.ATTEMPT_LEASE) before the sweeper re-sends it."""
    running = [workers(broker_url)]

    def supervise() -> None:
        if running[-1].process.poll() is not None:
            running.append(workers(broker_url, name=f"w{len(running) + 1}"))

    return supervise


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
