"""The outbox relay on PostgreSQL and Redis: what leaving the broker out of the
request saves, how fast the relay publishes, how soon a commit is published.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N \
        .venv/bin/python bench/relay.py [--rows N] [--json FILE]

1. request path: the broker call a committing request made before the relay
   (`dispatch`, one Celery message), against the NOTIFY the outbox insert
   now sends from its trigger (the same one-row insert and COMMIT with the
   trigger and without it, rounds alternating, the median transaction);
2. throughput: N committed rows (default 20,000) published by `relay_drain`
   (100 to a message), rows per second;
3. latency: a real relay (`manage.py outbox_relay`) running, 300 one-row
   transactions committed 20 ms apart; from sending each COMMIT to the
   relay taking the row into a batch (it publishes the batch at once),
   p50/p95/p99;
4. parallel commits: `--writers` connections (default 4) committing one-row
   outbox inserts for 3 s, with the NOTIFY and with it switched off
   (`govflow.outbox_notify`), six rounds alternating, the medians: a
   notifying transaction holds a cluster-wide lock until its commit is
   flushed, so notifying writers cannot share a WAL flush.

Uses its own database (`govflow_bench_relay`, recreated each run) on the
server of DATABASE_URL, and empties the Redis database of REDIS_URL
(messages nobody consumes) at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from fresh import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "govflow_bench_relay"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def parallel_commits(url: str, writers: int, prefix: str, *, notify: bool, seconds: float = 3.0) -> float:
    """Commits per second of `writers` connections inserting one outbox row
    per transaction for `seconds` (created_at: the clock when each is
    written, so a relay's lag can be read off the rows)."""
    import threading

    import psycopg

    counts = [0] * writers
    stop = time.monotonic() + seconds

    def write(index: int) -> None:
        with psycopg.connect(url) as conn:
            if not notify:
                conn.execute("SET govflow.outbox_notify = 'off'")
                conn.commit()
            n = 0
            while time.monotonic() < stop:
                conn.execute(
                    "INSERT INTO outbox_outboxmessage (key, topic, payload, created_at, attempts, last_error)"
                    " VALUES (%s, 'notify', '{\"kind\": \"bench\"}', clock_timestamp(), 0, '')",
                    [f"{prefix}-{index}-{n}"],
                )
                conn.commit()
                n += 1
            counts[index] = n

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    base = os.environ["DATABASE_URL"]
    parts = urlsplit(base)
    bench_url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    redis_url = os.environ["REDIS_URL"]
    import redis

    recreate_database(bench_url)
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "govflow.settings.local"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="govflow.settings.local")
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()

    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from govflow.outbox.models import OutboxMessage
    from govflow.outbox.relay import relay_drain
    from govflow.outbox.services import dispatch

    results: dict[str, float] = {}

    def insert(key: str) -> int:
        return OutboxMessage.objects.create(
            key=key, topic="notify", payload={"kind": "bench"}, created_at=timezone.now()
        ).pk

    # 1. The request path: the broker call it no longer makes, and the NOTIFY it makes instead.
    ids = [insert(f"warm-{n}") for n in range(200)]
    for pk in ids[:20]:
        dispatch([pk])  # connect, warm
    started = time.perf_counter()
    for pk in ids:
        dispatch([pk])
    results["request_broker_call_ms"] = (time.perf_counter() - started) / len(ids) * 1000

    def one_row_transactions(prefix: str, count: int = 200) -> list[float]:
        times = []
        for n in range(count):
            started = time.perf_counter()
            with transaction.atomic():
                insert(f"{prefix}-{n}")
            times.append((time.perf_counter() - started) * 1000)
        return times

    def trigger(on: bool) -> None:
        with connection.cursor() as cursor:
            state = "ENABLE" if on else "DISABLE"
            cursor.execute(f"ALTER TABLE outbox_outboxmessage {state} TRIGGER outbox_inserted_notify")

    one_row_transactions("warm-tx", 100)
    notifying: list[float] = []
    silent: list[float] = []
    for round_ in range(5):
        trigger(True)
        notifying += one_row_transactions(f"notify{round_}")
        trigger(False)
        silent += one_row_transactions(f"silent{round_}")
    trigger(True)
    with_notify, without = statistics.median(notifying), statistics.median(silent)
    results["insert_commit_with_notify_ms"] = with_notify
    results["insert_commit_without_notify_ms"] = without
    results["notify_cost_ms"] = with_notify - without
    OutboxMessage.objects.all().delete()
    broker.flushdb()

    # 2. Throughput of the relay's batches.
    now = timezone.now()
    for start in range(0, args.rows, 5000):
        OutboxMessage.objects.bulk_create(
            OutboxMessage(key=f"t-{n}", topic="notify", payload={"kind": "bench"}, created_at=now)
            for n in range(start, min(args.rows, start + 5000))
        )
    started = time.perf_counter()
    published = relay_drain()
    seconds = time.perf_counter() - started
    assert published == args.rows, published
    results["relay_rows_per_s"] = published / seconds
    OutboxMessage.objects.all().delete()
    broker.flushdb()

    # 3. From COMMIT to published, with a real relay LISTENing.
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "outbox_relay", "--poll", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "outbox relay ready" in relay.stdout.readline()
        committed: dict[int, float] = {}
        for n in range(300):
            with transaction.atomic():
                pk = insert(f"l-{n}")
                committed[pk] = time.time()  # COMMIT follows
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while OutboxMessage.objects.filter(next_attempt_at__isnull=True).exists():
            assert time.monotonic() < deadline, "the relay did not publish everything"
            time.sleep(0.1)
        latencies = [
            (marked.timestamp() - committed[pk]) * 1000
            for pk, marked in OutboxMessage.objects.values_list("pk", "next_attempt_at")
        ]
    finally:
        relay.terminate()
        relay.wait(timeout=15)
    results["commit_to_published_p50_ms"] = statistics.median(latencies)
    results["commit_to_published_p95_ms"] = percentile(latencies, 0.95)
    results["commit_to_published_p99_ms"] = percentile(latencies, 0.99)
    broker.flushdb()
    connection.close()

    # 4. Parallel writers, with the signal and without.
    notifying, silent = [], []
    for round_ in range(6):
        notifying.append(parallel_commits(bench_url, args.writers, f"n{round_}", notify=True))
        silent.append(parallel_commits(bench_url, args.writers, f"s{round_}", notify=False))
    results["parallel_commits_per_s_with_notify"] = statistics.median(notifying)
    results["parallel_commits_per_s_without_notify"] = statistics.median(silent)
    drop_database(bench_url)

    for name, value in results.items():
        print(f"{name:36} {value:10.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
