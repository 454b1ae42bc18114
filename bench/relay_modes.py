"""The outbox relay's two ways of hearing about new rows, side by side:
NOTIFY from the outbox trigger (relay polling every 5 s as a fallback)
against the NOTIFY switched off (`govflow.outbox_notify = 'off'`) and the
relay polling every 0.05 s.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N \
        .venv/bin/python bench/relay_modes.py [--writers 1,2,4] [--rounds 3] [--seconds 3] [--json FILE]

For each round and each number of writers, both modes run back to back
(the order alternating between rounds), each with a real relay
(`manage.py outbox_relay`) running: `writers` connections commit one-row
outbox inserts for `--seconds`; reported per mode, the medians over the
rounds of the commits per second, of the time from a row's transaction to
the relay marking it published (p50, p95), and of the relay's CPU time per
second. Uses its own database (`govflow_bench_relay_modes`, recreated) on
the server of DATABASE_URL and empties the Redis database of REDIS_URL.
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
from relay import parallel_commits, percentile

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "govflow_bench_relay_modes"


def relay_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(url: str, env: dict, writers: int, prefix: str, *, notify: bool, seconds: float, log) -> dict:
    import psycopg

    relay = subprocess.Popen(
        [sys.executable, "manage.py", "outbox_relay", "--poll", "5" if notify else "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert "outbox relay ready" in relay.stdout.readline()
        relay.stdout.close()  # nothing more is read: it must not fill up
        cpu_before, started = relay_cpu(relay.pid), time.monotonic()
        rate = parallel_commits(url, writers, prefix, notify=notify, seconds=seconds)
        with psycopg.connect(url) as conn:
            deadline = time.monotonic() + 60
            while conn.execute(
                "SELECT count(*) FROM outbox_outboxmessage WHERE next_attempt_at IS NULL"
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the relay did not publish everything"
                time.sleep(0.05)
            cpu = (relay_cpu(relay.pid) - cpu_before) / (time.monotonic() - started)
            lags = [
                row[0]
                for row in conn.execute(
                    "SELECT extract(epoch FROM next_attempt_at - created_at) * 1000 FROM outbox_outboxmessage"
                    " WHERE key LIKE %s",
                    [f"{prefix}-%"],
                )
            ]
            conn.execute("DELETE FROM outbox_outboxmessage")
            conn.commit()
    finally:
        relay.terminate()
        relay.wait(timeout=15)
    return {
        "commits_per_s": rate,
        "lag_p50_ms": float(percentile(lags, 0.5)),
        "lag_p95_ms": float(percentile(lags, 0.95)),
        "relay_cpu_share": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import redis

    parts = urlsplit(os.environ["DATABASE_URL"])
    url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    recreate_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "govflow.settings.local"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker.flushdb()
    measured: dict[tuple[str, int], list[dict]] = {}
    log = sys.stderr
    for round_ in range(args.rounds):
        for writers in (int(w) for w in args.writers.split(",")):
            modes = ("notify", "poll") if round_ % 2 == 0 else ("poll", "notify")
            for mode in modes:
                figures = one(
                    url,
                    env,
                    writers,
                    f"{mode}{writers}r{round_}",
                    notify=mode == "notify",
                    seconds=args.seconds,
                    log=log,
                )
                measured.setdefault((mode, writers), []).append(figures)
                broker.flushdb()
    drop_database(url)
    results = {}
    for (mode, writers), runs in sorted(measured.items(), key=lambda item: (item[0][1], item[0][0])):
        for name in runs[0]:
            results[f"{mode}_{writers}w_{name}"] = statistics.median(run[name] for run in runs)
    for name, value in results.items():
        print(f"{name:36} {value:10.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
