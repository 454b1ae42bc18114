"""govflow beside SpiffWorkflow on the reference workload "parallel review"
(../shared/bench/WORKLOAD.md), in one process run, interleaved A B A B.

    .venv/bin/python bench/compare.py [--cases N] [--repeat R] [--quick] [--json FILE]

(a) engine alone, in memory: SpiffWorkflow 3.2 on parallel_review.bpmn
    versus govflow's `step()` on bench/workloads/parallel_review.yaml;
(b) persisted after every completion: SpiffWorkflow's JSON state loaded from
    a PostgreSQL row (FOR UPDATE) and saved back, one commit per completion,
    versus govflow's services on PostgreSQL (row lock, tasks, audit chain,
    outbox, the same calls the web and API make);
(c) the same with 2 worker processes, the cases split between them;
plus the cost per case (SQL statements, bytes of WAL written), how the
time per case grows from 1,000 to 10,000 cases, and the audit chains'
appends per second from 1, 2 and 4 writers with one chain and with
--audit-chains N ... (docs/audit.md, "How many chains").

The workload is deterministic from the case number n: intake, then the four
reviews in rotated order starting at department n mod 4; department n mod 4
rejects in round 1, the case goes back to intake, and round 2 approves: 10
completions per case. Cases are interleaved: up to --window cases are open at
once and the next task is taken round-robin across them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import deque
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
BPMN = ROOT.parent / "shared" / "bench" / "parallel_review.bpmn"
if not BPMN.exists():  # a copy travels with the project for clean clones
    BPMN = HERE / "workloads" / "parallel_review.bpmn"
YAML = HERE / "workloads" / "parallel_review.yaml"
# The same process with 签收 (claim) before every decision, as a bureau's
# 收件/签收 system asks: two transactions per completion.
CLAIMED = "parallel_review_claimed"


def claimed_source() -> str:
    source = YAML.read_text(encoding="utf-8")
    assert "\nclaim_required: false\n" in source
    assert "\nid: parallel_review\n" in source
    return source.replace("\nclaim_required: false\n", "\nclaim_required: true\n").replace(
        "\nid: parallel_review\n", f"\nid: {CLAIMED}\n"
    )


NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
DEPARTMENTS = ("market", "tax", "fire", "environment")
GOVFLOW_DEPARTMENT = {
    "intake": "development_reform",
    "market": "market_regulation",
    "tax": "tax",
    "fire": "fire",
    "environment": "ecology_environment",
}


# -- the workload -----------------------------------------------------------


def schedule(n: int, correction: bool = True) -> list[tuple[str, dict, bool]]:
    """The completions of case n, in order: (node, data written, approve)."""
    steps: list[tuple[str, dict, bool]] = []
    rounds = (1, 2) if correction else (1,)
    for round_ in rounds:
        steps.append(
            (
                "intake_check",
                {
                    "applicant_name": f"申请人{n}",
                    "address": f"北京市东城区测试路{n % 500}号",
                    "applicant_type": "company" if n % 3 else "individual",
                    "area": 100 + n % 900,
                    "documents": ["申请书.pdf", "营业执照.pdf", "图纸.pdf"],
                    "note": "材料齐全" if round_ == 1 else "已补正",
                    "clerk": "clerk1",
                    "review_round": round_,
                },
                True,
            )
        )
        for i in range(4):
            department = DEPARTMENTS[(n + i) % 4]
            approve = not (correction and round_ == 1 and department == DEPARTMENTS[n % 4])
            steps.append(
                (
                    f"review_{department}",
                    {"reviewer": f"{department}_reviewer", "opinion": "同意" if approve else "请补正材料"},
                    approve,
                )
            )
    return steps


def drive(system, first: int, count: int, window: int) -> int:
    """Run cases first..first+count interleaved; returns the completions."""
    open_cases: deque = deque()
    following, end, completions = first, first + count, 0
    while open_cases or following < end:
        while len(open_cases) < window and following < end:
            open_cases.append([system.start(following), schedule(following), 0])
            following += 1
        item = open_cases.popleft()
        handle, steps, done = item
        node, data, approve = steps[done]
        system.complete(handle, node, data, approve)
        completions += 1
        item[2] += 1
        if item[2] < len(steps):
            open_cases.append(item)
        else:
            system.finish(handle)
    return completions


# -- SpiffWorkflow ----------------------------------------------------------


class SpiffMemory:
    name = "spiff"

    def __init__(self) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("parallel_review")
        self.workflow_class = BpmnWorkflow
        self.ready = TaskState.READY

    def new(self):
        workflow = self.workflow_class(self.spec)
        workflow.do_engine_steps()
        return workflow

    def run_task(self, workflow, node: str, data: dict, approve: bool) -> None:
        task = next(t for t in workflow.get_tasks(state=self.ready, manual=True) if t.task_spec.name == node)
        if node == "intake_check":
            for department in DEPARTMENTS:
                task.data.pop(f"{department}_approved", None)
            task.data.update(data)
        else:
            department = node.removeprefix("review_")
            task.data[f"{department}_approved"] = approve
            task.data[f"{department}_reviewer"] = data["reviewer"]
            task.data[f"{department}_opinion"] = data["opinion"]
        task.run()
        workflow.do_engine_steps()

    def start(self, n: int):
        return self.new()

    def complete(self, workflow, node: str, data: dict, approve: bool) -> None:
        self.run_task(workflow, node, data, approve)

    def finish(self, workflow) -> None:
        assert workflow.is_completed()
        assert workflow.data.get("review_round") == 2 or workflow.last_task.data.get("review_round") == 2


class SpiffPostgres(SpiffMemory):
    """What a server does between two requests: load the case's JSON state
    (row locked), complete one task, save it, commit."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        import psycopg
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        self.serializer = BpmnWorkflowSerializer()
        self.conn = psycopg.connect(dsn)
        self.statements = 0
        self.state_bytes: list[int] = []

    def start(self, n: int) -> int:
        state = self.serializer.serialize_json(self.new())
        with self.conn.transaction():
            row = self.conn.execute(
                "INSERT INTO bench_spiff_case (state) VALUES (%s) RETURNING id", (state,)
            ).fetchone()
        self.statements += 1
        return row[0]

    def complete(self, case_id: int, node: str, data: dict, approve: bool) -> None:
        with self.conn.transaction():
            (state,) = self.conn.execute(
                "SELECT state FROM bench_spiff_case WHERE id = %s FOR UPDATE", (case_id,)
            ).fetchone()
            workflow = self.serializer.deserialize_json(state)
            self.run_task(workflow, node, data, approve)
            state = self.serializer.serialize_json(workflow)
            self.conn.execute("UPDATE bench_spiff_case SET state = %s WHERE id = %s", (state, case_id))
        self.statements += 2

    def finish(self, case_id: int) -> None:
        (state,) = self.conn.execute(
            "SELECT state FROM bench_spiff_case WHERE id = %s", (case_id,)
        ).fetchone()
        self.conn.rollback()
        self.state_bytes.append(len(state.encode()))
        assert self.serializer.deserialize_json(state).is_completed()

    def close(self) -> None:
        self.conn.close()


