"""Shared fixtures for the engine tests.

The engine is pure Python: nothing here may need the database. pytest-django
already refuses database access to tests without the `django_db` marker; the
autouse fixture below also refuses the marker itself, so an engine test that
asks for a database fails loudly instead of silently becoming slow.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from govflow.engine import Definition, load_definition

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "tests" / "data" / "workflows"
VALID_DIR = WORKFLOWS / "valid"
INVALID_DIR = WORKFLOWS / "invalid"

HANDLERS = frozenset(
    {"id_numbers_check", "company_name_check", "credit_code_assign", "credit_code_check", "entity_check"}
)

# A fixed clock: the engine never reads time, it is handed `now`.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _read_departments() -> frozenset[str]:
    document = YAML(typ="safe", pure=True).load((ROOT / "fixtures" / "departments.yaml").read_text("utf-8"))
    return frozenset(entry["code"] for entry in document["departments"])


DEPARTMENTS = _read_departments()


@pytest.fixture(autouse=True)
def _no_database(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("django_db") is not None:
        pytest.fail("engine tests must not use the database (remove the django_db marker)")


@pytest.fixture(scope="session")
def departments() -> frozenset[str]:
    return DEPARTMENTS


@pytest.fixture(scope="session")
def handlers() -> frozenset[str]:
    return HANDLERS


def load(text: str | bytes) -> Definition:
    """Load a template written inline (indentation is removed) against the
    fixture departments and the fixed handler set."""
    if isinstance(text, str):
        text = textwrap.dedent(text)
    return load_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)


def load_valid(name: str) -> Definition:
    return load((VALID_DIR / name).read_bytes())


@pytest.fixture(scope="session")
def load_template() -> Callable[[str | bytes], Definition]:
    return load
