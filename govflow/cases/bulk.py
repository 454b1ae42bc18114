"""Writing many case rows in one statement.

The timer sweep changes up to a batch of cases in one transaction; saving
them one UPDATE at a time made the round trips the sweep's cost. On
PostgreSQL `cases_save` writes them all with one `UPDATE ... FROM (VALUES
...)`; elsewhere (the embedded SQLite default) it saves them one by one.
Either way it does what `case.save(update_fields=...)` does: auto_now fields
are refreshed, and values are prepared by each field.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from django.db import connection

from govflow import rawsql

from .models import Case


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
