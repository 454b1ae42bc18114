"""PostgreSQL's own limit on this machine: single-row UPDATE commits per
second from Python (psycopg, autocommit), one client and two. Every
persisted figure in the suite is bounded by it: a govflow decision is at
least one commit, so `pg_commit_limit_per_s` / completions per case is the
ceiling for cases per second.

    .venv/bin/python bench/pg_ceiling.py [--seconds S] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

from fresh import recreate_database


def _client(args: tuple[str, str, tuple, float]) -> int:
    import psycopg

    dsn, sql, params, seconds = args
    done = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            conn.execute(sql, params)
            done += 1
    return done


def statements_per_second(dsn: str, jobs: list[tuple[str, tuple]], seconds: float) -> float:
    """One process per (sql, params), each running its statement in a loop in
    autocommit (every statement its own transaction) for `seconds`; the sum
    of their statements per second of wall time."""
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        counts = pool.map(_client, [(dsn, sql, params, seconds) for sql, params in jobs])
    return sum(counts) / (time.perf_counter() - started)


def commits_per_second(dsn: str, clients: int, seconds: float) -> float:
    update = "UPDATE bench_ceiling SET n = n + 1 WHERE id = %s"
    return statements_per_second(dsn, [(update, (row,)) for row in range(clients)], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/govflow_bench_ceiling"
        ),
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import psycopg

    recreate_database(args.database_url)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_ceiling (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_ceiling SELECT g, 0 FROM generate_series(0, 7) g")
        (fsync,) = conn.execute("SHOW fsync").fetchone()
        (synchronous_commit,) = conn.execute("SHOW synchronous_commit").fetchone()
    figures = {
        "pg_commit_limit_per_s": commits_per_second(args.database_url, 1, args.seconds),
        "pg_commit_limit_2clients_per_s": commits_per_second(args.database_url, 2, args.seconds),
        "pg_fsync": fsync,
        "pg_synchronous_commit": synchronous_commit,
    }
    print(
        f"PostgreSQL ceiling: {figures['pg_commit_limit_per_s']:,.0f} single-row update commits/s "
        "with 1 client, "
        f"{figures['pg_commit_limit_2clients_per_s']:,.0f} with 2 "
        f"(fsync={fsync}, synchronous_commit={synchronous_commit})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
