"""DATABASE_TRANSACTION_POOLING (docs/deploy.md, "PgBouncer"): behind
PgBouncer in transaction mode nothing may outlive a transaction. The web
role's settings turn off server-prepared statements and server-side
cursors; a Celery worker, whose outbox attempts hold session advisory
locks, refuses to start. tests/distributed runs it against a real PgBouncer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def database_options(**env: str) -> dict:
    """What govflow.settings.base makes of DATABASE_* in a fresh process."""
    code = (
        "import json; from govflow.settings import base; d = base.DATABASES['default']; "
        "print(json.dumps({'prepare_threshold': d['OPTIONS'].get('prepare_threshold'), "
        "'server_side_cursors_off': d.get('DISABLE_SERVER_SIDE_CURSORS')}))"
    )
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_SETTINGS_MODULE"))
    }
    environment.update(DATABASE_URL="postgres://govflow@db.example:5432/govflow", **env)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_without_a_pool_statements_are_prepared_after_five_runs():
    assert database_options() == {"prepare_threshold": 5, "server_side_cursors_off": False}


def test_behind_a_transaction_pool_nothing_outlives_a_transaction():
    options = database_options(DATABASE_TRANSACTION_POOLING="1")
    assert options == {"prepare_threshold": None, "server_side_cursors_off": True}


def test_pgbouncer_tracking_prepared_statements_may_keep_the_threshold():
    options = database_options(DATABASE_TRANSACTION_POOLING="1", DATABASE_PREPARE_THRESHOLD="5")
    assert options == {"prepare_threshold": 5, "server_side_cursors_off": True}


def test_a_worker_refuses_to_start_behind_a_transaction_pool(settings):
    from govflow.celery import _refuse_transaction_pooling

    settings.DATABASE_TRANSACTION_POOLING = True
    with pytest.raises(SystemExit, match="advisory locks"):
        _refuse_transaction_pooling()
    settings.DATABASE_TRANSACTION_POOLING = False
    _refuse_transaction_pooling()
