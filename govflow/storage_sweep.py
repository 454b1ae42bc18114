"""Orphan files: stored objects no row names, swept after a grace period.

A file is written before the transaction that names it commits (an
attachment before its row is inserted, a certificate PDF before the row
says `valid`), so a rollback, a killed process or a lost connection can
leave a file behind with no row. `orphan_files_sweep` lists what the
storages hold under govflow's own prefixes (`attachments/` in the default
storage, everything in the certificates storage: certificates and letters), keeps every name a row
refers to and every object younger than the grace period (it may belong to
a transaction still open), and deletes the rest. Run daily by beat
(`govflow.storage.sweep_orphans`) and by hand with
`manage.py sweep_orphan_files --older-than HOURS [--dry-run]`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone

from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import Attachment
from govflow.certificates.models import Certificate
from govflow.letters.models import Letter
from govflow.storage import certificate_storage

logger = logging.getLogger("govflow.storage")

DEFAULT_GRACE = timedelta(hours=24)
BATCH = 500
# The audit event names at most this many of the deleted objects.
AUDIT_NAMES = 200


@dataclass(frozen=True)
class Orphan:
    storage: str  # "default" or "certificates"
    name: str
    modified: datetime


@dataclass
class SweepResult:
    orphans: list[Orphan] = field(default_factory=list)
    kept_young: int = 0
    referenced: int = 0
    deleted: int = 0


def current_time() -> datetime:
    return timezone.now()


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from _walk(storage, f"{folder}/{sub}" if folder else sub)


def _referenced(alias: str, names: list[str]) -> set[str]:
    # The certificates storage holds the certificates and the letters (letters/).
    models = [Attachment] if alias == "default" else [Certificate, Letter]
    return {
        name
        for model in models
        for name in model.objects.filter(file__in=names).values_list("file", flat=True)
    }


def _sources() -> list[tuple[str, Storage, str]]:
    return [("default", default_storage, "attachments"), ("certificates", certificate_storage, "")]


def orphan_files_sweep(
    *, older_than: timedelta = DEFAULT_GRACE, now: datetime | None = None, dry_run: bool = False
) -> SweepResult:
    """Find (and unless `dry_run`, delete) stored objects no row names that
    were last modified more than `older_than` before `now`."""
    now = now or current_time()
    cutoff = now - older_than
    result = SweepResult()
    for alias, storage, folder in _sources():
        batch: list[tuple[str, datetime]] = []

        def settle(batch: list[tuple[str, datetime]], alias: str = alias, storage: Storage = storage) -> None:
            if not batch:
                return
            named = _referenced(alias, [name for name, _ in batch])
            for name, modified in batch:
                if name in named:
                    result.referenced += 1
                    continue
                result.orphans.append(Orphan(alias, name, modified))
                if not dry_run:
                    storage.delete(name)
                    result.deleted += 1
                    logger.info("orphan file deleted: %s %s (modified %s)", alias, name, modified.isoformat())

        for name in _walk(storage, folder):
            modified = storage.get_modified_time(name)
            if timezone.is_naive(modified):
                modified = timezone.make_aware(modified)
            if modified > cutoff:
                result.kept_young += 1
                continue
            batch.append((name, modified))
            if len(batch) >= BATCH:
                settle(batch)
                batch = []
        settle(batch)
    if result.deleted:
        _audit(result, now=now, older_than=older_than)
    return result


def _audit(result: SweepResult, *, now: datetime, older_than: timedelta) -> None:
    with transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action="STORED_FILES_SWEPT",
                    at=now,
                    object_type="storage",
                    object_id="orphans",
                    data={
                        "count": result.deleted,
                        "older_than_hours": older_than.total_seconds() / 3600,
                        "names": [f"{o.storage}:{o.name}" for o in result.orphans[:AUDIT_NAMES]],
                    },
                )
            ]
        )
