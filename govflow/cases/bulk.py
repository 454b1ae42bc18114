"""Writing many case rows in one statement.

The timer sweep changes up to a batch of cases in one transaction; saving
them one UPDATE at a time made the round trips the sweep's cost. On
PostgreSQL `cases_save` writes them all with one `UPDATE ... FROM (VALUES
...)`; elsewhere (the embedded SQLite default) it saves them one by one.
Either way it does what `case.save(update_fields=...)` does: auto_now fields
are refreshed, and values are prepared by each field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

from django.db import connection

from govflow import rawsql
from govflow.timers.models import Timer

from .models import Case, Task


def cases_save(cases: Sequence[Case], fields: Sequence[str]) -> None:
    """Save `fields` of every case; the caller holds their row locks."""
    if not cases:
        return
    if connection.vendor != "postgresql":
        for case in cases:
            case.save(update_fields=list(fields))
        return
    sql, model_fields = _update_sql(tuple(fields), len(cases))
    pk_and_fields = (Case._meta.pk, *model_fields)
    # (auto_now fields take the current time in their preparation, as save() does)
    params = rawsql.values(cases, Case, pk_and_fields, add=False)
    with rawsql.kept() as cur:
        cur.execute(sql, params)
        # (No rowcount check: in a pipeline it is not known yet. The caller
        # holds the rows' locks, so every one of them is there.)


def cases_save_changed(cases: Sequence[Case], fields: Sequence[str]) -> None:
    """`cases_save`, leaving out the form data of each case whose data is
    as its lock read it (rows._case_of keeps a copy; cases read otherwise
    have none and are written whole): not rewriting an unchanged JSONB
    document saves its sealing, encoding, parsing and WAL. Cases with the
    same fields to write share a statement. Once written, a case's copy is
    dropped, so a later change back to the old data is written too."""
    groups: dict[tuple[str, ...], list[Case]] = {}
    everything = tuple(fields)
    without_data = tuple(name for name in everything if name != "data")
    for case in cases:
        read = case.__dict__.get("_data_as_read")
        same = read is not None and "data" in everything and _same_json(case.data, read)
        groups.setdefault(without_data if same else everything, []).append(case)
    for names, group in groups.items():
        cases_save(group, names)
        if "data" in names:
            for case in group:
                case.__dict__.pop("_data_as_read", None)


def _same_json(value, read: dict) -> bool:
    """Whether `value` would be stored as the document read: equal, and
    equal as JSON text too (in Python True == 1 == 1.0, in JSON not). A
    value JSON cannot encode as it is (a date) is not the same."""
    if value != read:
        return False
    try:
        return json.dumps(value, sort_keys=True) == json.dumps(read, sort_keys=True)
    except (TypeError, ValueError):
        return False


@lru_cache(maxsize=64)
def _update_sql(fields: tuple[str, ...], rows: int) -> tuple[str, tuple]:
    meta = Case._meta
    model_fields = tuple(meta.get_field(name) for name in fields)
    pk = meta.pk
    columns = [pk, *model_fields]
    casts = ", ".join(f"%s::{field.db_type(connection)}" for field in columns)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in model_fields)
    values = ", ".join([f"({casts})"] * rows)
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v ({names}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    return sql, model_fields


def timers_insert(timers: Sequence[Timer]) -> None:
    """INSERT new timers without waiting for the keys of the tasks created
    with them: a timer of a task inserted just before, whose key comes back
    with the transaction's last answers (`rawsql.when_answered`), finds it in
    the statement by (case, engine id), so a decision's writes need no
    answer before its COMMIT. The timer gets its task back once answered."""
    if not timers:
        return
    waiting: dict[int, Task] = {}
    for timer in timers:
        task = timer.task if timer.task_id is None else None  # no query: cached or none
        if task is not None and task.pk is None:
            waiting[id(timer)] = task
            timer.task = None

    def task_key(timer: Timer) -> list:
        task = waiting.get(id(timer))
        return [timer.task_id, timer.case_id, task.engine_id if task is not None else None]

    rawsql.insert_rows(list(timers), computed={"task": (_task_key_sql(), task_key)})

    def relink() -> None:
        for timer in timers:
            task = waiting.get(id(timer))
            if task is not None:
                timer.task = task

    rawsql.when_answered(relink)


@lru_cache(maxsize=1)
def _task_key_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"COALESCE(%s, (SELECT {quote('id')} FROM {quote(Task._meta.db_table)} "
        f"WHERE {quote('case_id')} = %s AND {quote('engine_id')} = %s))"
    )