# -- govflow ----------------------------------------------------------------


class GovflowMemory:
    """govflow's pure engine. Like SpiffWorkflow's workflow object, the state
    is advanced in place (`step(..., in_place=True)`, the engine's API for
    callers that drop the state when a step is refused); `copying=True`
    measures the default, which copies the state so that a refused step
    leaves it untouched (the services use that)."""

    name = "govflow"

    def __init__(self, *, copying: bool = False) -> None:
        from govflow.engine import CompleteTask, Start, load_definition, step

        self.definition = load_definition(YAML.read_bytes())
        self.step, self.start_event, self.complete_event = step, Start, CompleteTask
        self.in_place = not copying
        if copying:
            self.name = "govflow_copying"

    def start(self, n: int):
        return self.step(self.definition, None, self.start_event({"project_name": f"项目{n}"}), NOW).state

    def complete(self, state, node: str, data: dict, approve: bool) -> None:
        task_id = next(t for t, task in state["tasks"].items() if task["node"] == node)
        opinion = data.get("opinion")
        event = self.complete_event(
            task_id,
            "approve" if approve else "reject",
            actor=data.get("reviewer", "clerk1"),
            opinion=opinion,
            data=data,
        )
        if self.in_place:
            self.step(self.definition, state, event, NOW, in_place=True)
            return
        new = self.step(self.definition, state, event, NOW).state
        state.clear()
        state.update(new)

    def finish(self, state) -> None:
        assert state["status"] != "running", state.get("outcome")
        assert state["outcome"] == "approved", state.get("outcome")


