"""The benchmarks seed rows with raw SQL (bench/inbox.py): an INSERT that does
not name a NOT NULL column added since fails only in CI's bench smoke run,
after the whole suite. This test fails first, naming the column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import NOT_PROVIDED

BENCH = Path(__file__).resolve().parents[1] / "bench"
INSERT = re.compile(r"INSERT INTO (\w+)\s*\(([^)]*)\)", re.S)


def _tables() -> dict[str, object]:
    return {model._meta.db_table: model for model in apps.get_models()}


def _inserts():
    for path in sorted(BENCH.glob("*.py")):
        for table, columns in INSERT.findall(path.read_text(encoding="utf-8")):
            yield path.name, table, {c.strip() for c in columns.split(",") if c.strip()}


def test_the_benchmarks_seed_every_required_column():
    models = _tables()
    found = [(name, table, columns) for name, table, columns in _inserts() if table in models]
    assert {table for _name, table, _columns in found} >= {"cases_case", "cases_task", "timers_timer"}
    missing = []
    for name, table, columns in found:
        for field in models[table]._meta.concrete_fields:
            required = not field.null and not field.primary_key and field.db_default is NOT_PROVIDED
            if required and field.column not in columns:
                missing.append(f"{name}: {table}.{field.column}")
    assert missing == []


@pytest.mark.parametrize("table", ["bench_spiff_case", "bench_ceiling"])
def test_the_benchmarks_own_tables_are_not_govflows(table):
    assert table not in _tables()
