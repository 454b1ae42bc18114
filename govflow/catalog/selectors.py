"""Read-side queries of the data catalogue, with their permission filtering.

- Dataset metadata (the catalogue page) is open to every signed-in user.
- Record values are read by department staff only, field by field through
  `access.field_access` (public, owner, shared_with, a live grant), masked
  otherwise. Nothing here writes: a page that shows records carries the
  `RecordsRead` it owes the audit trail, and the view records it
  (govflow.catalog.reads.catalog_reads_record).
- Applicants see the facts offered for their own draft (public ones, and
  their own entries of earlier cases) and where their case's facts came from.
- Reviewers see, on a case they may read (`case_access`), where its facts
  came from and how the declared values compare with the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.accounts.models import Department
from govflow.accounts.permissions import user_departments
from govflow.cases.disclosure import REVIEWER
from govflow.cases.models import CaseStatus
from govflow.cases.selectors import case_access, case_get_for_applicant
from govflow.engine.identifiers import mask
from govflow.errors import NotFound
from govflow.processes.services import version_definition

from .access import (
    FieldAccess,
    ReadLog,
    RecordsRead,
    ValueView,
    field_access,
    present,
)
from .datasets import DatasetField, dataset_fields
from .errors import user_error
from .models import (
    ClaimStatus,
    DataRequest,
    Dataset,
    FactClaim,
    FieldTally,
    Record,
    RecordVersion,
    RequestStatus,
)
from .publishing import same_value
from .services import offer_build, reuse_get, reuse_key

PAGE_SIZE = 25
MAX_QUERY = 100


def _lang(language: str) -> str:
    return "en" if (language or "").startswith("en") else "zh"


# -- the catalogue page -------------------------------------------------------------


@dataclass
class DatasetRow:
    dataset: Dataset
    fields: list[DatasetField]
    record_count: int
    last_updated: datetime | None

    def text(self, name: str, language: str) -> str:
        return getattr(self.dataset, f"{name}_{_lang(language)}")

    @property
    def sensitivity_counts(self) -> dict[str, int]:
        counts = {"public": 0, "internal": 0, "secret": 0}
        for spec in self.fields:
            counts[spec.sensitivity] += 1
        return counts


def datasets_overview() -> list[DatasetRow]:
    """Every dataset with its record count and the time of its latest write."""
    datasets = (
        Dataset.objects.select_related("owner")
        .annotate(record_count=Count("records"), last_updated=Max("records__updated_at"))
        .order_by("code")
    )
    return [DatasetRow(d, dataset_fields(d), d.record_count, d.last_updated) for d in datasets]


def dataset_get(*, code: str) -> Dataset:
    dataset = Dataset.objects.select_related("owner").filter(code=code).first()
    if dataset is None:
        raise user_error(NotFound, _("Dataset not found."))
    return dataset


@dataclass
class DatasetPage:
    row: DatasetRow
    departments: list[Department]
    access: dict[str, FieldAccess]
    requests: list[DataRequest]
    is_owner: bool

    @property
    def is_staff(self) -> bool:
        return bool(self.departments)

    @property
    def requestable(self) -> list[DatasetField]:
        return [a.field for a in self.access.values() if not a.cleared]

    @property
    def request_departments(self) -> list[Department]:
        return [d for d in self.departments if d.pk != self.row.dataset.owner_id]


def dataset_page(*, user, code: str, now: datetime | None = None) -> DatasetPage:
    now = now or timezone.now()
    dataset = (
        Dataset.objects.select_related("owner")
        .annotate(record_count=Count("records"), last_updated=Max("records__updated_at"))
        .filter(code=code)
        .first()
    )
    if dataset is None:
        raise user_error(NotFound, _("Dataset not found."))
    departments = user_departments(user)
    requests = list(
        DataRequest.objects.filter(dataset=dataset, department__in=departments)
        .select_related("department", "requested_by", "decided_by")
        .order_by("-requested_at", "-pk")[:20]
    )
    return DatasetPage(
        row=DatasetRow(dataset, dataset_fields(dataset), dataset.record_count, dataset.last_updated),
        departments=departments,
        access=field_access(dataset, departments, now=now) if departments else {},
        requests=requests,
        is_owner=dataset.owner_id in {d.pk for d in departments},
    )


# -- records ------------------------------------------------------------------------------


@dataclass
class RecordRow:
    record: Record
    values: list[ValueView]


@dataclass
class RecordPage:
    dataset: Dataset
    rows: list[RecordRow]
    has_next: bool
    access: dict[str, FieldAccess]
    read: RecordsRead


def _staff(user) -> list[Department]:
    departments = user_departments(user)
    if not departments:
        raise user_error(NotFound, _("Dataset not found."))
    return departments


def records_for_user(
    *,
    user,
    code: str,
    q: str = "",
    page: int = 1,
    per_page: int = PAGE_SIZE,
    language: str = "zh",
    now: datetime | None = None,
) -> RecordPage:
    """A page of the dataset's records as the user's departments may see
    them, with the read the view records."""
    now = now or timezone.now()
    departments = _staff(user)
    dataset = dataset_get(code=code)
    access = field_access(dataset, departments, now=now)
    records = Record.objects.filter(dataset=dataset).select_related("case").order_by("key")
    q = (q or "").strip()[:MAX_QUERY]
    if q:
        records = records.filter(key__icontains=q)
    offset = (page - 1) * per_page
    found = list(records[offset : offset + per_page + 1])
    log = ReadLog([], set(), set())
    rows = []
    for record in found[:per_page]:
        views = present(record.data, access, language=language)
        log.add(record.key, views)
        rows.append(RecordRow(record, views))
    read = RecordsRead(dataset, log, tuple(departments))
    return RecordPage(dataset, rows, len(found) > per_page, access, read)


@dataclass
class RecordDetail:
    dataset: Dataset
    record: Record
    values: list[ValueView]
    versions: list[RecordVersion]
    read: RecordsRead


def record_for_user(
    *,
    user,
    code: str,
    key: str,
    language: str = "zh",
    now: datetime | None = None,
) -> RecordDetail:
    """One record, with the history of its versions (each naming the case
    that wrote it), and the read the view records."""
    now = now or timezone.now()
    departments = _staff(user)
    dataset = dataset_get(code=code)
    record = Record.objects.filter(dataset=dataset, key=key).select_related("case").first()
    if record is None:
        raise user_error(NotFound, _("Record not found."))
    access = field_access(dataset, departments, now=now)
    views = present(record.data, access, language=language)
    log = ReadLog([], set(), set())
    log.add(record.key, views)
    versions = list(record.versions.select_related("case").order_by("-number"))
    return RecordDetail(dataset, record, views, versions, RecordsRead(dataset, log, tuple(departments)))


# -- reuse in the applicant's form ------------------------------------------------------


@dataclass
class OfferedFact:
    form_field: str
    label: str
    text: str


@dataclass
class ReuseOffer:
    dataset: Dataset
    key: str
    version: int
    facts: list[OfferedFact]
    withheld: list[str]


def reuse_offer(*, user, reference: str, dataset: str, key: Any, language: str = "zh") -> ReuseOffer:
    """What `case_prefill` would fill in, for the applicant to confirm.
    Values other than public ones are shown masked even to their owner."""
    case = case_get_for_applicant(user=user, reference=reference)
    definition = version_definition(case.version)
    reuse = reuse_get(definition, dataset)
    cleaned = reuse_key(definition, reuse, key, language=language)
    offer = offer_build(user=user, definition=definition, dataset_code=dataset, key=cleaned)
    labels = {f.id: f.label.get(_lang(language)) or f.id for f in definition.form.fields}
    specs = {f.id: f for f in dataset_fields(offer.record.dataset)}
    facts = []
    for form_field, name, value in offer.offered:
        spec = specs[name]
        text = spec.display(value, language)
        if spec.sensitivity != "public":
            text = mask(spec.type, text)
        facts.append(OfferedFact(form_field, labels.get(form_field, form_field), text))
    return ReuseOffer(
        offer.record.dataset,
        cleaned,
        offer.record.version,
        facts,
        [labels.get(f, f) for f in offer.withheld],
    )


@dataclass
class LockedFact:
    field_id: str
    value: Any
    dataset_title: str
    version: int


def locked_facts(*, case, language: str = "zh") -> dict[str, LockedFact]:
    """A draft's fields filled from the catalogue: the portal shows them as
    verified and keeps them at the catalogue's value."""
    if case.status != CaseStatus.DRAFT:
        return {}
    claims = FactClaim.objects.filter(case=case, status=ClaimStatus.OFFERED).select_related("dataset")
    return {
        c.field_id: LockedFact(c.field_id, c.value, c.dataset.title(_lang(language)), c.version)
        for c in claims
    }


