"""`make bench`: run the benchmark suite and write bench/results/latest.json
and latest.md (the figures and the machine they were measured on).

    .venv/bin/python bench/run.py [--quick]

--quick runs small workloads (for a CI smoke run: it checks the suite runs
and writes its files, never a timing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# The figures every run must produce (the benchmark issue's list).
REQUIRED = (
    "engine_ratio_vs_spiff",
    "persisted_ratio_vs_spiff",
    "govflow_cases_per_s_pg",
    "inbox_p95_ms",
    "timer_sweep_10k_s",
    "pg_commit_limit_per_s",
    "http_decide_p99_ms_16",
    "http_decide_per_s_16",
    "persisted_parallel_ratio_vs_spiff",
    "business_setup_cases_per_s_2proc",
    "commit_limit_share",
)


def run(script: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        target = Path(out.name)
    cmd = [sys.executable, str(HERE / script), *args, "--json", str(target)]
    print("$", " ".join(cmd[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=HERE.parent)
    print(f"({script}: {time.perf_counter() - started:.0f} s)", flush=True)
    figures = json.loads(target.read_text() or "{}")
    target.unlink(missing_ok=True)
    return figures


def derived(figures: dict) -> dict:
    """The performance issue's figures that are ratios of two measured in
    this run: the business setup with 2 processes (engine.py), and the
    persisted decisions per second of one process (compare.py, every
    completion its own durable transaction) as a share of PostgreSQL's
    single-row commit limit (pg_ceiling.py)."""
    result = {}
    if "govflow_cases_per_s_pg_parallel" in figures:
        result["business_setup_cases_per_s_2proc"] = figures["govflow_cases_per_s_pg_parallel"]
    if figures.get("pg_commit_limit_per_s") and "govflow_pg_completions_per_s" in figures:
        result["commit_limit_share"] = (
            figures["govflow_pg_completions_per_s"] / figures["pg_commit_limit_per_s"]
        )
    return result


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="govflow benchmark suite")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    figures: dict = {}
    figures.update(run("pg_ceiling.py", *(["--seconds", "1"] if quick else [])))
    figures.update(
        run("engine.py", *(["--steps-cases", "200", "--cases", "20", "--repeat", "1"] if quick else []))
    )
    figures.update(run("compare.py", *(["--quick"] if quick else [])))
    figures.update(run("inbox.py", *(["--tasks", "20000", "--samples", "3"] if quick else [])))
    figures.update(run("timers.py", *(["--timers", "300", "--fanout-cases", "10"] if quick else [])))
    figures.update(run("http_load.py", *(["--quick"] if quick else [])))
    # Suites of the parts that have them (certificates, the dashboard).
    for script, quick_args in (("certificates.py", ["--quick"]), ("dashboard.py", ["--quick"])):
        if (HERE / script).exists():
            figures.update(run(script, *(quick_args if quick else [])))
    figures.update(derived(figures))
    report = {"quick": quick, "machine": machine(), "figures": figures}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# govflow benchmarks",
        "",
        f"Machine: {report['machine']}",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [
        f"| {key} | {value:,.2f} |"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else f"| {key} | {value} |"
        for key, value in figures.items()
    ]
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    missing = [key for key in REQUIRED if key not in figures]
    if missing:  # a figure the issue names is not measured: the run is wrong
        raise SystemExit(f"bench: figures missing from the results: {', '.join(missing)}")


if __name__ == "__main__":
    main()
