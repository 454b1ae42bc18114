"""Processes the tests start as an operator would: redis-server, Celery
workers, gunicorn, nginx and PgBouncer, each in a process group of its own
with its log in a file, and the waits that go with them.

Every server is started with the real clock: `make test-dates` runs pytest
under libfaketime, which reaches child processes through LD_PRELOAD; a
server (or a web or worker process signing S3 requests) must not see it.
The fault tests' workers and relays are the exception: they write times the
test compares with its own (leases, staleness), so they keep the test's
environment, faked clock included, and import the tests package first for
its sleep (tests.faults.worker_app, tests.servers.manage).
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now, chosen below the
    kernel's ephemeral range: a port from that range, free when chosen, can
    be taken as the local end of any process's outgoing connection before
    the server that was to listen on it starts (a SeaweedFS server of
    another xdist worker opens dozens), and the server then fails to bind."""
    low, _high = _ephemeral_range()
    first = 10_000 if low > 12_000 else 1_024
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            port = random.randrange(first, low)
            if port in ports:
                continue
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
            ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def free_port() -> int:
    return free_ports(1)[0]


def terminate(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM a server started with Popen, then SIGKILL it if it is still
    there after `timeout` seconds; returns once it has exited."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def real_clock_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without libfaketime (see the module's docstring)."""
    base = os.environ if base is None else base
    return {k: v for k, v in base.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))}


class Process:
    """A command in a process group of its own, its output in `log_path`."""

    def __init__(self, name: str, command: list[str], *, log_path: Path, env: Mapping[str, str], **popen):
        self.name = name
        self.command = command
        self.log_path = log_path
        self.env = dict(env)
        self.popen = popen
        self.process: subprocess.Popen | None = None

    ready_timeout = 30.0

    def start(self) -> Process:
        """Launch it and wait until it is ready."""
        self.launch()
        self.wait_ready()
        return self

    def is_ready(self) -> bool:
        return True

    def wait_ready(self) -> None:
        def ready() -> bool:
            self.check_running()
            return self.is_ready()

        wait_until(
            ready, timeout=self.ready_timeout, what=f"{self.name} (log: {self.log_path})", interval=0.2
        )

    def launch(self) -> Process:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed once the child has it
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **self.popen,
        )
        log.close()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the process and every process of its group at once."""
        if self.process is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (a graceful stop), then SIGKILL what is left."""
        if self.running():
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()


# -- redis-server -------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own, without persistence, that the test
    may stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
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
            env=real_clock_environment(),
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


