"""The engine stays pure Python: no Django, Celery or Redis, and no clock.

Two independent checks: a fresh interpreter imports every engine module and
lists what ended up in `sys.modules`, and a static scan of the source finds
forbidden imports even in branches a plain import does not execute.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

ENGINE = ROOT / "govflow" / "engine"
ENGINE_FILES = sorted(ENGINE.rglob("*.py"))
FORBIDDEN = ("django", "celery", "redis", "kombu", "rest_framework")

# govflow/__init__.py imports the Celery app, so a plain `import govflow.engine`
# would load Celery (and Kombu, Redis...) before the engine is even reached and
# the check could never pass. A stub `govflow` package whose __path__ points at
# the real directory lets Python find `govflow.engine` without running
# govflow/__init__.py, so only what the engine itself imports is loaded.
IMPORT_ENGINE = """
import importlib, pkgutil, sys, types
FORBIDDEN = {forbidden!r}
if {stub!r}:
    package = types.ModuleType("govflow")
    package.__path__ = [{package!r}]
    sys.modules["govflow"] = package
import govflow.engine
for module in pkgutil.walk_packages(govflow.engine.__path__, "govflow.engine."):
    importlib.import_module(module.name)
print(",".join(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in FORBIDDEN}})))
"""


def _loaded_forbidden(*, stub: bool) -> list[str]:
    code = IMPORT_ENGINE.format(forbidden=FORBIDDEN, stub=stub, package=str(ROOT / "govflow"))
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "govflow.settings.test",
        },
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout.strip()
    return output.split(",") if output else []


def test_importing_the_engine_loads_no_framework():
    # Given a fresh interpreter that imports every engine module (and not govflow/__init__.py)
    # When the loaded modules are listed
    loaded = _loaded_forbidden(stub=True)

    # Then none of them is Django, Celery, Redis, Kombu or DRF
    assert loaded == []


def test_the_import_check_would_see_a_framework():
    # Given the same check, but importing govflow the ordinary way (its __init__ loads Celery)
    # When the loaded modules are listed
    loaded = _loaded_forbidden(stub=False)

    # Then Celery shows up, so the check above can fail
    assert "celery" in loaded


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            # importlib.import_module("django...") and __import__("django...")
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if (
                name in ("import_module", "__import__")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append((node.lineno, str(node.args[0].value)))
    return found


def test_the_engine_has_source_files():
    assert {path.name for path in ENGINE_FILES} >= {"loader.py", "graph.py", "runtime.py", "state.py"}


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_engine_source_imports_no_framework(path: Path):
    # Given one engine module's source
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))

    # When its imports are listed, including dynamic ones and those inside functions
    bad = [(line, name) for line, name in _imported_modules(tree) if name.split(".")[0] in FORBIDDEN]

    # Then none names a framework module
    assert bad == []


CLOCKS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
}


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_engine_source_never_reads_the_clock(path: Path):
    # Given one engine module's source (time is passed in, never read)
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))

    # When calls such as datetime.now() or time.time() are looked for
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name | ast.Attribute)
        and (getattr(node.func.value, "id", None) or node.func.value.attr, node.func.attr) in CLOCKS
    ]

    # Then there are none
    assert reads == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import django.db", ["django.db"]),
        ("from celery import shared_task", ["celery"]),
        ("def f():\n    import redis", ["redis"]),
        ("import importlib\nimportlib.import_module('rest_framework')", ["importlib", "rest_framework"]),
        ("from . import runtime", []),
    ],
)
def test_the_import_scan_finds_imports_wherever_they_are(source: str, expected: list[str]):
    # Given a snippet of source
    # When its imports are listed
    names = [name for _line, name in _imported_modules(ast.parse(source))]

    # Then every import is seen, relative ones excepted
    assert names == expected
