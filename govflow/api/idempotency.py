"""The Idempotency-Key header: a retried request never acts twice.

A POST sent with `Idempotency-Key: <key>` runs inside one transaction that
first takes a lock on (user, key) (a PostgreSQL transaction-level advisory
lock; SQLite's transactions take its write lock when they begin), then
reads the key's record. A second request with the same key, sent while the
first is still running, waits for that lock until the first commits or
rolls back:

- the first committed: the second reads the stored answer and returns it
  unchanged, with `Idempotent-Replayed: true`;
- the first failed (any error: nothing was written): the second runs as if
  it were the first.

The record (user, key, the operation and its answer) is inserted once, at
the end of a successful operation, in its transaction: it exists exactly
when the operation took effect. Only successful answers are stored: an
error wrote nothing, so repeating the request is safe and may succeed once
the caller fixed the cause. The same key with another endpoint or another
body is refused with 422 `idempotency_key_reused`. Keys expire after
KEY_TTL; `manage.py purge_idempotency_keys` deletes the expired ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from govflow import rawsql

from .callers import idempotency_record
from .errors import ApiError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
# First key of the two-key advisory lock: "govflow idempotency keys".
LOCK_CLASS = 0x1DE7
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

SCHEMA_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Any unique string (a UUID is a good choice), 1 to 255 visible ASCII characters. "
        "A request repeated with the same key gets the first answer again and acts only once, "
        "even when both arrive at the same moment. Kept for 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"},
}


def _reused(message: str) -> ApiError:
    return ApiError(
        message,
        status=422,
        code="idempotency_key_reused",
        fields={HEADER: [_("used before with another endpoint or body")]},
    )


def fingerprint(request) -> str:
    """What identifies the operation: method, path and the body as parsed
    (JSON canonically; files by name, size and SHA-256)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    data = request.data
    files = getattr(request, "FILES", None) or {}
    if hasattr(data, "lists"):
        fields = {key: values for key, values in data.lists() if key not in files}
    else:
        fields = data
    digest.update(json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str).encode())
    for name in sorted(files):
        for upload in files.getlist(name):
            content = hashlib.sha256()
            for chunk in upload.chunks():
                content.update(chunk)
            upload.seek(0)
            digest.update(f"\n{name}:{upload.name}:{upload.size}:{content.hexdigest()}".encode())
    return digest.hexdigest()


def _lock(*, user, key: str) -> None:
    """Wait for any other transaction using this user's key. Unrelated keys
    that share the lock's 32-bit hash only wait for each other."""
    if connection.vendor != "postgresql":
        return  # SQLite: IMMEDIATE transactions hold the write lock from their start
    digest = zlib.crc32(f"{user.pk}:{key}".encode()) - 2**31  # int4 range
    with rawsql.kept() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, digest])


def _earlier_use(*, user, key: str, endpoint: str, print_: str, now) -> IdempotencyRecord | None:
    """The stored record of this key's earlier use, if any. Caller holds a
    transaction and the key's lock."""
    record = idempotency_record(user_id=user.pk, key=key)
    if record is None:
        return None
    if record.created_at < now - KEY_TTL:
        record.delete()
        return None
    if record.endpoint != endpoint or record.fingerprint != print_:
        raise _reused(
            _(
                "This Idempotency-Key was already used for a different request; "
                "send a new key for a new request."
            )
        )
    return record


def run_once(request, *, endpoint: str, action: Callable[[], Response], pipelined: bool = False) -> Response:
    """Run `action` (which raises on every error) at most once per key.

    `pipelined`: the action is one of the hot path's write services, built
    to run in a psycopg pipeline (govflow.rawsql.pipelined_atomic: a claim,
    a decision). The key's transaction is then that pipeline, and the
    service's transaction a savepoint inside it, so the request costs three
    round trips (the key's lock and record; the service's lock and reads;
    its writes, the key's record and the COMMIT) where each statement would
    otherwise wait for its answer. Actions that save through the ORM must
    not ask for it: in a pipeline a save() does not know yet how many rows
    its UPDATE matched."""
    key = request.headers.get(HEADER)
    if key is None:
        return action()
    if not _KEY.match(key):
        raise ApiError(
            _("The Idempotency-Key must be 1 to 255 visible ASCII characters."),
            status=400,
            code="idempotency_key_invalid",
            fields={HEADER: [_("1 to 255 visible ASCII characters")]},
        )
    print_ = fingerprint(request)
    now = timezone.now()
    with rawsql.pipelined_atomic() if pipelined else transaction.atomic():
        _lock(user=request.user, key=key)
        stored = _earlier_use(user=request.user, key=key, endpoint=endpoint, print_=print_, now=now)
        if stored is not None:
            headers = {"Idempotent-Replayed": "true"}
            if stored.location:
                headers["Location"] = stored.location
            return Response(stored.response, status=stored.status_code, headers=headers)
        response = action()
        if not 200 <= response.status_code < 300:
            return response
        record = IdempotencyRecord(
            user=request.user,
            key=key,
            endpoint=endpoint,
            fingerprint=print_,
            created_at=now,
            status_code=response.status_code,
            response=response.data,
            location=response.headers.get("Location", ""),
        )
        rawsql.insert_rows([record])  # the statement built once (the ORM's create() compiles it each time)
    return response


def purge_expired(*, now=None) -> int:
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=now - KEY_TTL).delete()
    return deleted
