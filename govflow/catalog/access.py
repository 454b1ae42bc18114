"""Who may read which catalogue field, unmasked.

A department reads a dataset field unmasked when the field is public, when
the department owns the dataset, when the dataset's metadata shares the
field with it (`shared_with`), or while an approved data request grants it
(until `valid_until`; an expired grant no longer counts). Everything else is
shown masked, as secret case fields are. Every read of records is written
to the audit trail, naming the fields shown unmasked and the grants that
allowed it: the selectors say what a page showed (`RecordsRead`), and the
view records it once (govflow.catalog.reads).

Users act through their departments (Membership), as on cases; applicants
and users of no department read no records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language

from govflow.accounts.models import Department
from govflow.engine.identifiers import mask

from .datasets import DatasetField, dataset_fields
from .models import DataRequest, Dataset, RequestStatus


@dataclass(frozen=True)
class FieldAccess:
    field: DatasetField
    cleared: bool
    how: str = ""  # public | owner | shared | grant
    grant_id: int | None = None
    grant_until: datetime | None = None


def live_grants(dataset: Dataset, departments: Iterable[Department], now: datetime) -> list[DataRequest]:
    ids = [d.pk for d in departments]
    if not ids:
        return []
    return list(
        DataRequest.objects.filter(
            dataset=dataset, department_id__in=ids, status=RequestStatus.APPROVED, valid_until__gt=now
        ).order_by("valid_until", "pk")
    )


def field_access(
    dataset: Dataset, departments: list[Department], *, now: datetime | None = None
) -> dict[str, FieldAccess]:
    now = now or timezone.now()
    codes = [d.code for d in departments]
    owner = dataset.owner_id in {d.pk for d in departments}
    granted: dict[str, DataRequest] = {}
    for grant in live_grants(dataset, departments, now):
        for name in grant.fields:
            granted.setdefault(name, grant)
    result: dict[str, FieldAccess] = {}
    for spec in dataset_fields(dataset):
        if spec.sensitivity == "public":
            result[spec.id] = FieldAccess(spec, True, "public")
        elif owner:
            result[spec.id] = FieldAccess(spec, True, "owner")
        elif any(spec.shared_with_department(code) for code in codes):
            result[spec.id] = FieldAccess(spec, True, "shared")
        elif spec.id in granted:
            grant = granted[spec.id]
            result[spec.id] = FieldAccess(spec, True, "grant", grant.pk, grant.valid_until)
        else:
            result[spec.id] = FieldAccess(spec, False)
    return result


@dataclass(frozen=True)
class ValueView:
    field: DatasetField
    text: str
    masked: bool = False
    grant_id: int | None = None

    @property
    def label(self) -> str:
        return self.field.label_in(_language())


def _language() -> str:
    return get_language() or "zh"


@dataclass
class ReadLog:
    """What one request showed: the keys, the non-public fields shown
    unmasked, and the grants used."""

    keys: list[str]
    unmasked: set[str]
    grants: set[int]

    def add(self, key: str, views: list[ValueView]) -> None:
        self.keys.append(key)
        for view in views:
            if not view.masked and view.text and view.field.sensitivity != "public":
                self.unmasked.add(view.field.id)
                if view.grant_id is not None:
                    self.grants.add(view.grant_id)


def present(
    data: dict[str, Any], access: dict[str, FieldAccess], *, language: str, only: Iterable[str] | None = None
) -> list[ValueView]:
    names = list(only) if only is not None else list(access)
    views = []
    for name in names:
        rule = access.get(name)
        if rule is None:
            continue
        text = rule.field.display(data.get(name), language)
        if rule.cleared:
            views.append(ValueView(rule.field, text, False, rule.grant_id))
        else:
            views.append(ValueView(rule.field, mask(rule.field.type, text), bool(text)))
    return views


@dataclass(frozen=True)
class RecordsRead:
    """What a page showed of one dataset's records, for the audit trail
    (govflow.catalog.reads.catalog_reads_record); `case_id` when it was shown
    beside a case."""

    dataset: Dataset
    log: ReadLog
    departments: tuple[Department, ...]
    case_id: int | None = None
