"""Several machines on one: two web nodes (gunicorn with the production
settings) behind nginx (round robin), two worker nodes (Celery), one
outbox relay node, one PostgreSQL (the test database) reached by the web
nodes through PgBouncer in transaction mode and by the workers and the relay
directly, one Redis (a redis-server of
the test's own), one S3 server (SeaweedFS, tests/servers/seaweedfs.py).

Each node has its own empty local folders (GOVFLOW_VAR_DIR, MEDIA_ROOT,
GOVFLOW_CERTIFICATES_DIR), as separate machines would; they share only the
environment an operator gives every machine (docs/deploy.md) and the
signing keys (a mounted secret: each node gets its own copy).

Under CI=true a missing nginx, pgbouncer or redis-server fails the test;
elsewhere it is skipped with the package to install (scripts/system-packages.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import _missing
from tests.servers.processes import (
    ROOT,
    Gunicorn,
    Nginx,
    PgBouncer,
    Process,
    RedisServer,
    Relay,
    Worker,
    nginx_binary,
    pgbouncer_binary,
    real_clock_environment,
)
from tests.servers.seaweedfs import s3_environment, seaweedfs  # noqa: F401  (a fixture)

WORKER_HOST = "distributed"
# The response header nginx adds: the web node(s) it passed the request to.
UPSTREAM_HEADER = "X-Govflow-Upstream"

# The load balancer (docs/deploy.md, "Load balancer"): round robin over the
# web nodes, a node that refuses connections skipped for 10 s, requests
# that never reached a node passed to the next one.
NGINX_HTTP = """\
    upstream govflow_web {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{{port}};
        client_max_body_size 60m;
        large_client_header_buffers 4 8k;
        location / {{
            proxy_pass http://govflow_web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            add_header {header} $upstream_addr always;
        }}
    }}
"""

# PgBouncer as docs/deploy.md describes it for the web nodes. Round robin
# over its server connections and three of them kept open, so that two
# transactions of one client run on different server connections: anything
# that outlives a transaction (a statement prepared on the server, a WITH
# HOLD cursor, a session lock) fails here rather than by luck in production.
PGBOUNCER_SETTINGS = {
    "pool_mode": "transaction",
    "default_pool_size": "6",
    "min_pool_size": "3",
    "server_round_robin": "1",
    "max_client_conn": "200",
    "ignore_startup_parameters": "extra_float_digits",
}


KEYGEN = (
    "from django.core.management import call_command as run; run('certificate_keys'); run('audit_keygen')"
)


@dataclass
class Cluster:
    url: str
    webs: dict[str, Gunicorn]
    workers: dict[str, Worker]
    nginx: Nginx
    pgbouncer: PgBouncer
    redis: RedisServer
    nodes: dict[str, Path]
    operator_env: dict[str, str]
    prefix: str
    processes: list[Process] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """`manage.py ARGS` as an operator runs it on a machine of its own
        (production settings, PostgreSQL directly)."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.operator_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def redis_client(self):
        import redis

        return redis.Redis(port=self.redis.port, decode_responses=True)

    def redis_hash(self, key: str) -> dict[str, str]:
        return dict(self.redis_client().hgetall(key))

    def local_files(self) -> list[Path]:
        """Files under any node's media or certificates folder (there must be none)."""
        return sorted(
            path
            for node in self.nodes.values()
            for folder in ("media", "certificates")
            for path in (node / folder).rglob("*")
            if path.is_file()
        )


def _database_url(db: dict, *, host: str, port: int | str, name: str) -> str:
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{host}:{port}/{name}"


def _node(tmp_path: Path, name: str, keys: Path) -> Path:
    node = tmp_path / name
    for folder in ("var/static", "media", "certificates"):
        (node / folder).mkdir(parents=True)
    shutil.copytree(keys, node / "keys")
    return node


def _node_env(common: dict[str, str], node: Path, name: str) -> dict[str, str]:
    env = dict(common)
    env.update(
        GOVFLOW_NODE=name,
        GOVFLOW_VAR_DIR=str(node / "var"),
        GOVFLOW_MEDIA_ROOT=str(node / "media"),
        GOVFLOW_CERTIFICATES_DIR=str(node / "certificates"),
        GOVFLOW_KEYS_DIR=str(node / "keys"),
        DJANGO_STATIC_ROOT=str(node / "var" / "static"),
    )
    return env


