"""How much of a corpus of public BPMN models govflow's importer takes, and
whether what it takes still means something.

    .venv/bin/python bench/bpmn_corpus.py [DIR ...] [--department CODE] [--timeout S] [--json FILE]
        [--compare BEFORE.json] [-v]

DIR defaults to ../shared/bpmn-corpus/ (relative to the repository). Every
`*.bpmn` file under it is imported twice: as given (lanes must name
departments) and with `--department` (default `market_regulation`) for the
tasks in no department's lane. For each run the script prints how many files
were imported, refused with a clear message (grouped by reason: the first
problem's message with ids and quoted names blanked), crashed (any exception
other than a refusal, or a refusal without a message) or hung (no answer in
--timeout seconds).

For every imported model it then checks that the template validates and
that the dry run (`govflow.engine.simulate`) reaches every user task under
some decision script: approve-all with example data; each task taking each
of its other outcomes once; every task rejecting or returning once; and the
example data with its yes/no fields set and its numbers made large. A model
where some user task is never reached is listed: a gateway whose branches
cannot be told apart (`when: "true"` everywhere) shows up here.

With --compare (the --json of an earlier run, e.g. on the importer before a
change), each run also prints before -> after figures and the models whose
verdict changed.

Pure Python, like the importer: the department list is fixtures/departments.yaml.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "bpmn-corpus"
TODAY = date(2026, 3, 2)


class Hung(Exception):
    pass


@dataclass
class Verdict:
    path: str
    status: str  # imported | refused | crashed | hung
    reason: str = ""
    notes: int = 0
    valid: bool | None = None
    user_tasks: int = 0
    unreached: list[str] = field(default_factory=list)
    simulation_error: str = ""
    seconds: float = 0.0


def departments() -> dict[str, list[str]]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load((ROOT / "fixtures" / "departments.yaml").read_text("utf-8"))
    return {d["code"]: [d["zh"], d["en"]] for d in data["departments"]}


def reason_of(message: str) -> str:
    """A refusal's message with what varies between files blanked, to group by."""
    text = re.sub(r"'[^']*'", "'…'", message)
    text = re.sub(r'"[^"]*"', '"…"', text)
    text = re.sub(r"\(\d+ times\)|\b\d+\b", "N", text)
    return text[:140]


def run_import(source: bytes, *, default_department: str | None, timeout: float) -> Any:
    from govflow.bpmn.importer import import_bpmn
    from govflow.processes.handlers import handler_names

    accepted = inspect.signature(import_bpmn).parameters
    kwargs: dict[str, Any] = {
        "departments": departments(),
        "handlers": handler_names(),
        "default_department": default_department,
    }
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}

    def alarm(signum, frame):
        raise Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return import_bpmn(source, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def scripts(definition) -> list:
    """Decision scripts that between them should reach every user task."""
    from govflow.engine.simulate import Script, example_data

    tasks = [n for n in definition.nodes.values() if n.type == "user_task"]
    found = [Script()]
    for task in tasks:
        for outcome in task.outcomes:
            if outcome != "approve":
                found.append(Script(decisions={task.id: [outcome]}))
    for outcome in ("reject", "return"):
        chosen = {t.id: [outcome] for t in tasks if outcome in t.outcomes}
        if chosen:
            found.append(Script(decisions=chosen))
    try:
        data = example_data(definition.form, today=TODAY)
    except Exception:  # a form the example maker cannot fill: approve-all will say so
        return found
    fields = {f.id: f for f in getattr(definition.form, "fields", ())}
    varied = dict(data)
    for field_id, spec in fields.items():
        kind = getattr(spec, "type", "")
        if kind == "boolean":
            varied[field_id] = True
        elif kind in ("number", "decimal"):
            high = getattr(spec, "max", None)
            value = high if high is not None else 10**9
            varied[field_id] = str(value) if kind == "decimal" else value
    variations = [varied] if varied != data else []
    # Each value a condition compares a field with (and one either side), one at a time.
    for field_id, value in condition_literals(definition):
        if field_id in fields:
            variations.append({**data, field_id: value})
    for variant in variations:
        found.append(Script(data=variant))
        for task in tasks:
            for outcome in task.outcomes:
                if outcome != "approve":
                    found.append(Script(data=variant, decisions={task.id: [outcome]}))
    return found


_COMPARED = re.compile(
    r"""\b([a-z][a-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?|"[^"]*"|'[^']*'|true|false)"""
)


def condition_literals(definition) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for node in definition.nodes.values():
        for branch in node.branches:
            if branch.condition is None:
                continue
            for name, _op, literal in _COMPARED.findall(branch.condition.source):
                if literal in ("true", "false"):
                    values: list[Any] = [literal == "true"]
                elif literal[0] in "\"'":
                    values = [literal[1:-1]]
                elif "." in literal:
                    values = [str(float(literal) - 1), literal, str(float(literal) + 1)]
                else:
                    values = [int(literal) - 1, int(literal), int(literal) + 1]
                found.extend((name, v) for v in values if (name, v) not in found)
    return found[:40]


def check_meaning(verdict: Verdict, yaml_text: str, *, timeout: float) -> None:
    from govflow.engine import check_definition
    from govflow.engine.simulate import simulate
    from govflow.processes.handlers import handler_names

    definition, problems = check_definition(
        yaml_text, departments=set(departments()), handlers=set(handler_names())
    )
    verdict.valid = not problems and definition is not None
    if not verdict.valid:
        verdict.simulation_error = "invalid: " + "; ".join(p.message for p in problems[:2])
        return
    tasks = {n.id for n in definition.nodes.values() if n.type == "user_task"}
    verdict.user_tasks = len(tasks)
    seen: set[str] = set()
    errors: list[str] = []

    def alarm(signum, frame):
        raise Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        for script in scripts(definition):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result = simulate(definition, script, today=TODAY)
                seen.update(result.trace)
            except Hung:
                errors.append("the dry run hung")
            except Exception as exc:  # a run that fails still counts what it reached
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if tasks <= seen:
                break
    finally:
        signal.signal(signal.SIGALRM, previous)
    verdict.unreached = sorted(tasks - seen)
    if verdict.unreached and errors:
        verdict.simulation_error = errors[0][:200]


def measure(
    paths: list[Path], base: Path, *, default_department: str | None, timeout: float
) -> list[Verdict]:
    from govflow.bpmn.common import BpmnError

    verdicts = []
    for path in paths:
        verdict = Verdict(
            path=path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path), status=""
        )
        started = time.perf_counter()
        try:
            result = run_import(path.read_bytes(), default_department=default_department, timeout=timeout)
        except Hung:
            verdict.status, verdict.reason = "hung", f"no answer in {timeout} s"
        except BpmnError as exc:
            messages = [p.message for p in exc.problems]
            if messages and all(m.strip() for m in messages):
                verdict.status, verdict.reason = "refused", reason_of(messages[0])
            else:
                verdict.status, verdict.reason = "crashed", "a refusal without a message"
        except Exception as exc:  # that is what is being counted
            verdict.status, verdict.reason = "crashed", f"{type(exc).__name__}: {exc}"[:200]
        else:
            verdict.status = "imported"
            verdict.notes = len(result.notes)
            check_meaning(verdict, result.yaml, timeout=timeout)
        verdict.seconds = round(time.perf_counter() - started, 3)
        verdicts.append(verdict)
    return verdicts


