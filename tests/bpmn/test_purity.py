"""The translation code is pure like the engine: a fresh interpreter imports
the importer, exporter, layout and their helpers with no Django, Celery or
Redis, and no module of them names one (the Django glue lives in views,
selectors, catalogue, templatetags and the commands)."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import ROOT

PURE = ("common", "conditions", "importer", "reading", "model", "writing", "exporter", "layout", "roundtrip")
FORBIDDEN = ("django", "celery", "redis", "kombu", "rest_framework")
SCRIPT = f"""
import importlib, sys, types
package = types.ModuleType("govflow")
package.__path__ = [{str(ROOT / "govflow")!r}]
sys.modules["govflow"] = package
for name in {PURE!r}:
    importlib.import_module("govflow.bpmn." + name)
print(",".join(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r}}})))
"""


def test_importing_the_translation_modules_loads_no_framework():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_no_translation_module_names_a_framework():
    for name in PURE:
        tree = ast.parse((ROOT / "govflow" / "bpmn" / f"{name}.py").read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert not set(roots) & set(FORBIDDEN), (name, roots)
