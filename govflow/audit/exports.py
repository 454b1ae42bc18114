"""The audit trail as CSV for auditors: UTF-8 with a byte-order mark (so
spreadsheet programs read the Chinese right), and safe to open in one: a
cell that a spreadsheet would take for a formula is prefixed with a quote."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db import transaction
from django.utils import timezone

from .actions import Action
from .models import AuditEvent
from .selectors import TrailFilter
from .services import PendingAudit, audit_write

BOM = "\ufeff"
HEADER = (
    "id",
    "time_utc",
    "actor",
    "on_behalf_of",
    "action",
    "object_type",
    "object_id",
    "case",
    "outcome",
    "source_ip",
    "data",
    "prev_hash",
    "hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def event_row(event: AuditEvent) -> list[str]:
    return [
        safe_cell(cell)
        for cell in (
            event.id,
            event.at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            event.actor.username if event.actor_id else "",
            event.on_behalf_of.username if event.on_behalf_of_id else "",
            event.action,
            event.object_type,
            event.object_id,
            event.case.reference if event.case_id else "",
            event.outcome,
            event.source_ip or "",
            json.dumps(event.data, ensure_ascii=False, sort_keys=True),
            event.prev_hash,
            event.hash,
        )
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(HEADER)
    for event in events:
        yield writer.writerow(event_row(event))


@transaction.atomic
def audit_export_record(*, actor, filters: TrailFilter, source_ip: str | None = None) -> None:
    """An export of the trail is itself an audited act."""
    audit_write(
        [
            PendingAudit(
                action=Action.AUDIT_TRAIL_EXPORTED,
                at=timezone.now(),
                actor_id=actor.pk,
                object_type="audit",
                data={"filters": filters.as_dict()},
                source_ip=source_ip,
            )
        ]
    )
