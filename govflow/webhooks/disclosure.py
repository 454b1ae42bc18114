"""What form data an endpoint is sent.

Only the fields the template's form defines are sent. A secret field (or a
secret table column, as 'table.column') is left out and its id listed as
withheld, unless the endpoint is cleared for secrets: a cleared department
endpoint gets the fields the template clears for that department (as its
reviewers see them unmasked on the web), a cleared system endpoint all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govflow.processes.services import version_definition

from .models import Endpoint


def form_for_endpoint(case, endpoint: Endpoint) -> tuple[dict[str, Any], list[str], list[str]]:
    """(form values the endpoint may have, secret ids withheld, secret ids sent)."""
    definition = version_definition(case.version)
    if not endpoint.cleared_for_secrets:
        cleared: frozenset[str] | None = frozenset()
    elif endpoint.department_id is None:
        cleared = None  # a cleared system: every secret field
    else:
        cleared = definition.clearance_for(endpoint.department.code)
    return form_view(definition.form, case.data or {}, cleared)


def form_view(
    form, data: Mapping[str, Any], cleared: frozenset[str] | None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Only fields the form defines; a secret field (or table column, as
    'table.column') is kept when `cleared` is None or names it."""

    def allowed(path: str, table: str | None = None) -> bool:
        return cleared is None or path in cleared or (table is not None and table in cleared)

    values: dict[str, Any] = {}
    withheld: list[str] = []
    revealed: list[str] = []
    for spec in form.fields:
        if spec.id not in data:
            continue
        value = data[spec.id]
        if spec.type == "table":
            secret_columns = [
                column.id
                for column in spec.columns
                if spec.sensitivity == "secret" or column.sensitivity == "secret"
            ]
            rows = []
            for row in value if isinstance(value, list) else []:
                if not isinstance(row, Mapping):
                    continue
                kept = {}
                for key, cell in row.items():
                    if key not in secret_columns:
                        kept[key] = cell
                        continue
                    path = f"{spec.id}.{key}"
                    if allowed(path, spec.id):
                        kept[key] = cell
                        if cell not in (None, "") and path not in revealed:
                            revealed.append(path)
                    elif path not in withheld:
                        withheld.append(path)
                rows.append(kept)
            values[spec.id] = rows
        elif spec.sensitivity == "secret":
            if allowed(spec.id):
                values[spec.id] = value
                if value not in (None, ""):
                    revealed.append(spec.id)
            else:
                withheld.append(spec.id)
        else:
            values[spec.id] = value
    return values, withheld, revealed
