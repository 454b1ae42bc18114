"""After a restore: does every row that names a stored file find it?

The other direction from govflow.storage_sweep (objects no row names). A
restore of PostgreSQL and of the bucket from different moments, or a bucket
copy that missed objects, leaves rows whose file is gone: their downloads
answer 404 and the log says "stored file missing". `stored_files_check`
lists them (attachments, certificates, letters), and with `hashes=True`
also reads every object and lists those whose SHA-256 is not the row's.
`manage.py check_stored_files [--hashes]` prints one line per problem and
exits 1 when there is any (docs/deploy.md, "Backup and restore").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from govflow.cases.models import Attachment
from govflow.certificates.models import Certificate
from govflow.letters.models import Letter

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFileProblem:
    object_type: str  # "attachment", "certificate" or "letter"
    object_id: str
    name: str
    problem: str  # "missing" or "sha256 differs"

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.name} {self.problem}"


def _rows() -> Iterator[tuple[str, str, object, str]]:
    for model, kind, key in (
        (Attachment, "attachment", "pk"),
        (Certificate, "certificate", "number"),
        (Letter, "letter", "number"),
    ):
        for row in (
            model.objects.exclude(file="")
            .only("pk", key, "file", "sha256")
            .order_by("pk")
            .iterator(chunk_size=500)
        ):
            yield kind, str(getattr(row, key)), row.file, row.sha256


def _digest(field_file) -> str:
    digest = hashlib.sha256()
    with field_file.storage.open(field_file.name, "rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stored_files_check(*, hashes: bool = False) -> list[StoredFileProblem]:
    problems = []
    for kind, object_id, field_file, sha256 in _rows():
        if not field_file.storage.exists(field_file.name):
            problems.append(StoredFileProblem(kind, object_id, field_file.name, "missing"))
        elif hashes and sha256 and _digest(field_file) != sha256:
            problems.append(StoredFileProblem(kind, object_id, field_file.name, "sha256 differs"))
    return problems