def reuses_of(case) -> list[dict[str, Any]]:
    """The lookups a draft's form offers: (dataset, key field, its label, title)."""
    definition = version_definition(case.version)
    if not definition.catalog.reuses:
        return []
    datasets = {
        d.code: d for d in Dataset.objects.filter(code__in=[r.dataset for r in definition.catalog.reuses])
    }
    fields = {f.id: f for f in definition.form.fields}
    return [
        {
            "dataset": datasets[r.dataset],
            "key": r.key,
            "field": fields[r.key],
            "value": case.data.get(r.key, ""),
        }
        for r in definition.catalog.reuses
        if r.dataset in datasets
    ]


# -- the case page: provenance and cross-checks ---------------------------------------------


@dataclass
class ProvenanceRow:
    field_label: str
    dataset_title: str
    record_key: str
    version: int
    status: str
    source_reference: str


@dataclass
class CheckRow:
    label: str
    status: str  # same | differs | missing | expected
    catalogue: ValueView | None = None
    expected: str = ""


@dataclass
class CrossCheck:
    dataset: Dataset
    key_label: str
    key: str
    found: bool
    rows: list[CheckRow] = field(default_factory=list)
    related: list[tuple[Dataset, list[RecordRow]]] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(1 for row in self.rows if row.status != "same") + (0 if self.found else 1)


