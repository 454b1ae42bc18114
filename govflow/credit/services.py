"""Writes to the credit list and the credit records (the only writers)."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine.identifiers import cn_id_problem, uscc_problem
from govflow.errors import InvalidInput

from .models import CreditListEntry, CreditRecord, SubjectKind


def subject_kind_of(code: str, *, today: date) -> str:
    """USCC or ID number, by the checksum; InvalidInput for neither."""
    code = code.strip().upper()
    if uscc_problem(code) is None:
        return SubjectKind.USCC
    if cn_id_problem(code, today=today) is None:
        return SubjectKind.ID_NUMBER
    raise InvalidInput(
        "not a valid unified social credit code or resident ID number", fields={"code": ["invalid"]}
    )


@transaction.atomic
def credit_entry_add(
    *,
    code: str,
    reason: str,
    source: str,
    actor=None,
    name: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    now: datetime | None = None,
) -> CreditListEntry:
    now = now or timezone.now()
    today = timezone.localdate(now)
    reason, source = " ".join(reason.split()), " ".join(source.split())
    if not reason or not source:
        raise InvalidInput("a credit list entry needs a reason and a source", code="reason_required")
    entry = CreditListEntry.objects.create(
        kind=subject_kind_of(code, today=today),
        code=code.strip().upper(),
        name=name.strip()[:200],
        reason=reason[:2000],
        source=source[:200],
        valid_from=valid_from or today,
        valid_until=valid_until,
        created_by=actor,
        created_at=now,
    )
    _audit(Action.CREDIT_LISTED, entry.code, now, actor, entry_id=entry.pk, source=entry.source)
    return entry


def credit_record_write(
    *, case, department, codes: list[str], reason: str, actor=None, now: datetime
) -> list[CreditRecord]:
    """A commitment of `case` was found false: one record per identifier
    of its applicant. Caller holds the case's transaction."""
    today = timezone.localdate(now)
    records = []
    for code in codes:
        try:
            kind = subject_kind_of(code, today=today)
        except InvalidInput:
            continue
        records.append(
            CreditRecord.objects.create(
                kind=CreditRecord.FALSE_COMMITMENT,
                subject_kind=kind,
                code=code,
                case=case,
                department=department,
                reason=reason[:2000],
                recorded_by=actor,
                recorded_at=now,
            )
        )
        _audit(Action.CREDIT_RECORDED, code, now, actor, case_id=case.pk, kind=CreditRecord.FALSE_COMMITMENT)
    return records


def _audit(action: Action, code: str, now: datetime, actor, *, case_id: int | None = None, **data) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk if actor is not None else None,
                object_type="credit",
                # The identifier itself is personal data: the trail names it masked.
                object_id=f"{code[:4]}…{code[-4:]}",
                case_id=case_id,
                data=data,
            )
        ]
    )


@transaction.atomic
def credit_entry_update(
    *, entry: CreditListEntry, actor=None, now: datetime | None = None
) -> CreditListEntry:
    """Save an admin's change to an entry (a validity shortened, a reason
    corrected); the identifier is checked again."""
    now = now or timezone.now()
    entry.code = entry.code.strip().upper()
    entry.kind = subject_kind_of(entry.code, today=timezone.localdate(now))
    entry.save()
    _audit(
        Action.CREDIT_LIST_CHANGED,
        entry.code,
        now,
        actor,
        entry_id=entry.pk,
        valid_until=str(entry.valid_until),
    )
    return entry


@transaction.atomic
def credit_entry_delete(*, entry: CreditListEntry, actor=None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    code, pk = entry.code, entry.pk
    entry.delete()
    _audit(Action.CREDIT_LIST_CHANGED, code, now, actor, entry_id=pk, deleted=True)