@pytest.fixture
def cluster(transactional_db, base_data, seaweedfs, settings, tmp_path, request) -> Iterator[Cluster]:  # noqa: F811
    from django.db import connection

    for what, found, package in (
        ("nginx", nginx_binary(), "nginx-light"),
        ("pgbouncer", pgbouncer_binary(), "pgbouncer"),
        ("redis-server", shutil.which("redis-server"), "redis-server"),
    ):
        if found is None:
            _missing(what, f"apt-get install {package} (scripts/system-packages.sh lists it)")
    assert connection.vendor == "postgresql", "the distributed test runs on PostgreSQL"
    db = connection.settings_dict

    started: list[Process] = []
    redis = RedisServer(tmp_path)
    pgbouncer_dir = Path(tempfile.mkdtemp(prefix="govflow-pgbouncer-"))
    try:
        redis.start()
        pgbouncer = PgBouncer(
            pgbouncer_dir,
            database=db["NAME"],
            target={
                "host": db["HOST"] or "127.0.0.1",
                "port": str(db["PORT"] or 5432),
                "dbname": db["NAME"],
                "user": db["USER"] or "",
                "password": db.get("PASSWORD") or "",
            },
            settings=PGBOUNCER_SETTINGS,
        )
        started.append(pgbouncer.start())

        prefix = f"d-{uuid.uuid4().hex[:12]}"
        common = {
            k: v
            for k, v in real_clock_environment().items()
            if not k.startswith(("DJANGO_", "DATABASE_", "GOVFLOW_", "REDIS_", "CELERY_", "GUNICORN_"))
        }
        common.update(
            DJANGO_SETTINGS_MODULE="tests.distributed.settings",
            DJANGO_SECRET_KEY="govflow-distributed-test-secret-key-0123456789",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            # TLS ends at the load balancer in production; here nginx speaks plain HTTP.
            DJANGO_SECURE_SSL_REDIRECT="0",
            REDIS_URL=redis.url,
            EMAIL_URL="dummy://",
            GOVFLOW_DATA_KEYS=",".join(settings.GOVFLOW_DATA_KEYS),
            GOVFLOW_DATA_HMAC_KEY=settings.GOVFLOW_DATA_HMAC_KEY,
            GOVFLOW_OUTBOX_RETRY_BASE_SECONDS="0.5",
            GOVFLOW_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            **s3_environment(seaweedfs, prefix),
        )
        direct = _database_url(db, host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, name=db["NAME"])
        pooled = _database_url(db, host="127.0.0.1", port=pgbouncer.port, name=pgbouncer.database)
        # Signing keys, made once by the operator (on the real clock: a
        # certificate must not start in pytest's faked future) and copied to
        # every node, as a mounted secret would be.
        keys = tmp_path / "keys"
        keygen = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", KEYGEN],
            cwd=ROOT,
            env={**common, "DATABASE_URL": direct, "GOVFLOW_KEYS_DIR": str(keys)},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert keygen.returncode == 0, keygen.stdout + keygen.stderr
        nodes = {name: _node(tmp_path, name, keys) for name in ("web1", "web2", "w1", "w2", "r1", "operator")}

        webs = {}
        for name in ("web1", "web2"):
            env = _node_env(common, nodes[name], name)
            env.update(DATABASE_URL=pooled, DATABASE_TRANSACTION_POOLING="1", GOVFLOW_TRUSTED_PROXY_COUNT="1")
            webs[name] = Gunicorn(name, log_dir=tmp_path, env=env, workers=2)
        workers = {}
        for name in ("w1", "w2"):
            env = _node_env(common, nodes[name], name)
            env.update(DATABASE_URL=direct)
            workers[name] = Worker(
                name,
                log_dir=tmp_path,
                env=env,
                app="tests.distributed.worker_app",
                queues=f"celery,{name}",
                host=WORKER_HOST,
            )
        # The outbox relay, on a machine of its own, PostgreSQL directly (it LISTENs).
        relay_env = _node_env(common, nodes["r1"], "r1")
        relay_env.update(DATABASE_URL=direct)
        relay = Relay("r1", log_dir=tmp_path, env=relay_env)
        servers = "\n".join(
            f"        server {web.address} max_fails=1 fail_timeout=10s;" for web in webs.values()
        )
        nginx = Nginx(tmp_path / "nginx", http=NGINX_HTTP.format(servers=servers, header=UPSTREAM_HEADER))
        for process in (*webs.values(), *workers.values()):
            process.env["GOVFLOW_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{nginx.port}"
        # Every node boots at once, as machines would.
        for process in (*webs.values(), *workers.values(), relay, nginx):
            started.append(process.launch())
        for process in (*webs.values(), *workers.values(), relay, nginx):
            process.wait_ready()

        operator_env = _node_env(common, nodes["operator"], "operator")
        operator_env.update(DATABASE_URL=direct)
        yield Cluster(
            url=f"http://127.0.0.1:{nginx.port}",
            webs=webs,
            workers=workers,
            nginx=nginx,
            pgbouncer=pgbouncer,
            redis=redis,
            nodes=nodes,
            operator_env=operator_env,
            prefix=prefix,
            processes=started,
        )
    finally:
        for process in reversed(started):
            process.kill()
        redis.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for process in started:
                print(f"--- log of {process.name} ---\n{process.log()[-5000:]}")
        shutil.rmtree(pgbouncer_dir, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
