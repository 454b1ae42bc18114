"""The hot path's reads and writes, in as few round trips as possible.

A reviewer's decision is the commonest write in the system. Through the ORM it
cost about a dozen round trips and more time building SQL than PostgreSQL
spent running it (bench/compare.py). Here the SQL for the few statements on
that path is built once per process from the models' metadata, and on
PostgreSQL the statements that do not need each other's results travel
together in psycopg's pipeline mode: locking the case and reading the task is
one round trip, staging a decision's writes is one or two.

Nothing here checks permissions or opens transactions; the services do.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache

from django.db import connection

from govflow import rawsql
from govflow.accounts.models import Membership
from govflow.processes.models import ProcessTemplate, ProcessVersion
from govflow.rawsql import pipelined
from govflow.security.crypto import ENC
from govflow.timers.models import Timer

from . import hooks
from .models import NOT_A_DECISION, SIGNING_KINDS, Case, Task, TaskStatus


@cache
def _lock_case_sql(vendor: str) -> tuple[list[str], str]:
    quote = connection.ops.quote_name
    names, columns = rawsql.columns(Case, "c")
    lock = " FOR UPDATE OF c" if vendor == "postgresql" else ""
    sql = (
        f"SELECT {columns}, v.{quote('source_sha256')} FROM {quote(Case._meta.db_table)} c "
        f"JOIN {quote(ProcessVersion._meta.db_table)} v ON v.{quote('id')} = c.{quote('version_id')} "
        f"WHERE c.{quote('id')} = %s{lock}"
    )
    return names, sql


@cache
def _task_sql(vendor: str, probes: tuple[str, ...] = ()) -> tuple[list[str], str]:
    quote = connection.ops.quote_name
    names, columns = rawsql.columns(Task, "t")
    membership = quote(Membership._meta.db_table)
    probed = "".join(f", ({probe})" for probe in probes)
    sql = (
        f"SELECT {columns}{probed}, m.{quote('is_head')} FROM {quote(Task._meta.db_table)} t "
        f"LEFT JOIN {membership} m ON m.{quote('department_id')} = t.{quote('department_id')} "
        f"AND m.{quote('user_id')} = %s WHERE t.{quote('id')} = %s"
    )
    return names, sql


def _case_of(names: list[str], row) -> Case:
    *values, source_sha256 = row
    case = rawsql.from_row(Case, names, values)
    case._data_as_read = _data_as_read(values[_data_column(tuple(names))])
    # Only what the definition cache needs; the source is loaded on a miss.
    version = ProcessVersion.from_db(
        connection.alias, ["id", "source_sha256"], [case.version_id, source_sha256]
    )
    case.version = version
    return case


@cache
def _data_column(names: tuple[str, ...]) -> int:
    return names.index("data")


def _data_as_read(raw) -> dict | None:
    """A copy of the form data as the lock read it, so that a write can
    leave the column alone when nothing changed it (bulk.cases_save_changed):
    most decisions change the engine's state and the task, not the form.
    None (the data is always written) where the column holds sealed values:
    the copy would have to be opened again to compare."""
    if type(raw) is not str or f'"{ENC}"' in raw:
        return None
    value = json.loads(raw)
    return value if type(value) is dict else None


@cache
def _published_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT t.{quote('id')}, v.{quote('id')}, v.{quote('number')}, v.{quote('source_sha256')} "
        f"FROM {quote(ProcessTemplate._meta.db_table)} t JOIN {quote(ProcessVersion._meta.db_table)} v "
        f"ON v.{quote('id')} = t.{quote('current_version_id')} "
        f"WHERE t.{quote('code')} = %s AND t.{quote('is_active')}"
    )


def published_template(code: str) -> ProcessTemplate | None:
    """An active template with its current version, or None: only the keys,
    the version's number and the key its definition is cached by (the other
    columns load on first use)."""
    with rawsql.kept(1) as cur:
        cur.execute(_published_sql(), [code])
        row = cur.fetchone()
    if row is None:
        return None
    template_id, version_id, number, source_sha256 = row
    template = ProcessTemplate.from_db(
        connection.alias, ["id", "code", "current_version_id"], [template_id, code, version_id]
    )
    template.current_version = ProcessVersion.from_db(
        connection.alias,
        ["id", "template_id", "number", "source_sha256"],
        [version_id, template_id, number, source_sha256],
    )
    return template


def lock_case(case_id: int) -> Case | None:
    """SELECT the case FOR UPDATE, with the key its definition is cached by."""
    names, sql = _lock_case_sql(connection.vendor)
    with rawsql.kept(1) as cur:
        cur.execute(sql, [case_id])
        row = cur.fetchone()
    return None if row is None else _case_of(names, row)


def lock_case_of_task(task_id: int, user_id: int) -> tuple[Case | None, Task | None, bool | None]:
    """Lock the task's case, then read the task and the user's membership of
    its department: (case, task, is_head), is_head None for a non-member.

    Two statements in one round trip: the task is read by the second one,
    after the lock is granted, so it is never a version from before the
    lock holder's commit (READ COMMITTED takes a snapshot per statement).
    The same statement evaluates the decision guards' probes
    (govflow.cases.hooks): `task.probed` maps each to its value."""
    probes = hooks.decision_probes()
    case_names, case_sql = _lock_case_sql(connection.vendor)
    task_names, task_sql = _task_sql(connection.vendor, probes)
    case_sql = case_sql.replace(
        f"WHERE c.{connection.ops.quote_name('id')} = %s",
        f"WHERE c.{connection.ops.quote_name('id')} = (SELECT case_id FROM "
        f"{connection.ops.quote_name(Task._meta.db_table)} WHERE id = %s)",
    )
    with pipelined(), rawsql.kept(1) as first, rawsql.kept(2) as second, rawsql.kept(3) as third:
        first.execute(case_sql, [task_id])
        second.execute(task_sql, [user_id, task_id])
        third.execute(_signed_sql(), [task_id])
        rawsql.answers()  # inside a write transaction's pipeline: with its BEGIN, one round trip
        case_row, task_row, signed = first.fetchone(), second.fetchone(), third.fetchall()
    if case_row is None or task_row is None:
        return None, None, None
    case = _case_of(case_names, case_row)
    # 审批人去重 asks who signed what on nearly every claim and decision
    # (govflow.cases.operations.distinct); read once, by its first question.
    case.signed_rows = signed
    *values, is_head = task_row
    found = values[len(task_names) :]
    task = rawsql.from_row(Task, task_names, values[: len(task_names)])
    task.probed = {probe: bool(value) for probe, value in zip(probes, found, strict=True)}
    if task.case_id != case.pk:  # the task moved between the statements: it cannot, but never mix them up
        return None, None, None
    task.case = case
    return case, task, is_head


@cache
def _signed_sql() -> str:
    """The case's signing tasks decided so far, (node, decider, when) in the
    order they were decided, for the case of task %s: what
    `distinct.repeat_signer_of` reads, sent with the lock (after it, so it
    sees every decision committed before the lock was granted)."""
    quote = connection.ops.quote_name
    table = quote(Task._meta.db_table)
    kinds = ", ".join(f"'{kind.value}'" for kind in SIGNING_KINDS)
    skipped = ", ".join(f"'{outcome}'" for outcome in NOT_A_DECISION)
    return (
        f"SELECT {quote('node_id')}, {quote('decided_by_id')}, {quote('completed_at')} FROM {table} "
        f"WHERE {quote('case_id')} = (SELECT {quote('case_id')} FROM {table} WHERE {quote('id')} = %s) "
        f"AND {quote('kind')} IN ({kinds}) AND {quote('status')} = '{TaskStatus.COMPLETED.value}' "
        f"AND {quote('decided_by_id')} IS NOT NULL AND {quote('outcome')} NOT IN ({skipped}) "
        f"ORDER BY {quote('completed_at')}, {quote('id')}"
    )


def update_pairs(model, pairs, *, live: bool = False, timer: bool = False, **values) -> None:
    """UPDATE rows identified by (case id, engine id) pairs, in one statement
    whose text is built once per shape (a decision cancels its SLA timers:
    this runs on most decisions). `live` touches open and claimed tasks
    only, `timer` pending and paused timers only."""
    by_case: dict[int, list[str]] = {}
    for case_id, engine_id in pairs:
        by_case.setdefault(case_id, []).append(engine_id)
    if not by_case:
        return
    statuses: tuple[str, ...] = ()
    if live:
        statuses = ("open", "claimed")
    if timer:
        statuses = (Timer.PENDING, Timer.PAUSED)
    names = tuple(sorted(values))
    shape = tuple(len(ids) for ids in by_case.values())
    sql, fields = _pairs_sql(model, names, shape, len(statuses))
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    for case_id, engine_ids in by_case.items():
        params.append(case_id)
        params.extend(engine_ids)
    params.extend(statuses)
    with rawsql.kept() as cur:
        cur.execute(sql, params)


@lru_cache(maxsize=256)
def _pairs_sql(model, names: tuple[str, ...], shape: tuple[int, ...], statuses: int) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    case, engine = quote("case_id"), quote("engine_id")
    which = " OR ".join(f"({case} = %s AND {engine} IN ({', '.join(['%s'] * count)}))" for count in shape)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE ({which})"
    if statuses:
        sql += f" AND {quote('status')} IN ({', '.join(['%s'] * statuses)})"
    return sql, fields
