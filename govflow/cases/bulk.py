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
    meta = Case._meta
    model_fields = [meta.get_field(name) for name in fields]
    pk = meta.pk
    columns = [pk, *model_fields]
    casts = ", ".join(f"%s::{field.db_type(connection)}" for field in columns)
    params: list = []
    for case in cases:
        params.append(pk.get_db_prep_save(case.pk, connection))
        for field in model_fields:
            value = field.pre_save(case, add=False)  # auto_now fields take the current time, as save() does
            params.append(field.get_db_prep_save(value, connection))
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in model_fields)
    values = ", ".join([f"({casts})"] * len(cases))
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v ({names}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with rawsql.cursor() as cur:
        cur.execute(sql, params)
        # (No rowcount check: in a pipeline it is not known yet. The caller
        # holds the rows' locks, so every one of them is there.)
