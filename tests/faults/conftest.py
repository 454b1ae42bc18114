"""Real processes for the fault tests: Celery workers (prefork, 2 children)
on a Redis database of the test's own, a private redis-server the test may
stop, and the helpers that wait for them.

Every process started here is killed in the fixture's teardown. Tests are
transactional (`transaction=True`) so the workers, which connect to the test
database through DATABASE_URL, see what the test commits.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings

from tests.faults import handlers

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


# Waits are for something that must happen eventually, not for speed: on a
# shared, loaded CI machine they get this much more time (a wait that is met
# returns at once, so the slack costs nothing when all is well).
WAIT_SLACK = float(os.environ.get("GOVFLOW_FAULT_WAIT_SLACK", "3"))


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy (and return it)."""
    timeout *= WAIT_SLACK
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


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


class RedisServer:
    """A redis-server of the test's own, without persistence, that the test
    may stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.directory / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Under `make test-dates` (faketime) redis-server would not start:
            # its allocator, jemalloc, calls clock_gettime while libfaketime is
            # still starting up. The broker needs no faked clock.
            env={k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))},
        )
        log.close()
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """Stop it the hard way (what it holds is lost)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


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


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Point this process's Celery app (the producer: dispatch on commit)
    at `url`, and back afterwards."""
    from kombu import pools

    from govflow.celery import app

    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = url
    app.conf.broker_transport_options = dict(settings.REDIS_TRANSPORT_OPTIONS)
    app._after_fork()  # drop the pooled connections to the old broker
    try:
        yield
    finally:
        pools.reset()  # close and forget them (a closed pool would be found again by its URL)
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app._after_fork()


# -- workers ----------------------------------------------------------------


class Worker:
    """`celery worker -P prefork -c 2` in a process group of its own."""

    def __init__(self, name: str, *, broker_url: str, database_url: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"worker-{name}.log"
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
            PYTHONPATH=str(ROOT),
        )
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.faults.worker_app",
                "worker",
                "-P",
                "prefork",
                "-c",
                "2",
                "-n",
                f"{self.name}@%h",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(
            self._ready,
            timeout=45,
            what=f"worker {self.name} to be ready (log: {self.log_path})",
            interval=0.2,
        )
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}")
        return " ready." in self.log()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the worker and its children at once."""
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self.process is not None:
            # Children orphaned by the kill are in the same group.
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: finish the running tasks), then kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        self.kill()


@pytest.fixture
def workers(database_url, fault_tables, tmp_path, request) -> Iterator[Callable[..., Worker]]:
    """Start workers with `workers(broker_url)`; all are killed afterwards.
    Their logs are printed when the test failed."""
    started: list[Worker] = []

    def start(broker_url: str, name: str | None = None) -> Worker:
        worker = Worker(
            name or f"w{len(started) + 1}", broker_url=broker_url, database_url=database_url, log_dir=tmp_path
        )
        started.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for worker in started:
                print(f"--- log of worker {worker.name} ---\n{worker.log()[-6000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
