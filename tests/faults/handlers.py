"""A service-task handler that exists only in the fault tests.

Imported by the test process (so tests/data/services/faults.yaml validates)
and by the workers the tests start (tests/faults/worker_app.py). It leaves
evidence in tables of its own, created and dropped by the tests:

- fault_run: one row per run (which task, which process), committed before
  anything else, so a run that is killed is still counted;
- fault_marker: the handler's effect, keyed by the task: inserted once
  however often the task runs (the idempotency the design asks of handlers);
- fault_switch: the row 'fixed' turns the failing modes into quick ones.

The case's `mode` field says how it behaves: quick, slow_first (sleeps on
its first run, after writing its marker, so a test can kill it there), fail
(raises until fixed) and kill (SIGKILLs its own process until fixed).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from django.db import connection

from govflow.processes.handlers import HandlerContext, HandlerFailed, handler

SLOW_SECONDS = 60.0
TABLES = {
    "fault_run": "id bigserial PRIMARY KEY, task_key text NOT NULL, pid integer NOT NULL, "
    "at timestamptz NOT NULL DEFAULT clock_timestamp()",
    "fault_marker": "task_key text PRIMARY KEY",
    "fault_switch": "name text PRIMARY KEY",
}


def tables_create() -> None:
    with connection.cursor() as cursor:
        for name, columns in TABLES.items():
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TABLE {name} ({columns})")


def tables_drop() -> None:
    with connection.cursor() as cursor:
        for name in TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def task_key(case_id: int) -> str:
    return f"{case_id}:probe"


def runs(case_id: int | None = None) -> list[tuple[str, int]]:
    """(task key, pid) of every run, oldest first."""
    with connection.cursor() as cursor:
        if case_id is None:
            cursor.execute("SELECT task_key, pid FROM fault_run ORDER BY id")
        else:
            cursor.execute(
                "SELECT task_key, pid FROM fault_run WHERE task_key = %s ORDER BY id", [task_key(case_id)]
            )
        return [(key, pid) for key, pid in cursor.fetchall()]


def markers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_key FROM fault_marker ORDER BY task_key")
        return [row[0] for row in cursor.fetchall()]


def fix() -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO fault_switch (name) VALUES ('fixed') ON CONFLICT DO NOTHING")


@handler("fault_probe")
def fault_probe(ctx: HandlerContext) -> dict[str, Any]:
    key = task_key(ctx.case_id or 0)
    mode = ctx.data.get("mode", "quick")
    # The worker's connection is in autocommit here: each statement commits.
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO fault_run (task_key, pid) VALUES (%s, %s)", [key, os.getpid()])
        cursor.execute("SELECT EXISTS (SELECT 1 FROM fault_switch WHERE name = 'fixed')")
        fixed = cursor.fetchone()[0]
        if mode in ("fail", "kill") and not fixed:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise HandlerFailed("the registry is unreachable (fault test)")
        cursor.execute(
            "INSERT INTO fault_marker (task_key) VALUES (%s) ON CONFLICT DO NOTHING RETURNING task_key", [key]
        )
        first = cursor.fetchone() is not None
    if mode == "slow_first" and first:
        time.sleep(SLOW_SECONDS)
    return {"ok": True}
