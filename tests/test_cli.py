"""`manage.py` during an outage or before `migrate`: one clear line on
stderr and exit 3, never a traceback; other errors keep their traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, ProgrammingError

from govflow.cli import EXIT_UNAVAILABLE, unavailable_message

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "govflow.settings.local"
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", [["check_calendar"], ["reconcile"], ["load_demo"]])
def test_a_command_facing_a_stopped_database_says_so_in_one_line(command):
    result = _manage(*command, database_url=f"postgres://postgres@127.0.0.1:{_closed_port()}/govflow")

    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{command[0]}: ")
    assert "DATABASE_URL" in lines[0]


def test_a_command_on_an_unmigrated_database_asks_for_migrate(tmp_path):
    result = _manage("check_calendar", database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert "Traceback" not in result.stderr
    assert "manage.py migrate" in result.stderr


def test_the_traceback_is_still_there_when_asked_for(tmp_path):
    result = _manage("check_calendar", "--traceback", database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert result.returncode not in (0, EXIT_UNAVAILABLE)
    assert "Traceback" in result.stderr


def test_only_outages_and_a_missing_schema_are_turned_into_a_message():
    assert unavailable_message(OperationalError("connection refused")) is not None
    assert "migrate" in unavailable_message(ProgrammingError('relation "cases_case" does not exist'))
    # A programming error that is not a missing table is a bug: its traceback stays.
    assert unavailable_message(ProgrammingError("syntax error at or near SELEC")) is None
    assert unavailable_message(ValueError("bug")) is None
    assert unavailable_message(KeyError("bug")) is None


def test_the_outage_line_speaks_the_language_the_command_was_asked_for(tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    chinese = _manage("check_calendar", database_url=empty)
    english = _manage("check_calendar", "--language", "en", database_url=empty)

    assert chinese.returncode == english.returncode == EXIT_UNAVAILABLE
    assert "请先运行" in chinese.stderr
    assert "Run `python manage.py migrate` first." in english.stderr
