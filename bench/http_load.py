"""Reviewers' decisions over real HTTP: gunicorn with the production settings
in front of PostgreSQL and Redis, driven by 1, 4 and 16 concurrent clients
(threads of this process, on the same cores as the server: the load client
is included, as it would be on a 2-core test machine).

    .venv/bin/python bench/http_load.py [--clients 1,4,16] [--cases-per-client N]
                                   [--workers W] [--threads T] [--quick] [--json FILE]

The workload is bench/compare.py's "parallel review" without its correction
round (intake, then four departments' reviews in rotated order; all approve:
5 decisions per case). Drafts are created beforehand through the services;
over HTTP, each client takes its cases one after another:

  submit   POST /api/v1/cases/{ref}/submit/          (the applicant)
  inbox    GET  /api/v1/tasks/?status=open&q={ref}   (the department's reviewer)
  claim    POST /api/v1/tasks/{id}/claim/            (签收)
  decide   POST /api/v1/tasks/{id}/decide/           (approve, with an opinion)

each authenticated by an API token, each write with an Idempotency-Key, as
an integrating system would send them. Per operation and client count:
requests/s and p50/p95/p99 latency (ms). In the same run, the same decisions
through the services in one process (no HTTP) give the figure the HTTP path
is compared with: `http_decide_share_of_services_16` is decisions/s over
HTTP at 16 clients divided by decisions/s through the services.

The API's per-user rate limit is raised for the run (GOVFLOW_API_RATE_USER):
the default 600/minute is a limit for people, and the benchmark is a system.
The server's cache and broker use Redis database 12, emptied before and
after. No worker and no outbox relay run: the outbox rows wait in the
table, as they would for a relay busy elsewhere; the request does not
publish them (GOVFLOW_OUTBOX_PUBLISH=relay, docs/deploy.md), it only sends
the NOTIFY of their insert.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402  (bench/compare.py: the workload, the database set-up)

OPERATIONS = ("submit", "inbox", "claim", "decide")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


class Server:
    """gunicorn (govflow.gunicorn_conf) with govflow.settings.production."""

    def __init__(self, dsn: str, workers: int, log: Path, threads: int = 1) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKETIME", "LD_PRELOAD"))}
        env.update(
            DJANGO_SETTINGS_MODULE="govflow.settings.production",
            DATABASE_URL=dsn,
            REDIS_URL=REDIS_URL,
            DJANGO_SECRET_KEY="bench-http-" + uuid.uuid4().hex,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_DEBUG="0",
            GOVFLOW_API_RATE_USER="1000000/minute",
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS=str(threads),
        )
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:govflow.gunicorn_conf",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--access-logfile",
                    "/dev/null",
                    "govflow.wsgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    """One keep-alive connection; every request timed by operation."""

    def __init__(self, port: int, tokens: dict[str, str], timings: dict[str, list[float]]) -> None:
        self.port = port
        self.tokens = tokens
        self.timings = timings
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, operation: str, method: str, path: str, user: str, body: dict | None = None) -> dict:
        headers = {
            "Authorization": f"Token {self.tokens[user]}",
            "Accept": "application/json",
            # TLS ends at the proxy in production; SECURE_SSL_REDIRECT trusts this.
            "X-Forwarded-Proto": "https",
            "Host": "127.0.0.1",
        }
        payload = None
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body or {}, ensure_ascii=False).encode()
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a worker closed the connection: retry once on a new one
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        self.timings[operation].append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{method} {path} as {user}: {response.status} {data[:500]!r}")
        return json.loads(data)

    def run_case(self, n: int, reference: str) -> int:
        """The case from submission to its end; returns the decisions made."""
        self.call("submit", "POST", f"/api/v1/cases/{reference}/submit/", "applicant")
        decisions = 0
        for node, data, approve in compare.schedule(n, correction=False):
            assert approve
            department = "intake" if node == "intake_check" else node.removeprefix("review_")
            page = self.call("inbox", "GET", f"/api/v1/tasks/?status=open&q={reference}", department)
            task = next((row for row in page["results"] if row["node"] == node), None)
            if task is None:
                raise RuntimeError(f"{reference}: no open {node} in the {department} reviewer's inbox")
            self.call("claim", "POST", f"/api/v1/tasks/{task['id']}/claim/", department)
            self.call(
                "decide",
                "POST",
                f"/api/v1/tasks/{task['id']}/decide/",
                department,
                {"outcome": "approve", "opinion": data.get("opinion") or "同意"},
            )
            decisions += 1
        return decisions

    def close(self) -> None:
        self.connection.close()


def make_drafts(first: int, count: int) -> list[tuple[int, str]]:
    """Drafts of cases first..first+count, made through the services."""
    from govflow.cases import services

    system = compare.GovflowServices()
    drafts = []
    for n in range(first, first + count):
        case = services.case_create(
            applicant=system.applicant,
            template_code="parallel_review",
            data={"project_name": f"项目{n}"},
            now=system.now(),
        )
        drafts.append((n, case.reference))
    return drafts


def tokens() -> dict[str, str]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    User = get_user_model()
    usernames = {"applicant": "applicant"} | {
        key: f"{code}_reviewer" for key, code in compare.GOVFLOW_DEPARTMENT.items()
    }
    return {
        key: Token.objects.get_or_create(user=User.objects.get(username=username))[0].key
        for key, username in usernames.items()
    }


def run_level(port: int, keys: dict[str, str], drafts: list[tuple[int, str]], clients: int) -> dict:
    timings: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}
    lock = threading.Lock()
    errors: list[BaseException] = []
    decided = [0]
    shares = [drafts[i::clients] for i in range(clients)]

    def work(share: list[tuple[int, str]]) -> None:
        own: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}
        client = Client(port, keys, own)
        made = 0
        try:
            for n, reference in share:
                made += client.run_case(n, reference)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            client.close()
            with lock:
                decided[0] += made
                for operation, values in own.items():
                    timings[operation].extend(values)

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed; the first: {errors[0]}")
    requests = sum(len(values) for values in timings.values())
    figures = {
        "clients": clients,
        "cases": len(drafts),
        "seconds": elapsed,
        "requests_per_s": requests / elapsed,
        "decisions_per_s": decided[0] / elapsed,
        "cases_per_s": len(drafts) / elapsed,
    }
    for operation, values in timings.items():
        ms = [1000 * v for v in values]
        figures[operation] = {
            "count": len(ms),
            "per_s": len(ms) / elapsed,
            "p50_ms": statistics.median(ms),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
        }
    return figures


def services_decisions_per_s(first: int, count: int) -> float:
    """The same decisions through the services, one process, no HTTP."""
    from govflow.cases.models import Task, TaskStatus

    system = compare.GovflowServices()
    users = system.users
    cases = []
    for n in range(first, first + count):
        cases.append((n, system.start(n)))
    decisions = 0
    started = time.perf_counter()
    for n, case_id in cases:
        for node, data, _approve in compare.schedule(n, correction=False):
            department = "intake" if node == "intake_check" else node.removeprefix("review_")
            task_id = (
                Task.objects.filter(case_id=case_id, node_id=node, status=TaskStatus.OPEN)
                .values_list("pk", flat=True)
                .get()
            )
            system.services.task_claim(task_id=task_id, actor=users[department], now=system.now())
            system.services.task_complete(
                task_id=task_id,
                actor=users[department],
                outcome="approve",
                opinion=data.get("opinion") or "同意",
                now=system.now(),
            )
            decisions += 1
    return decisions / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--cases-per-client", type=int, default=12)
    parser.add_argument("--min-cases", type=int, default=60, help="at least this many cases per level")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, help="threads per worker (default: govflow.gunicorn_conf's; 1: sync workers)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_HTTP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/govflow_bench_http"
        ),
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if args.threads is None:
        from govflow import gunicorn_conf

        args.threads = gunicorn_conf.threads
    if args.quick:
        args.cases_per_client, args.min_cases = 1, 4

    # Production refuses to run without personal-data keys; the drafts made
    # here and the server must share them (keys of this run only).
    for name in ("GOVFLOW_DATA_KEYS", "GOVFLOW_DATA_HMAC_KEY"):
        os.environ.setdefault(name, base64.urlsafe_b64encode(os.urandom(32)).decode())
    compare.setup_database(args.database_url)
    flush_redis()
    keys = tokens()
    figures: dict = {
        "workload": "parallel review without correction: submit, then 5 x (inbox, claim, decide)",
        "gunicorn_workers": args.workers,
        "gunicorn_threads": args.threads,
    }
    first = 0
    plans = []
    for clients in levels:
        count = max(args.min_cases, clients * args.cases_per_client)
        plans.append((clients, make_drafts(first, count)))
        first += count
    services_cases = max(args.min_cases, 40)
    from django.db import connection

    connection.close()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-http-{os.getpid()}.log"
    server = Server(args.database_url, args.workers, log, args.threads)
    try:
        # One case to warm every worker's (thread's) imports and connections.
        servers = args.workers * args.threads
        warm = make_drafts(first, servers)
        first += servers
        connection.close()
        run_level(server.port, keys, warm, servers)
        for clients, drafts in plans:
            level = run_level(server.port, keys, drafts, clients)
            figures[f"http_requests_per_s_{clients}"] = level["requests_per_s"]
            figures[f"http_decide_per_s_{clients}"] = level["decisions_per_s"]
            for operation in OPERATIONS:
                for q in ("p50", "p95", "p99"):
                    figures[f"http_{operation}_{q}_ms_{clients}"] = level[operation][f"{q}_ms"]
            decide = level["decide"]
            print(
                f"{clients:>3} clients: {level['requests_per_s']:.0f} requests/s, "
                f"{level['decisions_per_s']:.1f} decisions/s; decide p50/p95/p99 "
                f"{decide['p50_ms']:.1f}/{decide['p95_ms']:.1f}/{decide['p99_ms']:.1f} ms",
                flush=True,
            )
    finally:
        server.stop()
        flush_redis()
    rate = services_decisions_per_s(first, services_cases)
    figures["services_decisions_per_s"] = rate
    print(f"services, one process: {rate:.1f} decisions/s (claim + decide)", flush=True)
    for clients in levels:
        figures[f"http_decide_share_of_services_{clients}"] = figures[f"http_decide_per_s_{clients}"] / rate
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
