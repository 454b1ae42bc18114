"""The public progress lookup (办件进度查询): a case found by its reference
and its query code (查询码), without a login.

The query code is a keyed hash of the case's reference and its random
`query_nonce`, written in ten characters of an alphabet without look-alikes
(no 0/O, 1/I/L): about 49 bits, so guessing is hopeless within the rate
limits. The code is stored nowhere: a copy of the database does not reveal
it, and the applicant's case page can show it again at any time. The key is
derived from GOVFLOW_DATA_HMAC_KEY (govflow.security.crypto); changing that
key changes every case's code.

A wrong code and an unknown reference give the same answer (None), after
the same work: a code is computed and compared in constant time either way.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import datetime

from django.conf import settings
from prometheus_client import Counter

from govflow.cases.models import Case, CaseStatus
from govflow.security.crypto import DataKeyError, _decode_key, _derive

from .progress import CaseProgress, case_progress

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
# Computed for an unknown reference, so that it costs what a known one does.
_DUMMY_NONCE = "0" * 32

LOOKUPS = Counter(
    "govflow_progress_lookups",
    "Public progress lookups, by result (found, not_found, limited). No case or client is recorded.",
    ["result"],
)


def _key() -> bytes:
    text = getattr(settings, "GOVFLOW_DATA_HMAC_KEY", "") or ""
    if not text:
        raise DataKeyError("the query code's key is not configured: set GOVFLOW_DATA_HMAC_KEY")
    return _derive(_decode_key(text, "GOVFLOW_DATA_HMAC_KEY"), b"query code v1", 32)


def _code_for(reference: str, nonce: str) -> str:
    digest = hmac.new(_key(), f"{reference}\n{nonce}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def query_code(case: Case) -> str:
    """The case's query code, as the applicant is shown it (XXXXX-XXXXX)."""
    code = _code_for(case.reference, case.query_nonce)
    return f"{code[:5]}-{code[5:]}"


def normalise_code(text: str) -> str:
    """What a person typed, as the code is compared: full-width characters
    folded, spaces and hyphens dropped, upper case."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in folded if ch not in " -_\u3000\t").upper()[:32]


def normalise_reference(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).upper()[:32]


def case_for_lookup(*, reference: str, code: str) -> Case | None:
    """The submitted case with this reference whose query code is `code`;
    None for a wrong code, an unknown reference or a draft alike."""
    reference = normalise_reference(reference)
    typed = normalise_code(code)
    case = (
        Case.objects.select_related("template", "version")
        .filter(reference=reference)
        .exclude(status=CaseStatus.DRAFT)
        .first()
        if reference
        else None
    )
    expected = _code_for(reference, case.query_nonce if case is not None else _DUMMY_NONCE)
    matches = hmac.compare_digest(expected.encode(), typed.encode())
    if case is None or not matches:
        LOOKUPS.labels(result="not_found").inc()
        return None
    LOOKUPS.labels(result="found").inc()
    return case


def progress_lookup(*, reference: str, code: str, language: str, now: datetime) -> CaseProgress | None:
    """The public facts of the case's progress, or None (see case_for_lookup)."""
    case = case_for_lookup(reference=reference, code=code)
    if case is None:
        return None
    return case_progress(case=case, language=language, now=now)


def lookup_limited() -> None:
    LOOKUPS.labels(result="limited").inc()
