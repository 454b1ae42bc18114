"""Approved cases become shared data.

`stage_catalog` subscribes to case events (`govflow.cases.events`, in
CatalogConfig.ready): inside the case's own transaction it stages one
`catalog_publish` outbox row for every `catalog: publishes:` entry the
change set triggers (the case's approval, an end that issues certificates,
or the approved end of a bundle's item, 一件事), and, when a case is submitted or corrected, checks its
provenance claims and counts its fields for the sharing rate.

`records_publish` is what the outbox consumer runs: it writes the record
versions. It is idempotent (each version carries the key of the outbox row
that asked for it) and refuses to write into a dataset whose owning process
is not the case's template: records change only through their owning
process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.events import BundleItemEnded, CaseCorrected, CaseEnded, CaseSubmitted, CertificateDue
from govflow.cases.models import Case, CaseStatus
from govflow.engine.definition import CatalogPublish, CatalogSource, Definition
from govflow.errors import ConfigurationError, NotFound
from govflow.processes.services import version_definition
from govflow.rawsql import insert_rows

from .datasets import dataset_fields
from .models import ClaimStatus, Dataset, FactClaim, FieldTally, Record, RecordVersion

TOPIC = "catalog_publish"
MAX_KEY = 200


# -- the listener ---------------------------------------------------------------


EVENTS = (CaseSubmitted, CaseCorrected, CaseEnded, CertificateDue, BundleItemEnded)


def stage_catalog(changes, events: list[Any]) -> None:
    """Subscriber to EVENTS (inside the case's transaction, before the writes).
    An end reached is told by its certificates (CertificateDue) and, for a
    bundle's item, by the item's end (BundleItemEnded): one publication each."""
    now = changes.now
    submitted_ids: set[int] = set()
    corrected: set[int] = set()
    approved: set[int] = set()
    ends: dict[int, set[str]] = {}
    for event in events:
        kind, case_id = type(event), event.case.pk
        if kind is CaseSubmitted:
            submitted_ids.add(case_id)
        elif kind is CaseCorrected:
            corrected.add(case_id)
        elif kind is CaseEnded:
            if event.outcome == CaseStatus.APPROVED:
                approved.add(case_id)
        elif kind is BundleItemEnded:
            if event.status == "approved" and event.end:
                ends.setdefault(case_id, set()).add(event.end)
        else:
            ends.setdefault(case_id, set()).add(event.node)
    concerned = submitted_ids | corrected | approved | ends.keys()
    tallies: list[FieldTally] = []
    for case in changes.cases:
        if case.pk not in concerned:
            continue
        definition = version_definition(case.version)
        spec = definition.catalog
        submitted = case.pk in submitted_ids
        if spec.reuses and (submitted or case.pk in corrected):
            verified = claims_check(case, definition, now=now, changes=changes)
        else:
            verified = 0
        if submitted:
            tallies.append(
                FieldTally(
                    case_id=case.pk,
                    template_id=case.template_id,
                    submitted_at=now,
                    fields_total=_filled_fields(definition, case.data),
                    fields_from_catalog=verified,
                )
            )
        if not spec.publishes:
            continue
        approved_now = case.pk in approved
        reached = ends.get(case.pk, set())
        for index, publish in enumerate(spec.publishes):
            for at in publish.at:
                if (at == "approved" and approved_now) or at in reached:
                    changes.emit(
                        TOPIC,
                        f"{case.pk}:{at}:catalog:{index}",
                        case=case.pk,
                        publish=index,
                        at=at,
                        date=timezone.localdate(now).isoformat(),
                    )
    if tallies:
        insert_rows(tallies, ignore_conflicts=True)


def _filled_fields(definition: Definition, data: dict[str, Any]) -> int:
    return sum(1 for spec in definition.form.fields if data.get(spec.id) not in (None, "", [], {}))


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return str(a).strip() == str(b).strip()


def claims_check(case: Case, definition: Definition, *, now: datetime, changes=None) -> int:
    """Mark each fact filled from the catalogue verified (the submitted
    value is the catalogue's) or changed; returns how many are verified."""
    claims = list(FactClaim.objects.filter(case=case).order_by("pk"))
    if not claims:
        return 0
    verified: list[int] = []
    changed: list[str] = []
    for claim in claims:
        if same_value(case.data.get(claim.field_id), claim.value):
            verified.append(claim.pk)
        else:
            changed.append(claim.field_id)
    FactClaim.objects.filter(pk__in=verified).update(status=ClaimStatus.VERIFIED, checked_at=now)
    FactClaim.objects.filter(case=case, field_id__in=changed).update(
        status=ClaimStatus.CHANGED, checked_at=now
    )
    if changes is not None:
        changes.event(
            Action.CATALOG_FACTS_CHECKED,
            case,
            verified=sorted(c.field_id for c in claims if c.pk in verified),
            changed=sorted(changed),
        )
    return len(verified)


# -- publishing -----------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    dataset: str
    key: str
    version: int
    created: bool
    record_id: int


def source_value(
    source: CatalogSource, *, case: Case, on: str, certificate: dict[str, str] | None = None
) -> Any:
    if source.value is not None:
        return source.value
    path = source.path or ""
    if path == "case.reference":
        return case.reference
    if path == "case.date":
        return on
    if path.startswith("certificate."):
        return (certificate or {}).get(path.split(".", 1)[1])
    if path.startswith("result."):
        _result, node, key = path.split(".")
        return ((case.state or {}).get("results") or {}).get(node, {}).get(key)
    return case.data.get(path)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def publish_problems(definition: Definition, publish: CatalogPublish, dataset: Dataset) -> list[str]:
    """What is wrong between one publication entry and its dataset."""
    problems: list[str] = []
    if dataset.process != definition.id:
        problems.append(
            f"dataset '{dataset.code}' is owned by process '{dataset.process}', not '{definition.id}'"
        )
    form = {f.id: f for f in definition.form.fields}
    order = {"public": 0, "internal": 1, "secret": 2}
    fields = {f.id: f for f in dataset_fields(dataset)}
    for name, source in publish.fields.items():
        target = fields.get(name)
        if target is None:
            problems.append(f"dataset '{dataset.code}' has no field '{name}'")
            continue
        spec = form.get(source.path or "")
        if spec is not None and order[spec.sensitivity] > order[target.sensitivity]:
            problems.append(
                f"'{spec.id}' is {spec.sensitivity} in the form but '{name}' is only "
                f"{target.sensitivity} in '{dataset.code}'"
            )
    return problems


def declaration_problems(definition: Definition, datasets: dict[str, Dataset]) -> list[str]:
    """What is wrong between a template's catalogue declarations and the
    datasets' metadata (empty when they agree)."""
    problems: list[str] = []
    for publish in definition.catalog.publishes:
        dataset = datasets.get(publish.dataset)
        if dataset is None:
            problems.append(f"publishes into unknown dataset '{publish.dataset}'")
        else:
            problems.extend(publish_problems(definition, publish, dataset))
    for reuse in definition.catalog.reuses:
        dataset = datasets.get(reuse.dataset)
        if dataset is None:
            problems.append(f"reuses unknown dataset '{reuse.dataset}'")
            continue
        fields = {f.id for f in dataset_fields(dataset)}
        for form_field, name in reuse.fields.items():
            if name not in fields:
                problems.append(f"dataset '{dataset.code}' has no field '{name}' (for '{form_field}')")
        for name in reuse.expect:
            if name not in fields:
                problems.append(f"dataset '{dataset.code}' has no field '{name}' (in expect)")
        for related, by in reuse.related:
            other = datasets.get(related)
            if other is None or by not in {f.id for f in dataset_fields(other)}:
                problems.append(f"related dataset '{related}' has no field '{by}'")
    return problems


def records_publish(*, case_id: int, publish: int, at: str, on: str, key: str) -> list[Published]:
    """Write the record versions one `catalog_publish` row asks for. A row
    already published is skipped; a broken declaration raises (the outbox
    retries and then opens an incident) and writes nothing."""
    now = timezone.now()
    case = Case.objects.select_related("template", "version").filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    definition = version_definition(case.version)
    try:
        declaration: CatalogPublish = definition.catalog.publishes[publish]
    except IndexError:
        raise ConfigurationError(
            f"template '{definition.id}' has no catalogue publication {publish}"
        ) from None
    dataset = Dataset.objects.filter(code=declaration.dataset).first()
    if dataset is None:
        raise ConfigurationError(f"dataset '{declaration.dataset}' is not defined (manage.py load_catalog)")
    problems = publish_problems(definition, declaration, dataset)
    if problems:
        raise ConfigurationError("; ".join(problems))
    if declaration.per_certificate:
        node = definition.nodes.get(at)
        certificates = [
            {"type": c.type, "department": c.department} for c in (node.certificates if node else ())
        ]
    else:
        certificates = [None]
    results: list[Published] = []
    audits: list[PendingAudit] = []
    with transaction.atomic():
        for certificate in certificates:
            publish_key = f"{key}:{certificate['type']}" if certificate else key
            if RecordVersion.objects.filter(publish_key=publish_key).exists():
                continue  # a redelivery
            parts = [source_value(s, case=case, on=on, certificate=certificate) for s in declaration.key]
            if any(p in (None, "") for p in parts):
                raise ConfigurationError(
                    f"the record key of '{dataset.code}' is empty for case {case.reference}"
                )
            record_key = "/".join(str(p) for p in parts)[:MAX_KEY]
            values = {}
            for name, source in declaration.fields.items():
                value = _json(source_value(source, case=case, on=on, certificate=certificate))
                if value not in (None, ""):
                    values[name] = value
            done = _write(dataset, record_key, values, case, publish_key, now)
            results.append(done)
            audits.append(
                PendingAudit(
                    action=Action.CATALOG_RECORD_PUBLISHED,
                    at=now,
                    object_type="catalog_record",
                    object_id=str(done.record_id),
                    case_id=case.pk,
                    data={"dataset": dataset.code, "key": record_key, "version": done.version, "at": at},
                )
            )
        audit_write(audits)
    return results


def _write(
    dataset: Dataset, key: str, values: dict[str, Any], case: Case, publish_key: str, now: datetime
) -> Published:
    record = Record.objects.select_for_update().filter(dataset=dataset, key=key).first()
    created = record is None
    if record is None:
        try:
            with transaction.atomic():
                record = Record.objects.create(
                    dataset=dataset, key=key, version=0, data={}, case=case, created_at=now, updated_at=now
                )
        except IntegrityError:  # created by a concurrent publication: wait for it
            record = Record.objects.select_for_update().get(dataset=dataset, key=key)
            created = False
    record.version += 1
    # A later case of the owning process updates what it publishes and keeps
    # the rest (a permit register entry keeps its project facts).
    record.data = {**record.data, **values}
    record.case = case
    record.updated_at = now
    record.save(update_fields=["version", "data", "case", "updated_at"])
    RecordVersion.objects.create(
        record=record,
        number=record.version,
        data=record.data,
        case=case,
        publish_key=publish_key,
        published_at=now,
    )
    return Published(dataset.code, key, record.version, created, record.pk)
