"""Shared pieces of the BPMN tests: the department catalogue and handlers the
pure importer is given (the shipped fixtures, as the commands use without a
database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from govflow.processes.handlers import handler_names

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "bpmn"


def _departments() -> dict[str, list[str]]:
    data = YAML(typ="safe", pure=True).load((ROOT / "fixtures" / "departments.yaml").read_text("utf-8"))
    return {d["code"]: [d["zh"], d["en"]] for d in data["departments"]}


DEPARTMENTS = _departments()
HANDLERS = handler_names()


@pytest.fixture
def importer():
    from govflow.bpmn.importer import import_bpmn

    def run(
        source: bytes | str,
        *,
        department: str | None = "market_regulation",
        lane_map: dict[str, str] | None = None,
        keep_conditions: bool = False,
        process: str | None = None,
    ):
        if isinstance(source, str):
            source = source.encode("utf-8")
        return import_bpmn(
            source,
            departments=DEPARTMENTS,
            handlers=HANDLERS,
            default_department=department,
            lane_map=lane_map,
            keep_conditions=keep_conditions,
            process=process,
        )

    return run


# The browser fixtures of the web tests (a real Chromium at /usr/bin/chromium).
from tests.web.conftest import _browser_available, browser_for, chromium, shots  # noqa: E402, F401