@dataclass
class CasePanel:
    role: str
    provenance: list[ProvenanceRow]
    checks: list[CrossCheck]
    reads: list[RecordsRead] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.provenance and not self.checks


def case_panel(*, user, reference: str, language: str = "zh", now: datetime | None = None) -> CasePanel:
    """Where the case's facts came from (everyone on the case) and, for its
    reviewers, the declared values against the catalogue. Catalogue values
    are masked by the reviewer's departments' access; `reads` lists what was
    shown, for the view to record."""
    now = now or timezone.now()
    lang = _lang(language)
    access_to_case = case_access(user=user, reference=reference)
    case = access_to_case.case
    definition = version_definition(case.version)
    labels = {f.id: f.label.get(lang) or f.id for f in definition.form.fields}
    claims = list(
        FactClaim.objects.filter(case=case).select_related("dataset", "record").order_by("field_id")
    )
    versions = (
        {
            (v.record_id, v.number): v.case.reference
            for v in RecordVersion.objects.filter(record_id__in=[c.record_id for c in claims]).select_related(
                "case"
            )
        }
        if claims
        else {}
    )
    provenance = [
        ProvenanceRow(
            field_label=labels.get(c.field_id, c.field_id),
            dataset_title=c.dataset.title(lang),
            record_key=c.record.key,
            version=c.version,
            status=c.status,
            source_reference=versions.get((c.record_id, c.version), ""),
        )
        for c in claims
    ]
    panel = CasePanel(access_to_case.role, provenance, [])
    if access_to_case.role == REVIEWER and definition.catalog.reuses:
        departments = list(access_to_case.departments)
        for reuse in definition.catalog.reuses:
            check = _cross_check(case, reuse, departments, labels, lang, now, panel.reads)
            if check is not None:
                panel.checks.append(check)
    return panel