class GovflowServices:
    """govflow's real write path on PostgreSQL: case_create + case_submit to
    start, task_complete per completion (each its own transaction); with
    `claim`, task_claim (签收) first, in a transaction of its own."""

    def __init__(self, *, claim: bool = False) -> None:
        from django.contrib.auth import get_user_model

        from govflow.cases import services
        from govflow.cases.models import Case, Task, TaskStatus

        User = get_user_model()
        self.services, self.Task, self.Case, self.open_ = services, Task, Case, TaskStatus.OPEN
        self.applicant = User.objects.get(username="applicant")
        self.users = {
            key: User.objects.get(username=f"{code}_reviewer") for key, code in GOVFLOW_DEPARTMENT.items()
        }
        self.tasks: dict[int, dict[str, int]] = {}
        self.claim = claim
        self.template = CLAIMED if claim else "parallel_review"
        self.clock = NOW
        # Round trips to PostgreSQL per claim and per decision, when counting
        # (`count_round_trips`: a short run of its own, as counting costs time).
        self.round_trips: dict[str, list[int]] | None = None

    def now(self) -> datetime:
        """A clock that moves a second per call, as a real one would."""
        self.clock += timedelta(seconds=1)
        return self.clock

    def start(self, n: int) -> int:
        case = self.services.case_create(
            applicant=self.applicant,
            template_code=self.template,
            data={"project_name": f"项目{n}"},
            now=self.now(),
        )
        self.services.case_submit(case_id=case.pk, actor=self.applicant, now=self.now())
        self.tasks[case.pk] = {}
        return case.pk

    def complete(self, case_id: int, node: str, data: dict, approve: bool) -> None:
        open_tasks = self.tasks[case_id]
        if node not in open_tasks:  # what the reviewer's inbox shows
            open_tasks.update(
                self.Task.objects.filter(case_id=case_id, status=self.open_).values_list("node_id", "pk")
            )
        department = "intake" if node == "intake_check" else node.removeprefix("review_")
        task_id = open_tasks.pop(node)
        if self.claim:
            with self._counted("claim"):
                self.services.task_claim(task_id=task_id, actor=self.users[department], now=self.now())
        with self._counted("decision"):
            self.services.task_complete(
                task_id=task_id,
                actor=self.users[department],
                outcome="approve" if approve else "reject",
                opinion=data.get("opinion", ""),
                data=data,
                now=self.now(),
            )

    @contextmanager
    def _counted(self, what: str):
        if self.round_trips is None:
            yield
            return
        from govflow.rawsql import round_trips

        with round_trips() as counted:
            yield
        self.round_trips.setdefault(what, []).append(counted.count)

    def finish(self, case_id: int) -> None:
        del self.tasks[case_id]
        status = self.Case.objects.filter(pk=case_id).values_list("status", flat=True).get()
        assert status == "approved", status


# -- measuring --------------------------------------------------------------


class Counter:
    """Counts SQL statements sent by Django on this connection."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def count_round_trips(first: int, count: int, window: int) -> dict[str, float]:
    """Round trips to PostgreSQL per claim and per decision (medians) on a
    short run of `count` cases (counting slows the client: not timed)."""
    system = GovflowServices(claim=True)
    system.round_trips = {}
    drive(system, first, count, window)
    return {f"govflow_{what}_round_trips": statistics.median(n) for what, n in system.round_trips.items()}


def wal_lsn(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        (lsn,) = conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()
    return int(lsn)


def database_bytes(dsn: str) -> int:
    """The bench database's size on disk (tables, indexes, TOAST)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(size)


