"""What the pure importer and exporter need from the database: the
departments (codes and names, for lanes) and the registered handlers."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from ruamel.yaml import YAML

from govflow.accounts.models import Department
from govflow.processes.handlers import handler_names


def departments_catalogue() -> dict[str, list[str]]:
    """code -> [Chinese name, English name]: the active departments in the
    database when it has any, else the shipped fixtures/departments.yaml
    (so the commands work on a fresh checkout with no database)."""
    try:
        found = {
            d.code: [d.name_zh, d.name_en]
            for d in Department.objects.filter(is_active=True).only("code", "name_zh", "name_en")
        }
    except DatabaseError:
        found = {}
    if found:
        return found

    path = Path(settings.GOVFLOW_FIXTURES_DIR) / "departments.yaml"
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return {entry["code"]: [entry.get("zh", ""), entry.get("en", "")] for entry in data["departments"]}


def handlers() -> frozenset[str]:
    return handler_names()
