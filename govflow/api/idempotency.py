"""The Idempotency-Key header: a retried request never acts twice.

A POST sent with `Idempotency-Key: <key>` runs inside one transaction that
first inserts (user, key) into IdempotencyRecord, under a unique constraint.
A second request with the same key, sent while the first is still running,
blocks on that insert until the first commits or rolls back (PostgreSQL
waits on the unique index; SQLite's write lock serialises the same way):

- the first committed: the second reads the stored answer (under a row
  lock) and returns it unchanged, with `Idempotent-Replayed: true`;
- the first failed (any error: nothing was written, the record with it):
  the second runs as if it were the first.

Only successful answers are stored: an error wrote nothing, so repeating the
request is safe and may succeed once the caller fixed the cause. The same
key with another endpoint or another body is refused with 422
`idempotency_key_reused`. Keys expire after KEY_TTL; `manage.py
purge_idempotency_keys` deletes the expired ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .errors import ApiError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
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


def _claim(*, user, key: str, endpoint: str, print_: str) -> IdempotencyRecord | None:
    """Insert the key, or return the stored record of its earlier use.
    Caller holds a transaction."""
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    user=user, key=key, endpoint=endpoint, fingerprint=print_, created_at=now
                )
            return None
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
        if record is None:  # deleted by the purge between the two statements
            continue
        if record.created_at < now - KEY_TTL:
            record.delete()
            continue
        if record.endpoint != endpoint or record.fingerprint != print_:
            raise _reused(
                _(
                    "This Idempotency-Key was already used for a different request; "
                    "send a new key for a new request."
                )
            )
        return record
    raise _reused(_("This Idempotency-Key is being reused too quickly; send a new key."))


def run_once(request, *, endpoint: str, action: Callable[[], Response]) -> Response:
    """Run `action` (which raises on every error) at most once per key."""
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
    with transaction.atomic():
        stored = _claim(user=request.user, key=key, endpoint=endpoint, print_=print_)
        if stored is not None:
            headers = {"Idempotent-Replayed": "true"}
            if stored.location:
                headers["Location"] = stored.location
            return Response(stored.response, status=stored.status_code, headers=headers)
        response = action()
        if not 200 <= response.status_code < 300:
            IdempotencyRecord.objects.filter(user=request.user, key=key).delete()
            return response
        IdempotencyRecord.objects.filter(user=request.user, key=key).update(
            status_code=response.status_code,
            response=response.data,
            location=response.headers.get("Location", ""),
        )
    return response


def purge_expired(*, now=None) -> int:
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=now - KEY_TTL).delete()
    return deleted
