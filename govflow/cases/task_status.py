"""The one place a task's status changes.

A task row mirrors the engine's task (open while the engine waits on it,
completed or cancelled once the engine has moved past it); who holds it
(claimed) is the row's own. Every change of `Task.status` goes through a
function here, whatever the path: a reviewer's claim, release and handover,
a decision, a cancellation the engine asked for, the demo and benchmark
history. django-fsm's transitions on `Task` are the guard (an illegal move
raises `TransitionNotAllowed`); the functions below apply them and set the
fields that go with each status, so a status never changes without its
holder, its decision or its end time.

Rows change two ways:
- an object in memory (`hold`, `release`, `decide`, `cancel`), saved by the
  caller with `save_holder` or inserted with the rest of a change set;
- rows by key, in one statement each, for the hot path (`decide_rows`,
  `cancel_rows`): a task already closed is left alone.

tests/cases/test_task_status.py fails when another module writes the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection

from govflow import rawsql
from govflow.rawsql import kept

from .models import LIVE_TASK_STATUSES, Task, TaskStatus
from .rows import update_pairs

HOLDER_FIELDS = ("status", "assignee", "claimed_at")


@dataclass
class Decision:
    """What closes a task: its outcome, and who decided it and why."""

    outcome: str
    opinion: str = ""
    decided_by_id: int | None = None
    silent_consent: bool = False
    legal_basis: str = ""
    # A task nobody held, decided where no 签收 is needed: the decider
    # becomes its holder from this moment, written with the decision.
    held_from: datetime | None = None


def hold(task: Task, user, now: datetime) -> None:
    """`user` holds the task from `now` (an open task becomes claimed; a
    claimed one changes hands)."""
    if task.status == TaskStatus.OPEN:
        task.claim()
    task.assignee = user
    task.claimed_at = now


def release(task: Task) -> None:
    """Nobody holds the task any more: back to the department's open tasks."""
    task.release()
    task.assignee = None
    task.claimed_at = None


def save_holder(task: Task, *also: str) -> None:
    """Save a `hold` or `release` (and the `also` fields changed with it) of
    a task whose case is locked: one UPDATE needing no answer, so inside a
    pipeline it travels with the audit append (govflow.rawsql)."""
    rawsql.update_row(task, (*HOLDER_FIELDS, *also))


def decide(task: Task, decision: Decision, now: datetime, *, decided_by=None) -> None:
    """Close a live task with a decision, in memory (the row is written by
    `decide_rows`, or inserted when the task is new in this change set).
    `decided_by`, when given, is the deciding user (saves a query later)."""
    if task.status == TaskStatus.OPEN:
        task.claim()
    task.complete()
    task.completed_at = now
    task.outcome = decision.outcome
    task.opinion = decision.opinion
    if decided_by is not None:
        task.decided_by = decided_by
    else:
        task.decided_by_id = decision.decided_by_id
    task.silent_consent = decision.silent_consent
    task.legal_basis = decision.legal_basis


def cancel(task: Task, now: datetime) -> None:
    """Close a live task the engine no longer waits on, in memory."""
    task.cancel()
    task.completed_at = now


DECISION_COLUMNS = (
    "status",
    "completed_at",
    "outcome",
    "opinion",
    "decided_by_id",
    "silent_consent",
    "legal_basis",
)


@cache
def _decide_sql(held: bool) -> str:
    quote = connection.ops.quote_name
    columns = (*DECISION_COLUMNS, "assignee_id", "claimed_at") if held else DECISION_COLUMNS
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    live = f"{quote('status')} IN ({', '.join(repr(str(s)) for s in LIVE_TASK_STATUSES)})"
    return (
        f"UPDATE {quote(Task._meta.db_table)} SET {assignments} "
        f"WHERE {quote('case_id')} = %s AND {quote('engine_id')} = %s AND {live}"
    )


def decide_rows(case_id: int, engine_id: str, decision: Decision, now: datetime) -> None:
    """Record a decision on a live task's row (a task already closed is left
    alone), and its decider as its holder when the decision says so
    (`held_from`): one UPDATE either way."""
    prepare = Task._meta.get_field("completed_at").get_db_prep_save
    params = [
        str(TaskStatus.COMPLETED),
        prepare(now, connection),
        decision.outcome,
        decision.opinion,
        decision.decided_by_id,
        decision.silent_consent,
        decision.legal_basis,
    ]
    held = decision.held_from is not None
    if held:
        params += [decision.decided_by_id, prepare(decision.held_from, connection)]
    with kept() as cur:
        cur.execute(_decide_sql(held), [*params, case_id, engine_id])


def cancel_rows(pairs: list[tuple[int, str]], now: datetime) -> None:
    """Cancel the live tasks named by (case id, engine id), in one statement."""
    update_pairs(Task, pairs, status=TaskStatus.CANCELLED, completed_at=now, live=True)