def _cross_check(case, reuse, departments, labels, lang, now, reads: list[RecordsRead]) -> CrossCheck | None:
    key = case.data.get(reuse.key)
    dataset = Dataset.objects.select_related("owner").filter(code=reuse.dataset).first()
    if dataset is None or key in (None, ""):
        return None
    key = str(key)
    check = CrossCheck(dataset, labels.get(reuse.key, reuse.key), key, found=False)
    record = Record.objects.filter(dataset=dataset, key=key).first()
    log = ReadLog([], set(), set())
    if record is not None:
        check.found = True
        access = field_access(dataset, departments, now=now)
        for form_field, name in reuse.fields.items():
            views = present(record.data, access, language=lang, only=[name])
            view = views[0] if views else None
            declared = case.data.get(form_field)
            catalogue = record.data.get(name)
            status = (
                "same" if same_value(declared, catalogue) else ("missing" if catalogue is None else "differs")
            )
            check.rows.append(CheckRow(labels.get(form_field, form_field), status, view))
            if view is not None:
                log.add(record.key, [view])
        for name, expected in reuse.expect.items():
            views = present(record.data, access, language=lang, only=[name])
            if not views:
                continue
            spec = views[0].field
            status = "same" if same_value(record.data.get(name), expected) else "expected"
            check.rows.append(
                CheckRow(spec.label_in(lang), status, views[0], expected=spec.display(expected, lang))
            )
        log.keys = [record.key]
    for related_code, by in reuse.related:
        other = Dataset.objects.filter(code=related_code).first()
        if other is None:
            continue
        access = field_access(other, departments, now=now)
        found = list(
            Record.objects.filter(dataset=other, **{f"data__{by}": key}).order_by("-updated_at")[:20]
        )
        rows = [RecordRow(r, present(r.data, access, language=lang)) for r in found]
        related_log = ReadLog([], set(), set())
        for row in rows:
            related_log.add(row.record.key, row.values)
        reads.append(RecordsRead(other, related_log, tuple(departments), case.pk))
        check.related.append((other, rows))
    reads.append(RecordsRead(dataset, log, tuple(departments), case.pk))
    return check


# -- data requests --------------------------------------------------------------------------


@dataclass
class RequestBoard:
    to_decide: list[DataRequest]
    decided: list[DataRequest]
    mine: list[DataRequest]
    heads: list[Department]


def requests_board(*, user) -> RequestBoard:
    """For a head of an owning department: the requests waiting for them
    and those decided lately; for everyone on staff: their departments'."""
    if not user.is_authenticated:
        raise user_error(NotFound, _("Not found."))
    heads = list(
        Department.objects.filter(memberships__user=user, memberships__is_head=True).order_by("code")
    )
    member_of = Department.objects.filter(memberships__user=user)
    base = DataRequest.objects.select_related("dataset", "department", "requested_by", "decided_by")
    owned = base.filter(dataset__owner__in=heads)
    return RequestBoard(
        to_decide=list(owned.filter(status=RequestStatus.PENDING).order_by("requested_at", "pk")),
        decided=list(owned.exclude(status=RequestStatus.PENDING).order_by("-decided_at", "-pk")[:50]),
        mine=list(base.filter(department__in=member_of).order_by("-requested_at", "-pk")[:50]),
        heads=heads,
    )


def pending_requests_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return DataRequest.objects.filter(
        status=RequestStatus.PENDING,
        dataset__owner__memberships__user=user,
        dataset__owner__memberships__is_head=True,
    ).count()


def requests_for_user(*, user) -> list[DataRequest]:
    """Requests of the user's departments and those made to them."""
    if not user.is_authenticated:
        return []
    mine = Department.objects.filter(memberships__user=user)
    return list(
        DataRequest.objects.filter(Q(department__in=mine) | Q(dataset__owner__in=mine))
        .select_related("dataset", "department", "requested_by", "decided_by")
        .distinct()
        .order_by("-requested_at", "-pk")
    )


# -- the sharing rate ------------------------------------------------------------------------


@dataclass(frozen=True)
class SharingRate:
    cases: int
    fields_total: int
    fields_from_catalog: int

    @property
    def rate(self) -> float | None:
        return self.fields_from_catalog / self.fields_total if self.fields_total else None


def sharing_rate(
    *, start: date | None = None, end: date | None = None, template_id: int | None = None
) -> SharingRate:
    """Share of the form fields submitted in [start, end] (local dates) that
    were filled from the catalogue and submitted unchanged."""
    tallies = FieldTally.objects.all()
    tz = timezone.get_current_timezone()
    if start is not None:
        tallies = tallies.filter(submitted_at__gte=datetime.combine(start, time.min, tzinfo=tz))
    if end is not None:
        tallies = tallies.filter(
            submitted_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
        )
    if template_id is not None:
        tallies = tallies.filter(template_id=template_id)
    sums = tallies.aggregate(cases=Count("pk"), total=Sum("fields_total"), shared=Sum("fields_from_catalog"))
    return SharingRate(sums["cases"] or 0, sums["total"] or 0, sums["shared"] or 0)