def server_ms(dsn: str) -> float:
    """PostgreSQL's time spent executing statements in the bench database
    (pg_stat_database.active_time, PostgreSQL 14+), once every other client
    session of it has ended: a backend adds its time when it exits. Work of
    autovacuum in the database may be in it too: it is the workload's."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(100):
            (others,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()
            if not others:
                break
            time.sleep(0.02)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        (active,) = conn.execute(
            "SELECT active_time FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return float(active or 0.0)


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - started, value


def setup_database(dsn: str) -> None:
    """A fresh database: govflow's schema and demo base data, the workload's
    template published, and SpiffWorkflow's state table."""
    os.environ["DATABASE_URL"] = dsn
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.local")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["DJANGO_DEBUG"] = "0"
    import psycopg

    base, name = dsn.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    import logging

    # SpiffWorkflow logs every task state change at INFO; the settings' console
    # handler would otherwise print (and pay for) each one.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from govflow.demo import load_base
    from govflow.processes.services import process_publish

    load_base()
    process_publish(source=YAML.read_text(encoding="utf-8"), note="bench workload")
    process_publish(source=claimed_source(), note="bench workload, claimed before each decision")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_spiff_case (id bigserial PRIMARY KEY, state text NOT NULL)")


def warm_up(dsn: str, first: int, count: int, window: int) -> int:
    """Run `count` cases of each kind untimed, then ANALYZE (fresh.analyze):
    without statistics PostgreSQL planned the signing history's read
    (prepared, so planned once) as a scan of every completed task through a
    partial index, 0.6 ms per decision on 1,300 rows and growing with the
    table. Returns the next free case number."""
    from fresh import analyze

    for kind in ("spiff", "govflow", "govflow_claimed"):
        run_persisted(kind, dsn, first, count, window, alone=False)
        first += count
    analyze(dsn)
    return first


def run_persisted(kind: str, dsn: str, first: int, count: int, window: int, alone: bool = True) -> dict:
    """One run in this process; figures for `count` cases. `alone`: no other
    process uses the database, so PostgreSQL's busy time is this run's."""
    from django.db import connection

    connection.close()
    busy = server_ms(dsn) if alone else 0.0
    lsn = wal_lsn(dsn)
    projection = float("nan")
    if kind == "spiff":
        system = SpiffPostgres(dsn)
        elapsed, completions = timed(drive, system, first, count, window)
        statements = system.statements
        state_bytes = statistics.median(system.state_bytes)
        system.close()
    else:
        from govflow.insight.facts import facts_project

        system = GovflowServices(claim=kind == "govflow_claimed")
        counter = Counter()
        with connection.execute_wrapper(counter):
            elapsed, completions = timed(drive, system, first, count, window)
        statements, state_bytes = counter.count, None
    wal = wal_lsn(dsn) - lsn
    busy = server_ms(dsn) - busy if alone else float("nan")
    if kind != "spiff":
        # The dashboard's facts of this run, projected after it as beat does
        # (beside the decisions in production, so not in their figures).
        projection, _ = timed(facts_project)
        connection.close()
    return {
        "projection_ms_per_case": 1000 * projection / count,
        "seconds": elapsed,
        "cases_per_s": count / elapsed,
        "completions_per_s": completions / elapsed,
        "statements_per_case": statements / count,
        "wal_bytes_per_case": wal / count,
        "state_bytes_per_case": state_bytes,
        # PostgreSQL's own share of the wall time (statements and commits);
        # the rest is the client's Python and the round trips' latency.
        "server_ms_per_case": busy / count,
        "ms_per_case": 1000 * elapsed / count,
    }


AUDIT_APPEND = "SELECT govflow_audit_append(%s, %s::jsonb)"


def _audit_writer(args: tuple) -> int:
    """One writer: appends in a loop, each its own transaction, each to a
    chain drawn at random (as cases spread over the chains), until
    `seconds` have passed; returns how many."""
    import random

    import psycopg

    dsn, payloads, seed, seconds, synchronous = args
    rng = random.Random(seed)
    order = [rng.randrange(len(payloads)) for _ in range(4096)]
    done = 0
    options = "" if synchronous else "-c synchronous_commit=off"
    with psycopg.connect(dsn, autocommit=True, options=options) as conn, conn.cursor() as cur:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            chain = order[done % len(order)]
            cur.execute(AUDIT_APPEND, (chain, payloads[chain]))
            done += 1
    return done


