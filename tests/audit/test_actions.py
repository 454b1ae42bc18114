"""The vocabulary of audit actions: every action written is an Action."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import transaction

import govflow
from govflow.audit.actions import KNOWN, Action
from govflow.audit.models import AuditEvent
from govflow.audit.services import PendingAudit, UnknownAction, audit_write, canonical

AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_each_action_is_stored_under_its_own_name():
    # The chain hashes these strings: a member whose value drifted from its
    # name would be a rename in disguise.
    assert all(action.value == action.name for action in Action)


def test_an_action_hashes_as_the_plain_string_it_replaced():
    # Given the same event written with the enum and with the old literal
    as_enum = PendingAudit(action=Action.CASE_SUBMITTED, at=AT, case_id=1)
    as_text = PendingAudit(action="CASE_SUBMITTED", at=AT, case_id=1)

    # Then the canonical bytes (what the chain hashes) are the same
    assert canonical(7, as_enum) == canonical(7, as_text)
    assert json.loads(canonical(7, as_enum))["action"] == "CASE_SUBMITTED"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("in_review", Action.CASE_IN_REVIEW),
        ("awaiting_correction", Action.CASE_AWAITING_CORRECTION),
        ("approved", Action.CASE_APPROVED),
        ("rejected", Action.CASE_REJECTED),
        ("withdrawn", Action.CASE_WITHDRAWN),
    ],
)
def test_a_status_change_has_its_action(status, action):
    assert Action.for_status(status) is action


@pytest.mark.django_db
def test_an_unknown_action_is_refused_and_nothing_is_written(settings):
    # Given the check is on (as in DEBUG and the tests)
    settings.GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY = True
    before = AuditEvent.objects.count()

    # When an event with a misspelt action is written
    with pytest.raises(UnknownAction) as refused, transaction.atomic():
        audit_write([PendingAudit(action="CASE_SUBMITED", at=AT)])

    # Then it is refused by name
    assert "CASE_SUBMITED" in str(refused.value)
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_known_action_is_written_as_its_value(settings):
    settings.GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY = True

    with transaction.atomic():
        audit_write([PendingAudit(action=Action.AUDIT_TRAIL_EXPORTED, at=AT, object_type="probe")])

    stored = AuditEvent.objects.filter(object_type="probe").values_list("action", flat=True).get()
    assert stored == "AUDIT_TRAIL_EXPORTED"
    assert type(stored) is str


ACTION_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
WRITERS = re.compile(r"^(event|record|_audit\w*|_event)$")


def _written_literals():
    """(where, string) of each upper-case literal passed as an audit action:
    `action=` of any call, or the first argument of the audit helpers
    (`changes.event`, `record`, `_audit...`)."""
    root = Path(govflow.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            candidates = [k.value for k in node.keywords if k.arg in ("action", "granted", "revoked")]
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None) or ""
            if WRITERS.match(name) and node.args:
                candidates.append(node.args[0])
            for value in candidates:
                for constant in ast.walk(value):
                    text = constant.value if isinstance(constant, ast.Constant) else None
                    if isinstance(text, str) and ACTION_LIKE.match(text):
                        yield f"{path.relative_to(root)}:{constant.lineno}", text


def test_every_action_literal_in_the_code_is_an_action():
    # Writers not exercised by a test are checked here; the runtime check
    # (GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY) covers actions built at run time.
    unknown = [f"{where} {value}" for where, value in _written_literals() if value not in KNOWN]
    assert unknown == []


def test_every_action_has_words_in_both_languages():
    """The trail page shows an action in words; a new action without them
    fails here (add it to govflow/audit/labels.py and its Chinese to the
    catalogue)."""
    from django.utils import translation

    from govflow.audit.labels import LABELS, action_label

    assert set(LABELS) == set(Action)
    with translation.override("en"):
        english = {action: action_label(action.value) for action in Action}
    with translation.override("zh-hans"):
        chinese = {action: action_label(action.value) for action in Action}
    assert all(text and text != action.value for action, text in english.items())
    untranslated = sorted(a.value for a in Action if chinese[a] == english[a])
    assert untranslated == []
    assert chinese[Action.TASK_TRANSFERRED] == "转办"
    assert action_label("NO_LONGER_KNOWN") == "NO_LONGER_KNOWN"
