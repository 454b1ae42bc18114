"""One owner of task status: govflow.cases.task_status.

The source check reads every module of govflow and fails on a write of
`Task.status` anywhere else: a django-fsm transition called on a task, an
UPDATE (ORM, the hot path's rows helpers or raw SQL) that sets a task's
status, or a save() that names the status among its fields."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django_fsm import TransitionNotAllowed

import govflow
from govflow.cases import task_status
from govflow.cases.models import Task, TaskStatus
from govflow.cases.task_status import Decision

ROOT = Path(govflow.__file__).resolve().parent
OWNER = ROOT / "cases" / "task_status.py"
TRANSITIONS = {"claim", "release", "complete", "cancel", "expire"}
READS = {"filter", "exclude", "get", "Q", "Exists", "get_or_create", "annotate", "count", "aggregate"}
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _is_task(node: ast.AST) -> bool:
    """Whether an expression reads as a task (`task`, `self.task`) or a
    query of tasks (`Task.objects...`, `case.tasks...`)."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Attribute) and node.attr in ("task", "tasks", "task_set"):
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return isinstance(node, ast.Name) and (node.id == "Task" or "task" in node.id.lower())


def status_writes(source: str, filename: str = "<source>") -> list[str]:
    """Where a module writes a task's status, as 'line: code'."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            # task.claim(), fresh.complete(): Task's django-fsm transitions (no
            # other object of govflow has methods of these names).
            if name in TRANSITIONS and not node.args and not node.keywords:
                found.append(node)
                continue
            # .save(update_fields=[... "status" ...]) on a task.
            if name == "save" and _is_task(node.func.value):
                for keyword in node.keywords:
                    if keyword.arg == "update_fields" and any(
                        isinstance(c, ast.Constant) and c.value == "status" for c in ast.walk(keyword.value)
                    ):
                        found.append(node)
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in READS:
                continue
            for keyword in node.keywords:
                if keyword.arg != "status":
                    continue
                # Task.objects...update(status=...), update_pairs(Task, ..., status=...),
                # anything(status=TaskStatus.X) that is not a read.
                if (
                    "TaskStatus" in _names(keyword.value)
                    or any(isinstance(a, ast.Name) and a.id == "Task" for a in node.args)
                    or (isinstance(node.func, ast.Attribute) and "Task" in _names(node.func.value))
                    or (name in ("update", "bulk_update") and _is_task(node.func.value))
                ) and name != "Task":
                    found.append(node)
        # Raw SQL: an UPDATE of the task table's status.
        if isinstance(node, ast.FunctionDef):
            texts = [
                c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
            tables = "Task" in _names(node) and any("db_table" in ast.unparse(n) for n in ast.walk(node))
            sql = " ".join(texts)
            if (tables or "cases_task" in sql) and "UPDATE" in sql.upper() and "status" in texts:
                found.append(node)
    return [f"{filename}:{node.lineno}: {ast.unparse(node).splitlines()[0]}" for node in found]


def test_only_task_status_writes_a_tasks_status():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == OWNER or "migrations" in path.parts:
            continue
        offenders += status_writes(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT.parent)))
    assert offenders == [], (
        "Task.status changes only in govflow/cases/task_status.py (hold, release, decide, cancel, "
        "decide_rows, cancel_rows); these write it elsewhere:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "task.claim()",
        "fresh.complete()",
        "self.task.cancel()",
        "task.save(update_fields=['status', 'assignee'])",
        "Task.objects.filter(pk=1).update(status=TaskStatus.CANCELLED)",
        "case.tasks.filter(x=1).update(status='cancelled')",
        "update_pairs(Task, pairs, status=TaskStatus.CANCELLED, live=True)",
        "def f():\n    sql = f'UPDATE {quote(Task._meta.db_table)} SET {x}'\n    cols = ('status', 'a')",
    ],
)
def test_the_check_sees_each_kind_of_write(source):
    assert status_writes(source), source


@pytest.mark.parametrize(
    "source",
    [
        "Task.objects.filter(status=TaskStatus.OPEN)",
        "Task(case=case, engine_id='t1')",
        "case.approve()",
        "timer.save(update_fields=['status'])",
        "update_pairs(Timer, pairs, status=Timer.CANCELLED, timer=True)",
        "Q(status=TaskStatus.CLAIMED)",
        "Delegation.objects.filter(task=task).update(status=RequestStatus.CANCELLED)",
    ],
)
def test_the_check_leaves_reads_and_other_models_alone(source):
    assert status_writes(source) == []


def test_decide_closes_a_task_with_its_decision_and_refuses_a_closed_one():
    task = Task(engine_id="t1", node_id="review", kind="review", created_at=NOW)
    task_status.decide(task, Decision("approve", opinion="同意", decided_by_id=7), NOW)
    assert (task.status, task.outcome, task.opinion, task.decided_by_id, task.completed_at) == (
        TaskStatus.COMPLETED,
        "approve",
        "同意",
        7,
        NOW,
    )
    with pytest.raises(TransitionNotAllowed):
        task_status.cancel(task, NOW)
    assert task.status == TaskStatus.COMPLETED


def test_hold_and_release_move_the_holder_with_the_status():
    task = Task(engine_id="t1", node_id="review", kind="review", created_at=NOW)
    task_status.hold(task, None, NOW)
    assert (task.status, task.claimed_at) == (TaskStatus.CLAIMED, NOW)
    task_status.release(task)
    assert (task.status, task.assignee_id, task.claimed_at) == (TaskStatus.OPEN, None, None)
    with pytest.raises(TransitionNotAllowed):
        task_status.release(task)