def audit_appends_per_second(
    dsn: str, writers: int, seconds: float, chains: int = 1, *, synchronous: bool = True
) -> float:
    """Audit appends per second of wall time, each its own transaction (one
    event, autocommit: a head's lock is held for the append and the commit
    only), from `writers` processes over `chains` chains. With one chain
    every append waits for the one head, through the other's commit and its
    WAL flush; with N, two writers wait for each other only when they draw
    the same chain, and their commits can share a flush. Against
    pg_ceiling.py's single-row updates it shows what the chain's
    serialisation costs. `synchronous=False` commits without waiting for
    the flush (synchronous_commit=off, this session only): what is left is
    the work done under the head's lock, as on a server whose disk
    acknowledges a flush at once (a battery-backed cache)."""
    import multiprocessing

    from govflow.audit.services import PendingAudit, append_payload

    event = PendingAudit(action="BENCH_APPEND", at=NOW, object_type="bench", object_id="1")
    payloads = [append_payload([event], chain) for chain in range(chains)]
    jobs = [(dsn, payloads, 1000 * chains + writer, seconds, synchronous) for writer in range(writers)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(writers) as pool:
        counts = pool.map(_audit_writer, jobs)
    return sum(counts) / (time.perf_counter() - started)


_BARRIER = None


def _child(args: tuple) -> dict:
    kind, dsn, first, count, window = args
    from django.db import connection

    connection.close()
    _BARRIER.wait()
    return run_persisted(kind, dsn, first, count, window, alone=False)


def run_parallel(kind: str, dsn: str, first: int, count: int, window: int, processes: int) -> float:
    """Cases per second of wall time with `processes` forked workers."""
    import multiprocessing

    from django.db import connection

    global _BARRIER
    connection.close()
    ctx = multiprocessing.get_context("fork")
    _BARRIER = ctx.Barrier(processes + 1)
    share = count // processes
    jobs = [(kind, dsn, first + i * share, share, window) for i in range(processes)]
    with ctx.Pool(processes) as pool:
        pending = pool.map_async(_child, jobs)
        _BARRIER.wait(timeout=300)
        started = time.perf_counter()
        pending.get(timeout=7200)
        elapsed = time.perf_counter() - started
    return share * processes / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--memory-cases", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10_000, help="the growth check's larger run (govflow)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--window", type=int, default=50, help="cases open at once")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--audit-chains",
        type=int,
        nargs="+",
        default=[4, 8],
        metavar="N",
        help="chain counts measured beside the single chain (GOVFLOW_AUDIT_CHAINS candidates)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/govflow_bench_compare"
        ),
    )
    parser.add_argument(
        "--only", choices=["memory", "persisted", "parallel", "growth", "audit"], action="append"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.cases, args.memory_cases, args.large, args.repeat = 60, 100, 0, 1
    parts = set(args.only or ["memory", "persisted", "parallel", "growth", "audit"])
    figures: dict = {"workload": "parallel review, 10 completions per case", "cases": args.cases}

    # (a) engine alone, in memory
    if "memory" in parts:
        systems = (SpiffMemory(), GovflowMemory(), GovflowMemory(copying=True))
        rates: dict[str, list[float]] = {system.name: [] for system in systems}
        for _ in range(args.repeat):
            for system in systems:
                elapsed, _ = timed(drive, system, 0, args.memory_cases, args.window)
                rates[system.name].append(args.memory_cases / elapsed)
        figures["spiff_memory_cases_per_s"] = statistics.median(rates["spiff"])
        figures["govflow_memory_cases_per_s"] = statistics.median(rates["govflow"])
        figures["govflow_memory_copying_cases_per_s"] = statistics.median(rates["govflow_copying"])
        figures["engine_copying_ratio_vs_spiff"] = (
            figures["govflow_memory_copying_cases_per_s"] / figures["spiff_memory_cases_per_s"]
        )
        figures["engine_ratio_vs_spiff"] = (
            figures["govflow_memory_cases_per_s"] / figures["spiff_memory_cases_per_s"]
        )
        print(
            f"(a) in memory: SpiffWorkflow {figures['spiff_memory_cases_per_s']:,.0f} cases/s, "
            f"govflow {figures['govflow_memory_cases_per_s']:,.0f} cases/s: "
            f"{figures['engine_ratio_vs_spiff']:.1f}x (target >= 20x); copying the state each step "
            f"{figures['govflow_memory_copying_cases_per_s']:,.0f} cases/s: "
            f"{figures['engine_copying_ratio_vs_spiff']:.1f}x",
            flush=True,
        )

    if parts & {"persisted", "parallel", "growth", "audit"}:
        setup_database(args.database_url)
    first = 1_000_000  # case numbers for the persisted runs; each run takes fresh ones
    if parts & {"persisted", "parallel", "growth"}:
        first = warm_up(args.database_url, first, 10 if args.quick else 50, args.window)

    # (b) persisted after every completion, one process
    if "persisted" in parts:
        kinds = ("spiff", "govflow", "govflow_claimed")
        runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
        for _ in range(args.repeat):
            for kind in kinds:
                runs[kind].append(run_persisted(kind, args.database_url, first, args.cases, args.window))
                first += args.cases
        for kind in kinds:
            for key in (
                "cases_per_s",
                "completions_per_s",
                "statements_per_case",
                "wal_bytes_per_case",
                "server_ms_per_case",
                "ms_per_case",
                "projection_ms_per_case",
            ):
                if key == "projection_ms_per_case" and kind == "spiff":
                    continue
                figures[f"{kind}_pg_{key}"] = statistics.median(r[key] for r in runs[kind])
        figures["spiff_state_bytes_per_case"] = statistics.median(
            r["state_bytes_per_case"] for r in runs["spiff"]
        )
        figures["persisted_ratio_vs_spiff"] = (
            figures["govflow_pg_cases_per_s"] / figures["spiff_pg_cases_per_s"]
        )
        figures["persisted_claimed_ratio_vs_spiff"] = (
            figures["govflow_claimed_pg_cases_per_s"] / figures["spiff_pg_cases_per_s"]
        )
        print(
            "(b) persisted on PostgreSQL, 1 process: SpiffWorkflow "
            f"{figures['spiff_pg_cases_per_s']:,.1f} cases/s "
            f"({figures['spiff_pg_statements_per_case']:.0f} statements, "
            f"{figures['spiff_pg_wal_bytes_per_case'] / 1024:,.0f} KiB WAL per case), govflow "
            f"{figures['govflow_pg_cases_per_s']:,.1f} cases/s "
            f"({figures['govflow_pg_statements_per_case']:.0f} "
            f"statements, {figures['govflow_pg_wal_bytes_per_case'] / 1024:,.0f} KiB WAL per case): "
            f"{figures['persisted_ratio_vs_spiff']:.2f}x (target >= 3x)",
            flush=True,
        )
        print(
            "    with 签收 before every decision (a claim and a decision, two transactions per "
            f"completion): govflow {figures['govflow_claimed_pg_cases_per_s']:,.1f} cases/s "
            f"({figures['govflow_claimed_pg_statements_per_case']:.0f} statements, "
            f"{figures['govflow_claimed_pg_ms_per_case']:.1f} ms per case): "
            f"{figures['persisted_claimed_ratio_vs_spiff']:.2f}x",
            flush=True,
        )
        print(
            "    time per case, PostgreSQL executing / wall: SpiffWorkflow "
            f"{figures['spiff_pg_server_ms_per_case']:.1f} / {figures['spiff_pg_ms_per_case']:.1f} ms, "
            f"govflow {figures['govflow_pg_server_ms_per_case']:.1f} / "
            f"{figures['govflow_pg_ms_per_case']:.1f} ms; a 3x ratio needs govflow's wall time under "
            f"{figures['spiff_pg_ms_per_case'] / 3:.1f} ms",
            flush=True,
        )
        print(
            "    the dashboard's facts, projected after the run (beat's job, not in the figures above): "
            f"{figures['govflow_pg_projection_ms_per_case']:.1f} ms per case",
            flush=True,
        )
        figures.update(count_round_trips(first, 5, 5))
        first += 5
        print(
            "    round trips to PostgreSQL (median): "
            f"{figures['govflow_claim_round_trips']:.0f} per claim (签收), "
            f"{figures['govflow_decision_round_trips']:.0f} per decision",
            flush=True,
        )

    # (c) the same with N processes
    if "parallel" in parts and args.processes > 1:
        rates = {"spiff": [], "govflow": []}
        for _ in range(args.repeat):
            for kind in ("spiff", "govflow"):
                rates[kind].append(
                    run_parallel(kind, args.database_url, first, args.cases, args.window, args.processes)
                )
                first += args.cases
        figures[f"spiff_pg_cases_per_s_{args.processes}proc"] = statistics.median(rates["spiff"])
        figures[f"govflow_pg_cases_per_s_{args.processes}proc"] = statistics.median(rates["govflow"])
        figures["persisted_parallel_ratio_vs_spiff"] = statistics.median(
            rates["govflow"]
        ) / statistics.median(rates["spiff"])
        print(
            f"(c) persisted, {args.processes} processes: SpiffWorkflow "
            f"{statistics.median(rates['spiff']):,.1f} "
            f"cases/s, govflow {statistics.median(rates['govflow']):,.1f} cases/s: "
            f"{figures['persisted_parallel_ratio_vs_spiff']:.2f}x",
            flush=True,
        )

    # growth: 1,000 then 10,000 cases through govflow's services
    if "growth" in parts and args.large:
        small = run_persisted("govflow", args.database_url, first, args.cases, args.window)
        first += args.cases
        size = database_bytes(args.database_url)
        large = run_persisted("govflow", args.database_url, first, args.large, args.window)
        figures["govflow_disk_bytes_per_case"] = (database_bytes(args.database_url) - size) / args.large
        figures["growth_ms_per_case_small"] = 1000 * small["seconds"] / args.cases
        figures["growth_ms_per_case_large"] = 1000 * large["seconds"] / args.large
        figures["growth_ratio_per_case"] = (
            figures["growth_ms_per_case_large"] / figures["growth_ms_per_case_small"]
        )
        figures["growth_statements_per_case_large"] = large["statements_per_case"]
        figures["growth_server_ms_per_case_small"] = small["server_ms_per_case"]
        figures["growth_server_ms_per_case_large"] = large["server_ms_per_case"]
        print(
            f"growth: {figures['growth_ms_per_case_small']:.1f} ms per case at {args.cases:,} cases, "
            f"{figures['growth_ms_per_case_large']:.1f} ms at {args.large:,} "
            f"(x{figures['growth_ratio_per_case']:.2f} per case; 1.0 is linear); PostgreSQL busy "
            f"{figures['growth_server_ms_per_case_small']:.1f} and "
            f"{figures['growth_server_ms_per_case_large']:.1f} ms per case; "
            f"{figures['govflow_disk_bytes_per_case'] / 1024:,.1f} KiB on disk per case",
            flush=True,
        )
    # the audit chains: appends per second from 1, 2 and 4 writers, with one
    # chain and with each of --audit-chains, in the same run
    if "audit" in parts:
        from django.db import connection

        connection.close()
        seconds = 1.0 if args.quick else 5.0
        for prefix, synchronous in (("audit", True), ("audit_nowait", False)):
            for chains in sorted({1, *args.audit_chains}):
                for writers in (1, 2, 4):
                    figures[f"{prefix}_appends_per_s_{writers}w_{chains}chains"] = audit_appends_per_second(
                        args.database_url, writers, seconds, chains, synchronous=synchronous
                    )
                print(
                    f"audit, {chains} chain{'s' if chains > 1 else ''}"
                    f"{'' if synchronous else ', commits not waiting for the WAL flush'}: "
                    + ", ".join(
                        f"{figures[f'{prefix}_appends_per_s_{w}w_{chains}chains']:,.0f} appends/s "
                        f"from {w} writer{'s' if w > 1 else ''}"
                        for w in (1, 2, 4)
                    ),
                    flush=True,
                )
        # the figures' names before partitioning (one chain)
        figures["audit_appends_per_s_1client"] = figures["audit_appends_per_s_1w_1chains"]
        figures["audit_appends_per_s_2clients"] = figures["audit_appends_per_s_2w_1chains"]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
