"""The audit trail in words: an action's label, an event's details as
`key: value` text (lists joined, nested values as JSON, never Python's repr)."""

from __future__ import annotations

import json

from django import template

from govflow.audit.labels import action_label as _action_label

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return _action_label(code)


def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return (
            "、".join(_value(v) for v in value)
            if all(not isinstance(v, dict | list) for v in value)
            else (json.dumps(value, ensure_ascii=False, default=str))
        )
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@register.filter
def audit_details(data) -> list[tuple[str, str]]:
    """(key, text) pairs of an event's data, in its stored order."""
    if not isinstance(data, dict):
        return []
    return [(str(key), _value(value)) for key, value in data.items()]
