"""Who is calling: the reads every API request makes before its own work
(the token's user) and every write sent with an Idempotency-Key (the key's
record). They run on each request, so their statements are built once and
prepared on the server (govflow.rawsql), not compiled by the ORM each time;
tests/api/test_query_counts.py holds their number."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from govflow import rawsql

from .models import IdempotencyRecord


@cache
def _token_sql(vendor: str) -> tuple[list[str], list[str], str]:
    quote = connection.ops.quote_name
    user_model = get_user_model()
    user_key = user_model._meta.pk.column
    token_names, token_columns = rawsql.columns(Token, "k")
    user_names, user_columns = rawsql.columns(user_model, "u")
    sql = (
        f"SELECT {token_columns}, {user_columns} FROM {quote(Token._meta.db_table)} k "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_key)} = k.{quote('user_id')} "
        f"WHERE k.{quote('key')} = %s"
    )
    return token_names, user_names, sql


def token_with_user(key: str):
    """The API token of this key with its user, or None: every API request
    asks, so the statement is built once and prepared on the server
    (govflow.rawsql), not compiled by the ORM each time."""
    token_names, user_names, sql = _token_sql(connection.vendor)
    with rawsql.kept(1) as cur:
        cur.execute(sql, [key])
        row = cur.fetchone()
    if row is None:
        return None
    token = rawsql.from_row(Token, token_names, row[: len(token_names)])
    token.user = rawsql.from_row(get_user_model(), user_names, row[len(token_names) :])
    return token


@cache
def _idempotency_sql(vendor: str) -> tuple[list[str], str]:
    quote = connection.ops.quote_name
    names, columns = rawsql.columns(IdempotencyRecord, "r")
    sql = (
        f"SELECT {columns} FROM {quote(IdempotencyRecord._meta.db_table)} r "
        f"WHERE r.{quote('user_id')} = %s AND r.{quote('key')} = %s"
    )
    return names, sql


def idempotency_record(*, user_id: int, key: str) -> IdempotencyRecord | None:
    """The stored record of a user's Idempotency-Key, if any (read on every
    write the API is sent with a key, so prepared like token_with_user)."""
    names, sql = _idempotency_sql(connection.vendor)
    with rawsql.kept(1) as cur:
        cur.execute(sql, [user_id, key])
        row = cur.fetchone()
    return None if row is None else rawsql.from_row(IdempotencyRecord, names, row)