def report(title: str, verdicts: list[Verdict], *, verbose: bool) -> dict[str, Any]:
    total = len(verdicts)
    counts = Counter(v.status for v in verdicts)
    imported = [v for v in verdicts if v.status == "imported"]
    invalid = [v for v in imported if not v.valid]
    full = [v for v in imported if v.valid and not v.unreached]
    partial = [v for v in imported if v.valid and v.unreached]
    share = 100.0 * counts["imported"] / total if total else 0.0
    print(f"\n== {title}")
    print(
        f"files {total}  imported {counts['imported']} ({share:.0f}%)  refused {counts['refused']}  "
        f"crashed {counts['crashed']}  hung {counts['hung']}"
    )
    print(
        f"imported and valid {len(imported) - len(invalid)}  (invalid {len(invalid)}); "
        f"every user task reached by some dry run: {len(full)}; some never reached: {len(partial)}"
    )
    reasons = Counter(v.reason for v in verdicts if v.status == "refused")
    if reasons:
        print("refused, by reason:")
        for reason, count in reasons.most_common():
            print(f"  {count:4d}  {reason}")
    for v in verdicts:
        if v.status in ("crashed", "hung"):
            print(f"  {v.status.upper()}: {v.path}: {v.reason}")
    for v in invalid:
        print(f"  INVALID: {v.path}: {v.simulation_error}")
    for v in partial:
        extra = f" ({v.simulation_error})" if v.simulation_error else ""
        names = ", ".join(v.unreached[:6])
        print(f"  UNREACHED: {v.path}: {len(v.unreached)}/{v.user_tasks} user tasks: {names}{extra}")
    if verbose:
        for v in verdicts:
            print(f"  {v.status:9s} {v.seconds:6.2f}s {v.path}  {v.reason}")
    return {
        "files": total,
        "imported": counts["imported"],
        "refused": counts["refused"],
        "crashed": counts["crashed"],
        "hung": counts["hung"],
        "valid": len(imported) - len(invalid),
        "all_user_tasks_reached": len(full),
        "reasons": dict(reasons),
        "models": [v.__dict__ for v in verdicts],
    }


def compare(before: dict[str, Any], after: dict[str, Any]) -> None:
    keys = ("files", "imported", "refused", "crashed", "hung", "valid", "all_user_tasks_reached")
    for title, now in after.items():
        then = before.get(title)
        if then is None:
            continue
        print(f"\n== before -> after: {title}")
        print("  " + "  ".join(f"{key} {then.get(key, '?')} -> {now[key]}" for key in keys))
        old = {m["path"]: m for m in then.get("models", [])}
        for model in now["models"]:
            was = old.get(model["path"])
            if was is None or (was["status"], was["unreached"]) == (model["status"], model["unreached"]):
                continue
            reached = (
                "" if model["status"] != "imported" or model["unreached"] else ", every user task reached"
            )
            print(
                f"  {model['path']}: {was['status']} -> {model['status']}{reached}  {model['reason'][:100]}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument(
        "--department", default="market_regulation", help="the default department of the second run"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per import or dry run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="the --json of an earlier run: print before -> after")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per file")
    args = parser.parse_args(argv)
    paths: list[Path] = []
    for directory in args.dirs:
        paths.extend(sorted(p for p in directory.rglob("*") if p.suffix.lower() == ".bpmn" and p.is_file()))
    base = args.dirs[0] if len(args.dirs) == 1 else Path("/")
    figures = {}
    for title, department in (
        ("as drawn (no --department)", None),
        (f"--department {args.department}", args.department),
    ):
        verdicts = measure(paths, base, default_department=department, timeout=args.timeout)
        figures[title] = report(title, verdicts, verbose=args.verbose)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.compare:
        compare(json.loads(args.compare.read_text("utf-8")), figures)
    crashed = sum(f["crashed"] + f["hung"] for f in figures.values())
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
