"""The audit trail in words: an action's label, an event's details as
`key: value` text (lists joined, nested values as JSON, never Python's repr)."""

from __future__ import annotations

import json
import re
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.audit.labels import action_label as _action_label
from govflow.audit.labels import detail_label, object_label, outcome_label

# A moment stored as ISO 8601 with its offset (UTC in the data): shown in local time like the rest.
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return _action_label(code)


def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
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
    return [(detail_label(str(key)), _value(value)) for key, value in data.items()]


@register.filter
def audit_outcome(code: str) -> str:
    return outcome_label(code)


@register.filter
def audit_object(code: str) -> str:
    return object_label(code)
