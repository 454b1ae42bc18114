"""Fixtures of the commitment tests: signing keys of the test's own and the
small template of tests/data/services/commitments.yaml, published."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

SOURCE = Path(__file__).resolve().parents[1] / "data" / "services" / "commitments.yaml"


@pytest.fixture
def keys(settings, tmp_path):
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())


@pytest.fixture
def template(base_data):
    from govflow.processes.services import process_publish

    return process_publish(source=SOURCE.read_text(encoding="utf-8"))
