"""Engine and service throughput on the business-setup template.

    .venv/bin/python bench/engine.py [--steps-cases N] [--cases N] [--skip-db]

1. engine alone: `step()` throughput in one process, driving cases of
   workflows/business_setup.yaml to approval in memory (service tasks
   answered inline), steps per second;
2. end to end through the services on PostgreSQL (row locks, tasks, timers,
   audit chain, outbox): complete business-setup cases per second, one
   process, service tasks run the way a worker runs them.

Prints a table and, with --json FILE, writes the figures. Medians of
--repeat runs. Uses its own database (`govflow_bench`, recreated).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fresh import django_on_fresh_database  # noqa: E402  (bench/fresh.py)

TEMPLATE = ROOT / "workflows" / "business_setup.yaml"
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
_serial = itertools.count()


def engine_steps_per_second(cases: int) -> tuple[float, int]:
    # Imported without Django: the engine is pure.
    from govflow.engine import CompleteTask, ServiceDone, Start, load_definition, step
    from govflow.engine.simulate import example_data

    definition = load_definition(TEMPLATE.read_bytes())
    data = example_data(definition.form, today=NOW.date())
    results = {"company_name_check": {"available": True}}
    steps = 0
    started = time.perf_counter()
    for n in range(cases):
        now = NOW + timedelta(seconds=n)
        result = step(definition, None, Start(data), now)
        steps += 1
        state = result.state
        while state["status"] == "running":
            task_id, task = next(iter(state["tasks"].items()))
            if task["kind"] == "service":
                event = ServiceDone(task_id, results.get(task["node"], {"valid": True, "credit_code": "X"}))
            elif task["kind"] == "acceptance":  # 受理 at the window
                event = CompleteTask(task_id, "accept", actor="bench", opinion="予以受理")
            else:
                event = CompleteTask(task_id, "approve", actor="bench", opinion="同意")
            state = step(definition, state, event, now).state
            steps += 1
        assert state["outcome"] == "approved", state["outcome"]
    elapsed = time.perf_counter() - started
    return steps / elapsed, steps


def setup_django(database_url: str) -> None:
    django_on_fresh_database(database_url, CELERY_BROKER_URL="memory://")


def service_cases_per_second(cases: int) -> tuple[float, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from govflow.engine.simulate import example_data
    from govflow.processes.models import ProcessTemplate
    from govflow.processes.services import version_definition

    User = get_user_model()
    applicant = User.objects.get(username="applicant")
    reviewers = {m.department_id: m.user for m in _memberships()}
    definition = version_definition(ProcessTemplate.objects.get(code="business_setup").current_version)
    base_data = example_data(definition.form, today=NOW.date())
    counted = [0]

    def count(execute, sql, params, many, context):
        # Counted through an execute wrapper: Django's debug cursor, which
        # formats and keeps every statement, cost more than some statements.
        counted[0] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for _ in range(cases):
            data = {**base_data, "company_name": f"北京基准{os.getpid()}{next(_serial):07d}科技有限公司"}
            _one_case(applicant, data, reviewers)
    elapsed = time.perf_counter() - started
    return cases / elapsed, counted[0] / cases


def _one_case(applicant, data: dict, reviewers: dict) -> None:
    """Create, attach the three documents, submit, then do every open task
    (decisions and automated steps) until the case ends."""
    from govflow.cases.automation import service_task_execute
    from govflow.cases.models import Task, TaskKind, TaskStatus
    from govflow.cases.services import case_create, case_submit, task_claim, task_complete
    from govflow.demo_cases import attach_required_documents

    case = case_create(applicant=applicant, template_code="business_setup", data=data, now=NOW)
    attach_required_documents(case, applicant, now=NOW)
    case_submit(case_id=case.pk, actor=applicant, now=NOW)
    while True:
        # What the inboxes show: every task open on the case (the six
        # departments' reviews are open at once), done in order.
        tasks = list(
            Task.objects.filter(case=case, status=TaskStatus.OPEN)
            .order_by("id")
            .values_list("pk", "kind", "engine_id", "department_id")
        )
        if not tasks:
            break
        for task_id, kind, engine_id, department_id in tasks:
            if kind == TaskKind.SERVICE:
                service_task_execute(case_id=case.pk, task_engine_id=engine_id, now=NOW)
            else:
                accepting = kind == TaskKind.ACCEPTANCE  # 受理 at the window
                task_claim(task_id=task_id, actor=reviewers[department_id], now=NOW)
                task_complete(
                    task_id=task_id,
                    actor=reviewers[department_id],
                    outcome="accept" if accepting else "approve",
                    opinion="予以受理" if accepting else "同意",
                    now=NOW,
                )


_BARRIER = None  # inherited by forked workers (a Barrier cannot be pickled)


def _worker(cases: int) -> float:
    from django.db import connection

    connection.close()  # a forked child must not share the parent's connection
    _BARRIER.wait()
    _, queries = service_cases_per_second(cases)
    return queries


def service_cases_per_second_parallel(cases: int, processes: int) -> float:
    """The same workload split over `processes` forked processes started
    together; complete cases per second of wall time."""
    import multiprocessing

    from django.db import connection

    global _BARRIER
    connection.close()
    ctx = multiprocessing.get_context("fork")
    _BARRIER = ctx.Barrier(processes + 1)
    with ctx.Pool(processes) as pool:
        pending = pool.map_async(_worker, [cases // processes] * processes)
        _BARRIER.wait(timeout=120)
        started = time.perf_counter()
        pending.get(timeout=3600)
        elapsed = time.perf_counter() - started
    return (cases // processes) * processes / elapsed


def _memberships():
    from govflow.accounts.models import Membership

    return Membership.objects.filter(is_head=False).select_related("user")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps-cases", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--processes", type=int, default=2, help="also measure with this many processes")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/govflow_bench"),
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    figures: dict[str, float] = {}
    rates = [engine_steps_per_second(args.steps_cases)[0] for _ in range(args.repeat)]
    figures["engine_steps_per_s"] = statistics.median(rates)
    print(
        f"engine step() on business_setup: {figures['engine_steps_per_s']:,.0f} steps/s "
        f"(median of {args.repeat}, {args.steps_cases} cases each; target >= 20,000)"
    )
    if not args.skip_db:
        setup_django(args.database_url)
        from compare import server_ms
        from django.db import connection
        from fresh import analyze

        # Untimed cases, then planner statistics, as a running installation has.
        service_cases_per_second(min(args.cases, 20))
        analyze(args.database_url)
        runs, busy = [], []
        for _ in range(args.repeat):
            connection.close()  # a session adds its busy time when it ends
            before = server_ms(args.database_url)
            runs.append(service_cases_per_second(args.cases))
            connection.close()
            busy.append((server_ms(args.database_url) - before) / args.cases)
        figures["govflow_cases_per_s_pg"] = statistics.median(r[0] for r in runs)
        figures["queries_per_case"] = statistics.median(r[1] for r in runs)
        figures["business_setup_server_ms_per_case"] = statistics.median(busy)
        print(
            f"business_setup end to end through the services on PostgreSQL, 1 process: "
            f"{figures['govflow_cases_per_s_pg']:,.1f} cases/s, "
            f"{figures['queries_per_case']:.0f} queries/case, PostgreSQL busy "
            f"{figures['business_setup_server_ms_per_case']:.1f} ms/case "
            f"(median of {args.repeat}, {args.cases} cases each; target >= 100 cases/s)"
        )
        if args.processes > 1:
            rates = [
                service_cases_per_second_parallel(args.cases, args.processes) for _ in range(args.repeat)
            ]
            figures["govflow_cases_per_s_pg_parallel"] = statistics.median(rates)
            print(
                f"the same with {args.processes} processes: "
                f"{figures['govflow_cases_per_s_pg_parallel']:,.1f} cases/s"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
