"""schemathesis against the embedded default too: the same test as
test_schemathesis.py, in a pytest of its own on SQLite (what `make run`
uses), where an id beyond 64 bits once answered 500 (OverflowError)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_api_keeps_its_schema_on_sqlite(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DATABASE_URL", "FAKETIME", "LD_PRELOAD"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'schemathesis.sqlite3'}",
        GOVFLOW_SCHEMATHESIS_EXAMPLES=os.environ.get("GOVFLOW_SCHEMATHESIS_SQLITE_EXAMPLES", "5"),
    )

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--show-capture=no",
            "tests/api/test_schemathesis.py",
            "-k",
            "applicant or admin",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )

    failures = [line for line in done.stdout.splitlines() if line.startswith("E ")]
    assert done.returncode == 0, "\n".join(failures[-80:]) or done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
