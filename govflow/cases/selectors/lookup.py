"""Finding cases by a secret value (the keyed lookup hashes the sealed
values carry, govflow.cases.secrets). Reads only: the caller records who
looked (govflow.cases.reads.secret_lookup_record), as this reads personal
data."""

from __future__ import annotations

import json
import re

from django.db import connection

from govflow.errors import InvalidInput
from govflow.security.crypto import keyring, normalised

from ..models import Case
from ..secrets import HASHES_SQL, value_at, version_positions

_POSITION = re.compile(r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?$")


def case_find_by_secret(*, field: str, value: str, template: str | None = None) -> list:
    """Cases whose secret field (or secret table column, 'table.column')
    holds exactly `value` (compared as the lookup hash normalises it: white
    space, letter case and full-width forms do not matter), oldest first.
    On PostgreSQL the keyed hash is found through a GIN index; elsewhere by
    a text search of the column. Every candidate is opened and compared, so
    a hash that only collides is never a match. The caller records who
    looked (this reads personal data)."""
    if not _POSITION.match(field or ""):
        raise InvalidInput(
            "name a form field, or a table column as table.column", fields={"field": ["unknown field"]}
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("give the value to look for", fields={"value": ["required"]})
    digest = keyring().lookup_hash(value)
    table = connection.ops.quote_name(Case._meta.db_table)
    data = connection.ops.quote_name("data")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"SELECT id FROM {table} WHERE {HASHES_SQL.format(data=data)} @> %s::jsonb ORDER BY id",
                [json.dumps([digest])],
            )
        else:
            cur.execute(f"SELECT id FROM {table} WHERE {data} LIKE %s ORDER BY id", [f'%"{digest}"%'])
        ids = [row[0] for row in cur.fetchall()]
    if not ids:
        return []
    cases = Case.objects.filter(pk__in=ids).select_related("template", "version").order_by("pk")
    if template:
        cases = cases.filter(template__code=template)
    wanted = normalised(value)
    return [
        case
        for case in cases
        if field in version_positions(case.version)
        and any(normalised(found) == wanted for found in value_at(case.data, field))
    ]