# -- Celery workers -------------------------------------------------------------


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Point this process's Celery app (the producer: dispatch on commit)
    at `url`, and back afterwards."""
    from django.conf import settings
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


class Worker(Process):
    """`celery -A APP worker -P prefork -c 2` with the environment given
    (settings module, database, broker...)."""

    def __init__(
        self,
        name: str,
        *,
        log_dir: Path,
        env: Mapping[str, str],
        app: str,
        queues: str | None = None,
        host: str = "%h",
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-P",
            "prefork",
            "-c",
            "2",
            "-n",
            f"{name}@{host}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if queues:
            command += ["-Q", queues]
        environment = dict(env)
        environment.setdefault("PYTHONPATH", str(ROOT))
        super().__init__(name, command, log_path=log_dir / f"worker-{name}.log", env=environment, cwd=ROOT)

    ready_timeout = 45.0

    def is_ready(self) -> bool:
        return " ready." in self.log()

    def stop(self, timeout: float = 15) -> None:
        """Warm shutdown (SIGTERM to the main process: finish the running
        tasks), then kill."""
        if self.running():
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()


class Relay(Process):
    """`manage.py outbox_relay` (the relay role: publishes committed outbox
    rows to the broker) with the environment given."""

    def __init__(
        self, name: str, *, log_dir: Path, env: Mapping[str, str], poll: float | None = None
    ) -> None:
        command = [sys.executable, "-m", "tests.servers.manage", "outbox_relay"]
        if poll is not None:
            command += ["--poll", str(poll)]
        environment = dict(env)
        environment.setdefault("PYTHONPATH", str(ROOT))
        environment.setdefault("PYTHONUNBUFFERED", "1")
        super().__init__(name, command, log_path=log_dir / f"relay-{name}.log", env=environment, cwd=ROOT)

    ready_timeout = 45.0

    def is_ready(self) -> bool:
        return "outbox relay ready" in self.log()


# -- gunicorn, nginx, PgBouncer ---------------------------------------------------


def http_answers(url: str, *, host: str = "127.0.0.1") -> bool:
    """Whether an HTTP server answers HEAD `url` (any status below 500)."""
    request = urllib.request.Request(url, method="HEAD", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


class Gunicorn(Process):
    """govflow's web role as the image runs it: gunicorn with
    govflow.gunicorn_conf, on 127.0.0.1:`port`."""

    def __init__(self, name: str, *, log_dir: Path, env: Mapping[str, str], workers: int = 2) -> None:
        self.port = free_port()
        environment = dict(env)
        environment.update(GUNICORN_WORKERS=str(workers), GUNICORN_BIND=f"127.0.0.1:{self.port}")
        environment.setdefault("PYTHONPATH", str(ROOT))
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:govflow.gunicorn_conf",
            "govflow.wsgi:application",
        ]
        super().__init__(name, command, log_path=log_dir / f"web-{name}.log", env=environment, cwd=ROOT)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    ready_timeout = 60.0

    def is_ready(self) -> bool:
        return http_answers(f"http://{self.address}/")


NGINX_CONFIG = """\
{user}worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/temp/body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
{body}
}}
"""


class Nginx(Process):
    """Debian's nginx in the foreground with a configuration of the test's
    own (the `http` block's body, `{port}` standing for its listening port)."""

    def __init__(self, directory: Path, *, http: str) -> None:
        self.port = free_port()
        self.directory = directory
        (directory / "temp").mkdir(parents=True, exist_ok=True)
        # As root nginx's workers would run as nobody, who cannot enter pytest's folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        body = http.replace("{port}", str(self.port))
        config = directory / "nginx.conf"
        config.write_text(NGINX_CONFIG.format(user=user, dir=directory, body=body))
        command = [
            nginx_binary() or "nginx",
            "-p",
            str(directory),
            "-c",
            str(config),
            "-e",
            str(directory / "nginx-error.log"),
        ]
        super().__init__("nginx", command, log_path=directory / "nginx.out", env=real_clock_environment())

    ready_timeout = 20.0

    def is_ready(self) -> bool:
        return _listening(self.port)


def _listening(port: int) -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).is_file()), None
    )


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer",) if Path(path).is_file()), None
    )


class PgBouncer(Process):
    """Debian's PgBouncer in front of one PostgreSQL database, as `database`
    on 127.0.0.1:`port`. Settings from `settings` (pool_mode and the like)
    go into its [pgbouncer] section. PgBouncer refuses to run as root: as
    root it runs as the `postgres` user (or nobody) from a folder of its own."""

    def __init__(
        self, directory: Path, *, database: str, target: Mapping[str, str], settings: Mapping[str, str]
    ):
        self.port = free_port()
        self.database = database
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        connect = " ".join(f"{key}={value}" for key, value in target.items() if value)
        lines = [
            "[databases]",
            f"{database} = {connect}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            # The password (if any) is in the [databases] line; clients need none.
            "auth_type = any",
            f"logfile = {directory / 'pgbouncer.log'}",
            f"pidfile = {directory / 'pgbouncer.pid'}",
            *(f"{key} = {value}" for key, value in settings.items()),
        ]
        config = directory / "pgbouncer.ini"
        config.write_text("\n".join(lines) + "\n")
        command = [pgbouncer_binary() or "pgbouncer"]
        if os.geteuid() == 0:
            user = _unprivileged_user()
            os.chown(directory, pwd.getpwnam(user).pw_uid, -1)
            config.chmod(0o644)
            command += ["-u", user]
        command.append(str(config))
        super().__init__(
            "pgbouncer", command, log_path=directory / "pgbouncer.out", env=real_clock_environment()
        )

    ready_timeout = 20.0

    def is_ready(self) -> bool:
        return _listening(self.port)

    def log(self) -> str:
        parts = []
        for name in ("pgbouncer.out", "pgbouncer.log"):
            with suppress(FileNotFoundError):
                parts.append((self.directory / name).read_text(errors="replace"))
        return "\n".join(parts)


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("no unprivileged user (postgres, nobody) to run pgbouncer as")
