"""Numbers for the documents a department issues (certificates, written
letters): `<prefix>-<year>-<six digits>`, one gapless counter per prefix and
year (CertificateSequence), taken under a row lock."""

from __future__ import annotations

from .models import CertificateSequence


def number_prefix(department_code: str) -> str:
    """A department's letters in certificate numbers: the initials of its
    code (market_regulation -> MR), or the first three letters of a one-word
    code (tax -> TAX). Departments sharing letters share one sequence, so
    numbers stay unique."""
    parts = [p for p in department_code.split("_") if p]
    if len(parts) > 1:
        return "".join(p[0] for p in parts)[:4].upper()
    return (parts[0][:3] if parts else "GOV").upper()


def next_number(prefix: str, year: int) -> str:
    """The next number of `prefix` in `year` (at most 8 characters of prefix).
    Caller is in a transaction; the sequence row stays locked until it ends."""
    CertificateSequence.objects.bulk_create(
        [CertificateSequence(prefix=prefix, year=year)], ignore_conflicts=True
    )
    sequence = CertificateSequence.objects.select_for_update().get(prefix=prefix, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{sequence.last:06d}"
