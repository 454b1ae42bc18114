"""One HTTP decision end to end, in one process: the production settings'
WSGI application (every middleware, DRF, the services) called in-process
with the same requests bench/http_load.py sends, each request's SQL
statements listed and counted, and a profile of the claims and decisions.

    .venv/bin/python bench/http_profile.py [--cases N] [--profile cprofile|pyinstrument|none]
                                            [--database-url URL]

The figures are for reading, not for a table: the statement counts are the
same on every machine (tests/api/test_query_counts.py holds them), the
times are not.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--profile", default="cprofile", choices=("cprofile", "pyinstrument", "none"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_HTTP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/govflow_bench_http"
        ),
    )
    parser.add_argument("--lines", type=int, default=80, help="cProfile: rows to print")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of one decision")
    args = parser.parse_args()
    for name in ("GOVFLOW_DATA_KEYS", "GOVFLOW_DATA_HMAC_KEY"):
        os.environ.setdefault(name, base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.update(
        DJANGO_SETTINGS_MODULE="govflow.settings.production",
        DJANGO_SECRET_KEY="bench-profile-" + uuid.uuid4().hex,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        GOVFLOW_API_RATE_USER="1000000/minute",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    )
    compare.setup_database(args.database_url)
    import http_load

    http_load.flush_redis()
    keys = http_load.tokens()
    drafts = http_load.make_drafts(0, args.cases + 1)

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    app = WSGIHandler()
    statements: dict[str, list[int]] = defaultdict(list)
    sql_of: dict[str, list[str]] = {}
    timings: dict[str, list[float]] = defaultdict(list)
    cpu_times: dict[str, list[float]] = defaultdict(list)
    sql_times: dict[str, list[float]] = defaultdict(list)
    capture = [True]

    def call(operation, method, path, user, body=None):
        payload = json.dumps(body or {}, ensure_ascii=False).encode() if method == "POST" else b""
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {keys[user]}",
            "HTTP_ACCEPT": "application/json",
            "HTTP_X_FORWARDED_PROTO": "https",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if method == "POST":
            environ.update(
                CONTENT_TYPE="application/json",
                CONTENT_LENGTH=str(len(payload)),
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
        status = []
        started, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
            data = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        timings[operation].append(time.perf_counter() - started)
        cpu_times[operation].append(time.process_time() - cpu)
        if not status[0].startswith("200"):
            raise RuntimeError(f"{method} {path}: {status[0]} {data[:300]!r}")
        if capture[0]:
            for q in queries.captured_queries:
                sql_times[(q["sql"] or "")[:60]].append(float(q["time"]))
            statements[operation].append(len(queries))
            sql_of.setdefault(operation, [q["sql"] for q in queries.captured_queries])
        return json.loads(data)

    class InProcess(http_load.Client):
        def __init__(self):
            self.tokens = keys

        def call(self, operation, method, path, user, body=None):
            return call(operation, method, path, user, body)

    client = InProcess()
    connection.close()
    # Warm: imports, prepared statements, the first connection.
    client.run_case(*drafts[0])
    profiler = None
    if args.profile == "cprofile":
        import cProfile

        # CPU time of this process: the waits for PostgreSQL and Redis (and
        # for a busy machine's other processes) are left out.
        profiler = cProfile.Profile()
    elif args.profile == "pyinstrument":
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005)
    if profiler:
        profiler.enable() if args.profile == "cprofile" else profiler.start()
    for n, reference in drafts[1:]:
        client.run_case(n, reference)
    if profiler:
        profiler.disable() if args.profile == "cprofile" else profiler.stop()
    connection.close()

    for operation, counts in statements.items():
        ms = sorted(1000 * t for t in timings[operation])
        cpu = sorted(1000 * t for t in cpu_times[operation])
        print(
            f"{operation:>7}: statements {Counter(counts).most_common()}, "
            f"median {ms[len(ms) // 2]:.2f} ms wall, {cpu[len(cpu) // 2]:.2f} ms CPU of this process"
        )
    if args.show_sql:
        print("\nstatement (first 60 characters): count, median and total ms (wall, from the client)")
        for sql, times in sorted(sql_times.items(), key=lambda item: -sum(item[1]))[:25]:
            ordered = sorted(times)
            print(
                f"  {len(times):>5} {1000 * ordered[len(ordered) // 2]:7.2f} {1000 * sum(times):8.1f}  {sql}"
            )
        for operation in ("claim", "decide"):
            print(f"\n--- {operation}")
            for sql in sql_of.get(operation, []):
                print("  ", sql[:220])
    if args.profile == "cprofile":
        import pstats

        stats = pstats.Stats(profiler)
        stats.sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(args.lines)
        stats.sort_stats("cumulative").print_callers("compiler.py:.*[(]as_sql[)]")
    elif args.profile == "pyinstrument":
        print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
