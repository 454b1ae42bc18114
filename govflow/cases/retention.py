"""Retention of closed cases' personal data.

A case that closed (approved, rejected, withdrawn) more than
GOVFLOW_RETENTION_ATTACHMENTS_DAYS ago loses its attachments (rows and
files); one closed more than GOVFLOW_RETENTION_SECRETS_DAYS ago has the
values of its secret fields (and secret table columns) blanked. Each case is
purged in its own transaction under its row lock, recorded in
RetentionPurge and by an audit event naming what went (field names, file
hashes; never the values). The audit trail itself is never touched, so the
chain still verifies afterwards. Unset settings mean: keep. It locks and
writes cases as their services do, so it lives with them; the record of a
purge (RetentionPurge) is the audit app's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.models import RetentionPurge
from govflow.audit.services import PendingAudit, audit_write
from govflow.processes.services import version_definition

from .models import ENDED_CASE_STATUSES, Attachment, Case

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    dry_run: bool
    attachment_cases: list[str] = field(default_factory=list)
    attachments: int = 0
    secret_cases: list[str] = field(default_factory=list)
    secret_values: int = 0


def secret_paths(definition) -> tuple[list[str], dict[str, list[str]]]:
    """(secret fields, {table field: its secret columns})."""
    fields: list[str] = []
    columns: dict[str, list[str]] = {}
    for spec in definition.form.fields:
        if spec.type == "table":
            secret = [c.id for c in spec.columns if spec.sensitivity == "secret" or c.sensitivity == "secret"]
            if secret:
                columns[spec.id] = secret
        elif spec.sensitivity == "secret":
            fields.append(spec.id)
    return fields, columns


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def blank_secrets(data: dict[str, Any], definition) -> tuple[dict[str, Any], list[str]]:
    """A copy of `data` with every secret value set to None, and the paths
    that held a value."""
    fields, columns = secret_paths(definition)
    cleared: list[str] = []
    result = dict(data)
    for name in fields:
        if not _blank(result.get(name)):
            result[name] = None
            cleared.append(name)
    for table, secret_columns in columns.items():
        rows = result.get(table)
        if not isinstance(rows, list):
            continue
        new_rows = []
        for row in rows:
            if isinstance(row, dict):
                row = dict(row)
                for column in secret_columns:
                    if not _blank(row.get(column)):
                        row[column] = None
                        path = f"{table}.{column}"
                        if path not in cleared:
                            cleared.append(path)
            new_rows.append(row)
        result[table] = new_rows
    return result, cleared


def _closed_before(cutoff: datetime):
    return Case.objects.filter(status__in=ENDED_CASE_STATUSES, completed_at__lt=cutoff)


def _event(action: str, case: Case, now: datetime, **data) -> PendingAudit:
    return PendingAudit(
        action=action,
        at=now,
        object_type="case",
        object_id=str(case.pk),
        case_id=case.pk,
        data={"reason": "retention", **data},
    )


def _purge_attachments(case_id: int, now: datetime, days: int) -> int:
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
        attachments = list(Attachment.objects.filter(case=case).order_by("pk"))
        if not attachments:
            return 0
        files = [a.file for a in attachments]
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
        purge, _ = RetentionPurge.objects.select_for_update().get_or_create(case=case)
        purge.attachments_purged_at = now
        purge.attachments_removed += len(attachments)
        purge.save(update_fields=["attachments_purged_at", "attachments_removed"])
        audit_write(
            [
                _event(
                    Action.ATTACHMENTS_PURGED,
                    case,
                    now,
                    days=days,
                    count=len(attachments),
                    sha256=[a.sha256 for a in attachments],
                )
            ]
        )

        def delete_files() -> None:
            for stored in files:
                try:
                    stored.delete(save=False)
                except OSError as exc:  # the row is gone; a stray file is reported, not fatal
                    log.warning("retention: file %s not deleted: %s", stored.name, exc)

        transaction.on_commit(delete_files)
        return len(attachments)


def _purge_secrets(case_id: int, now: datetime, days: int) -> int:
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("version").get(pk=case_id)
        purge, _ = RetentionPurge.objects.select_for_update().get_or_create(case=case)
        if purge.secrets_purged_at is not None:
            return 0
        data, cleared = blank_secrets(case.data or {}, version_definition(case.version))
        if cleared:
            case.data = data
            case.row_version += 1
            case.save(update_fields=["data", "row_version", "updated_at"])
        purge.secrets_purged_at = now
        purge.secret_fields = cleared
        purge.save(update_fields=["secrets_purged_at", "secret_fields"])
        audit_write([_event(Action.SECRETS_PURGED, case, now, days=days, fields=cleared)])
        return len(cleared)


def retention_purge(*, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply the retention settings to every closed case past them."""
    now = now or timezone.now()
    report = PurgeReport(dry_run=dry_run)
    attachment_days = getattr(settings, "GOVFLOW_RETENTION_ATTACHMENTS_DAYS", None)
    secret_days = getattr(settings, "GOVFLOW_RETENTION_SECRETS_DAYS", None)
    if attachment_days:
        cutoff = now - timedelta(days=attachment_days)
        due = (
            _closed_before(cutoff)
            .filter(attachments__isnull=False)
            .distinct()
            .order_by("pk")
            .values_list("pk", "reference")
        )
        for case_id, reference in due:
            if dry_run:
                count = Attachment.objects.filter(case_id=case_id).count()
            else:
                count = _purge_attachments(case_id, now, attachment_days)
            if count:
                report.attachment_cases.append(reference)
                report.attachments += count
    if secret_days:
        cutoff = now - timedelta(days=secret_days)
        due = (
            _closed_before(cutoff)
            .exclude(retention_purge__secrets_purged_at__isnull=False)
            .order_by("pk")
            .values_list("pk", "reference")
        )
        for case_id, reference in due:
            if dry_run:
                case = Case.objects.select_related("version").get(pk=case_id)
                count = len(blank_secrets(case.data or {}, version_definition(case.version))[1])
            else:
                count = _purge_secrets(case_id, now, secret_days)
            if count:
                report.secret_cases.append(reference)
                report.secret_values += count
    return report
