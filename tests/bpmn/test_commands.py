"""import_bpmn and export_bpmn: exit codes, one line per problem, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import CORPUS, ROOT


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args, "--language", "en"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "govflow.settings.local",
            "DATABASE_URL": "sqlite:////nonexistent/none.sqlite3",
        },
    )


def test_export_then_import_then_validate_and_simulate(tmp_path):
    bpmn, yaml = tmp_path / "business.bpmn", tmp_path / "business.yaml"
    exported = manage("export_bpmn", "workflows/business_setup.yaml", "--out", str(bpmn))
    assert exported.returncode == 0, exported.stderr
    assert bpmn.read_bytes().startswith(b"<?xml")
    imported = manage("import_bpmn", str(bpmn), "--out", str(yaml))
    assert imported.returncode == 0, imported.stderr
    assert manage("validate_process", str(yaml)).returncode == 0
    run = manage("simulate_process", str(yaml), "--approve-all")
    assert run.returncode == 0
    assert "outcome: approved" in run.stdout


def test_import_prints_yaml_and_notes_apart():
    result = manage(
        "import_bpmn",
        str(
            CORPUS
            / "camunda-bpm-platform"
            / "gateway__ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn"
        ),
        "--department",
        "tax",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("id: exclusive_gw_diverging")
    assert "note:" not in result.stdout
    assert "was translated to 'input == 1'" in result.stderr


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (
            CORPUS / "miwg" / "A.3.0.bpmn",
            ":17: element '_428dcbf5-8e5e-48e0-9c0c-d93003fa8c82': a message boundary event",
        ),
        (ROOT / "README.md", "not well-formed XML"),
        (ROOT / "does-not-exist.bpmn", "cannot read the file"),
    ],
)
def test_a_refused_import_exits_1_with_lines_and_no_traceback(path, says):
    result = manage("import_bpmn", str(path), "--department", "tax")
    assert result.returncode == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_export_of_an_invalid_template_lists_its_problems():
    result = manage("export_bpmn", "tests/data/workflows/invalid/unknown_node_reference.yaml")
    assert result.returncode == 1
    assert "unknown_node_reference.yaml:" in result.stderr
    assert "Traceback" not in result.stderr
