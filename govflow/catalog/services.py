"""Catalogue use cases: filling a draft from the catalogue, and data
requests (a department asks a dataset's owner for fields it is not cleared
for; the owner's head grants them for a number of days, or refuses).

Record writes are in publishing.py (only an owning process writes records);
dataset definitions in datasets.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.accounts.models import Department, Membership
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import CaseStatus
from govflow.cases.selectors import case_get_for_applicant
from govflow.cases.services import case_save_draft
from govflow.engine.definition import CatalogReuse, Definition
from govflow.engine.forms import FieldError, validate_form_data
from govflow.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from govflow.processes.services import version_definition

from .access import field_access
from .datasets import dataset_fields
from .errors import user_error
from .models import ClaimStatus, DataRequest, Dataset, FactClaim, Record, RecordVersion, RequestStatus

MIN_PURPOSE = 10
MAX_PURPOSE = 2000
MAX_NOTE = 2000
MAX_GRANT_DAYS = 365


# -- reuse in forms ----------------------------------------------------------------


def reuse_get(definition: Definition, dataset_code: str) -> CatalogReuse:
    for reuse in definition.catalog.reuses:
        if reuse.dataset == dataset_code:
            return reuse
    raise user_error(InvalidInput, _("This service does not reuse that dataset."), code="not_reused")


def reuse_key(definition: Definition, reuse: CatalogReuse, value: Any, *, language: str = "zh") -> str:
    """The typed key (a credit code, a project code), cleaned as the form
    cleans that field; FormInvalid when it is not a valid value."""
    if not isinstance(value, str) or not value.strip():
        raise FormInvalid(
            [_required_error(reuse.key)],
            language=language,
        )
    checked = validate_form_data(
        definition.form, {reuse.key: value}, today=timezone.localdate(), partial=True
    )
    if not checked.ok:
        raise FormInvalid(checked.errors, language=language)
    return str(checked.cleaned[reuse.key])


def _required_error(path: str):
    return FieldError(path, "required", {"zh": "请填写要查询的代码。", "en": "Enter the code to look up."})


def is_subject(user, record: Record) -> bool:
    """Did `user` apply for a case that wrote this record? Their own facts
    (an ID number they entered at business setup) are offered back to them;
    anyone else is offered the public facts only."""
    return RecordVersion.objects.filter(record=record, case__applicant_id=user.pk).exists()


@dataclass
class Offer:
    reuse: CatalogReuse
    record: Record
    # (form field id, dataset field id, value) offered to this applicant
    offered: list[tuple[str, str, Any]] = field(default_factory=list)
    # form fields the record has a value for that are not offered (not theirs to see)
    withheld: list[str] = field(default_factory=list)


def offer_build(*, user, definition: Definition, dataset_code: str, key: str) -> Offer:
    reuse = reuse_get(definition, dataset_code)
    record = Record.objects.select_related("dataset").filter(dataset__code=dataset_code, key=key).first()
    if record is None:
        raise user_error(NotFound, _("The data catalogue has no record with this code."), code="no_record")
    fields = {f.id: f for f in dataset_fields(record.dataset)}
    subject = None
    offer = Offer(reuse, record)
    for form_field, name in reuse.fields.items():
        value = record.data.get(name)
        spec = fields.get(name)
        if value in (None, "") or spec is None:
            continue
        if spec.sensitivity != "public":
            subject = is_subject(user, record) if subject is None else subject
            if not subject:
                offer.withheld.append(form_field)
                continue
        offer.offered.append((form_field, name, value))
    return offer


@transaction.atomic
def case_prefill(
    *, actor, reference: str, dataset: str, key: Any, now: datetime | None = None, language: str = "zh"
) -> Offer:
    """Fill the applicant's draft with the facts the catalogue knows for
    `key`, and record where each came from (FactClaim). The portal keeps
    these fields as they are; at submission each is checked again."""
    now = now or timezone.now()
    case = case_get_for_applicant(user=actor, reference=reference)
    if case.status != CaseStatus.DRAFT:
        raise user_error(Conflict, _("Only a draft can be filled from the data catalogue."))
    definition = version_definition(case.version)
    reuse = reuse_get(definition, dataset)
    cleaned = reuse_key(definition, reuse, key, language=language)
    offer = offer_build(user=actor, definition=definition, dataset_code=dataset, key=cleaned)
    data = {**case.data, reuse.key: cleaned}
    for form_field, _name, value in offer.offered:
        data[form_field] = value
    case_save_draft(case_id=case.pk, actor=actor, data=data, now=now)
    # This lookup's fields now come from this record; earlier claims on them go.
    FactClaim.objects.filter(case=case, field_id__in=list(reuse.fields)).delete()
    FactClaim.objects.bulk_create(
        [
            FactClaim(
                case=case,
                field_id=form_field,
                dataset=offer.record.dataset,
                record=offer.record,
                version=offer.record.version,
                dataset_field=name,
                value=value,
                status=ClaimStatus.OFFERED,
                filled_at=now,
            )
            for form_field, name, value in offer.offered
        ]
    )
    audit_write(
        [
            PendingAudit(
                action=Action.CATALOG_FACTS_REUSED,
                at=now,
                actor_id=actor.pk,
                object_type="case",
                object_id=str(case.pk),
                case_id=case.pk,
                data={
                    "dataset": dataset,
                    "key": cleaned,
                    "version": offer.record.version,
                    "fields": [f for f, _n, _v in offer.offered],
                    "withheld": offer.withheld,
                },
            )
        ]
    )
    return offer


@transaction.atomic
def case_prefill_release(*, actor, reference: str, field_id: str, now: datetime | None = None) -> None:
    """The applicant gives up a verified fact to type it themselves (it
    will be checked against the catalogue by the reviewers)."""
    now = now or timezone.now()
    case = case_get_for_applicant(user=actor, reference=reference)
    if case.status != CaseStatus.DRAFT:
        raise user_error(Conflict, _("Only a draft can be changed."))
    deleted, _rows = FactClaim.objects.filter(case=case, field_id=field_id).delete()
    if not deleted:
        raise user_error(NotFound, _("This field was not filled from the data catalogue."))
    audit_write(
        [
            PendingAudit(
                action=Action.CATALOG_FACT_RELEASED,
                at=now,
                actor_id=actor.pk,
                object_type="case",
                object_id=str(case.pk),
                case_id=case.pk,
                data={"field": field_id},
            )
        ]
    )


# -- data requests -------------------------------------------------------------------


def _audit(action: str, request: DataRequest, actor, now: datetime, **data: Any) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk,
                object_type="data_request",
                object_id=str(request.pk),
                data={
                    "dataset": request.dataset.code,
                    "department": request.department.code,
                    "fields": list(request.fields),
                    **data,
                },
            )
        ]
    )


@transaction.atomic
def data_request_create(
    *,
    actor,
    dataset: str,
    department: str,
    fields: list[str],
    purpose: str,
    days: int,
    now: datetime | None = None,
) -> DataRequest:
    """A member of `department` asks for `fields` of `dataset` for `days`."""
    now = now or timezone.now()
    target = Dataset.objects.select_related("owner").filter(code=dataset).first()
    if target is None:
        raise user_error(NotFound, _("Dataset not found."))
    requester = Department.objects.filter(code=department, memberships__user=actor, is_active=True).first()
    if requester is None:
        raise user_error(Forbidden, _("You can only ask on behalf of a department you belong to."))
    if requester.pk == target.owner_id:
        raise user_error(InvalidInput, _("The owning department already reads every field."), code="owner")
    problems: dict[str, list[str]] = {}
    access = field_access(target, [requester], now=now)
    wanted = [f for f in dict.fromkeys(fields or []) if isinstance(f, str)]
    if not wanted:
        problems["fields"] = [_("Choose at least one field.")]
    for name in wanted:
        rule = access.get(name)
        if rule is None:
            problems.setdefault("fields", []).append(
                _("“%(name)s” is not a field of this dataset.") % {"name": name}
            )
        elif rule.cleared:
            problems.setdefault("fields", []).append(
                _("Your department already reads “%(name)s”.") % {"name": name}
            )
    purpose = (purpose or "").strip()
    if not MIN_PURPOSE <= len(purpose) <= MAX_PURPOSE:
        problems["purpose"] = [
            _("Say what the data is for, in %(min)s to %(max)s characters.")
            % {"min": MIN_PURPOSE, "max": MAX_PURPOSE}
        ]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_GRANT_DAYS:
        problems["days"] = [_("Give a whole number of days from 1 to %(max)s.") % {"max": MAX_GRANT_DAYS}]
    if problems:
        raise user_error(
            InvalidInput, _("The data request has problems; see the messages by the fields."), fields=problems
        )
    pending = DataRequest.objects.filter(
        dataset=target, department=requester, status=RequestStatus.PENDING
    ).exists()
    if pending:
        raise user_error(Conflict, _("Your department already has a request waiting for this dataset."))
    request = DataRequest.objects.create(
        dataset=target,
        department=requester,
        fields=sorted(wanted),
        purpose=purpose,
        days=days,
        requested_by=actor,
        requested_at=now,
    )
    _audit(Action.CATALOG_ACCESS_REQUESTED, request, actor, now, days=days)
    return request


def is_owner_head(user, dataset: Dataset) -> bool:
    return Membership.objects.filter(user=user, department_id=dataset.owner_id, is_head=True).exists()


@transaction.atomic
def data_request_decide(
    *, actor, request_id: int, approve: bool, note: str = "", now: datetime | None = None
) -> DataRequest:
    """The owning department's head grants (from now, for the days asked)
    or refuses (with a reason) a pending request."""
    now = now or timezone.now()
    request = (
        DataRequest.objects.select_for_update()
        .select_related("dataset", "department")
        .filter(pk=request_id)
        .first()
    )
    if (
        request is None
        or not Membership.objects.filter(user=actor, department_id=request.dataset.owner_id).exists()
    ):
        raise user_error(NotFound, _("Data request not found."))
    if not is_owner_head(actor, request.dataset):
        raise user_error(Forbidden, _("Only the head of the owning department decides data requests."))
    if request.status != RequestStatus.PENDING:
        raise user_error(Conflict, _("This request was already decided."))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise user_error(
            InvalidInput,
            _("The note is too long."),
            fields={"note": [_("At most %(count)s characters.") % {"count": MAX_NOTE}]},
        )
    if not approve and not note:
        raise user_error(
            InvalidInput,
            _("A refusal needs a reason."),
            fields={"note": [_("Give the reason for refusing.")]},
        )
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    request.decided_by = actor
    request.decided_at = now
    request.note = note
    request.valid_until = now + timedelta(days=request.days) if approve else None
    request.save(update_fields=["status", "decided_by", "decided_at", "note", "valid_until"])
    if approve:
        _audit(
            Action.CATALOG_ACCESS_GRANTED, request, actor, now, valid_until=request.valid_until.isoformat()
        )
    else:
        _audit(Action.CATALOG_ACCESS_REFUSED, request, actor, now, note=note)
    return request
