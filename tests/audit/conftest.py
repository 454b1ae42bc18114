"""Helpers for the audit tests: a signing key, writing events, tampering
with the table as a database administrator would, and running commands."""

from __future__ import annotations

import base64
import io
import os
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone, translation

from govflow.audit.models import AuditEvent
from govflow.audit.services import PendingAudit, audit_write


def new_seed() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def signing_key(monkeypatch):
    seed = new_seed()
    monkeypatch.setenv("GOVFLOW_AUDIT_SIGNING_KEY", seed)
    monkeypatch.delenv("GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS", raising=False)
    return seed


def write_events(count: int, action: str = "TEST_EVENT", **data) -> list[int]:
    """Append `count` events. Their action may be made up (TEST_EVENT): these
    tests are about the chain, not the vocabulary of actions."""
    with made_up_actions(), transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action=action, at=timezone.now(), object_type="test", object_id=str(n), data=data
                )
                for n in range(count)
            ]
        )
    return list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:count])[::-1]


def made_up_actions():
    return override_settings(GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY=False)


@contextmanager
def as_database_owner():
    """What a superuser with direct SQL access can do: the append-only
    trigger is bypassed for the rest of the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def run(command: str, *args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        # The commands speak the active language; these tests read English.
        with translation.override("en"):
            call_command(command, *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()
