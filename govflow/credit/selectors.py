"""Who may use 容缺受理 and 告知承诺制 (reads only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from .models import CreditListEntry, CreditRecord, SubjectKind

# The form field types that identify an applicant.
SUBJECT_TYPES = {"uscc": SubjectKind.USCC, "cn_id_number": SubjectKind.ID_NUMBER}


@dataclass(frozen=True)
class Exclusion:
    """Why a subject may not use the commitment mechanisms."""

    code: str
    reason: str
    source: str
    until: date | None


def subject_codes(form, data: Mapping[str, Any]) -> list[str]:
    """The identifiers of the applicant in a case's form data: every
    unified social credit code and resident ID number the form holds (the
    company, its legal representative, the shareholders of a table)."""
    codes: list[str] = []

    def add(spec, value) -> None:
        if spec.type in SUBJECT_TYPES and isinstance(value, str) and value.strip():
            codes.append(value.strip().upper())

    for spec in form.fields:
        value = data.get(spec.id)
        if spec.type == "table" and isinstance(value, list):
            for row in value:
                if isinstance(row, Mapping):
                    for column in spec.columns:
                        add(column, row.get(column.id))
        else:
            add(spec, value)
    return list(dict.fromkeys(codes))


def commitment_exclusion(codes: Iterable[str], *, today: date) -> Exclusion | None:
    """The first reason any of `codes` may not use 容缺 / 告知承诺 today
    (an entry of the credit list in force, or a false commitment recorded
    within GOVFLOW_CREDIT_RECORD_DAYS), or None when they may."""
    codes = [c.strip().upper() for c in codes if c and c.strip()]
    if not codes:
        return None
    entry = (
        CreditListEntry.objects.filter(code__in=codes, valid_from__lte=today)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by("valid_from", "pk")
        .first()
    )
    if entry is not None:
        return Exclusion(entry.code, entry.reason, entry.source, entry.valid_until)
    window = timedelta(days=settings.GOVFLOW_CREDIT_RECORD_DAYS)
    record = (
        CreditRecord.objects.filter(code__in=codes, recorded_at__date__gte=today - window)
        .order_by("-recorded_at", "pk")
        .first()
    )
    if record is not None:
        return Exclusion(
            record.code,
            record.reason,
            f"false commitment on case {record.case.reference}",
            record.recorded_at.date() + window,
        )
    return None


def may_use_commitments(codes: Iterable[str], *, today: date) -> bool:
    return commitment_exclusion(codes, today=today) is None


def credit_records_for_case(*, case_id: int) -> list[CreditRecord]:
    return list(CreditRecord.objects.filter(case_id=case_id).order_by("recorded_at", "pk"))
