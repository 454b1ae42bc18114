"""Stored files: which storage holds them, and reading them back checked.

The STORAGES setting (govflow.settings.storage) names two storages:
"default" (attachments) and "certificates" (the issued PDFs). Both are
local folders in the embedded default and one S3 bucket when GOVFLOW_S3_* is
set; nothing here cares which.

Every download is streamed through govflow after its permission check,
never a public or presigned URL: the check, the audit trail and the
integrity check below stay in one place (docs/deploy.md, "Files: object
storage"). `open_verified` copies the object into a temporary file while
hashing it and hands that copy out only when its SHA-256 is the one stored
in the row; on a mismatch nothing is served, the refusal is logged and
audited (FILE_INTEGRITY_FAILED) and an integrity incident is opened for the
administrators.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from govflow.audit.services import PendingAudit, audit_write
from govflow.errors import GovflowError, NotFound
from govflow.incidents.services import incident_integrity_record

logger = logging.getLogger("govflow.storage")

CHUNK = 1024 * 1024
# A verified copy stays in memory up to this size, then spills to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class LocalCertificateStorage(FileSystemStorage):
    """The certificates' folder (GOVFLOW_CERTIFICATES_DIR), outside MEDIA_ROOT
    and without a URL: only the download views serve it."""

    def __init__(self, **options) -> None:
        options.setdefault("location", settings.GOVFLOW_CERTIFICATES_DIR)
        options.setdefault("base_url", None)
        super().__init__(**options)


class _CertificateStorage(LazyObject):
    def _setup(self) -> None:
        if "certificates" in settings.STORAGES:
            self._wrapped = storages["certificates"]
        else:
            self._wrapped = LocalCertificateStorage()


# What Certificate.file stores into (govflow.certificates.models.private_storage).
certificate_storage: Storage = _CertificateStorage()  # type: ignore[assignment]


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    if setting in {"STORAGES", "GOVFLOW_CERTIFICATES_DIR"}:
        storages._storages.pop("certificates", None)
        certificate_storage._wrapped = empty


def is_remote(storage: Storage) -> bool:
    return not isinstance(storage, FileSystemStorage)


class StoredFileMissing(NotFound):
    code = "not_found"


class StoredFileCorrupted(GovflowError):
    """The stored bytes are not the ones the row's SHA-256 names: refused."""

    code = "file_integrity"
    status = 500


@dataclass(frozen=True)
class StoredObject:
    """Which row a stored file belongs to, for the audit and the incident."""

    object_type: str  # "attachment" or "certificate"
    object_id: str
    case_id: int | None = None


def _missing_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (FileNotFoundError, OSError)
    try:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - botocore is heavy and needed only with the S3 backend
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return errors
    return (*errors, ClientError, BotoCoreError)


def open_verified(field_file, *, sha256: str, stored: StoredObject, actor_id: int | None = None):
    """A readable copy of `field_file` whose SHA-256 is `sha256`, positioned
    at its start; StoredFileMissing when the storage has no such object,
    StoredFileCorrupted (after logging, auditing and opening an incident)
    when the bytes differ."""
    if not field_file:
        raise StoredFileMissing(f"{stored.object_type} has no stored file")
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    digest = hashlib.sha256()
    try:
        with field_file.storage.open(field_file.name, "rb") as source:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                copy.write(chunk)
    except _missing_errors() as exc:
        copy.close()
        logger.warning(
            "stored file missing: %s %s (%s): %s", stored.object_type, stored.object_id, field_file.name, exc
        )
        raise StoredFileMissing(f"{stored.object_type} file not found") from None
    found = digest.hexdigest()
    if not sha256 or found != sha256:
        copy.close()
        file_integrity_failed(
            name=field_file.name, expected=sha256, found=found, stored=stored, actor_id=actor_id
        )
        raise StoredFileCorrupted(
            "The stored file failed its integrity check (its SHA-256 is not the one recorded); "
            "it was not served and the administrators have been told."
        )
    copy.seek(0)
    return copy


def file_integrity_failed(
    *, name: str, expected: str, found: str, stored: StoredObject, actor_id: int | None = None, now=None
) -> None:
    """Record a refused read: an error in the log, an audit event and an
    integrity incident (one unresolved per object, counting the refusals)."""
    now = now or timezone.now()
    logger.error(
        "integrity check failed, not served: %s %s (%s): expected sha256 %s, found %s",
        stored.object_type,
        stored.object_id,
        name,
        expected or "(none)",
        found,
    )
    with transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action="FILE_INTEGRITY_FAILED",
                    at=now,
                    actor_id=actor_id,
                    object_type=stored.object_type,
                    object_id=stored.object_id,
                    case_id=stored.case_id,
                    data={"name": name, "expected_sha256": expected, "found_sha256": found},
                )
            ]
        )
        incident_integrity_record(
            topic=f"{stored.object_type}:{stored.object_id}"[:64],
            case_id=stored.case_id,
            error=f"{name}: expected sha256 {expected or '(none)'}, found {found}",
            now=now,
        )


def store_once(storage: Storage, name: str, data: bytes) -> None:
    """Store `data` under exactly `name` (a name that says what it holds, so
    a second delivery stores the same bytes): kept when an object of that name
    already holds them, replaced when it holds anything else (a write cut off
    halfway)."""
    digest = hashlib.sha256(data).hexdigest()
    if storage.exists(name):
        with storage.open(name, "rb") as existing:
            if hashlib.sha256(existing.read()).hexdigest() == digest:
                return
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:  # pragma: no cover - another writer took the name meanwhile
        storage.delete(saved)
        raise RuntimeError(f"could not store {name}: the name is taken")
