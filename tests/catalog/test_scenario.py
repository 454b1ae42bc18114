"""The issue's scenario end to end: data entered once at business setup
serves the construction departments, with provenance, masking, data
requests and an audit trail of every read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.catalog.models import ClaimStatus, FactClaim, FieldTally, Record, RequestStatus
from govflow.catalog.reads import catalog_reads_record
from govflow.catalog.selectors import case_panel, records_for_user, sharing_rate
from govflow.catalog.services import case_prefill, data_request_create, data_request_decide
from govflow.errors import Forbidden

from .conftest import LEGAL_REP_ID, construction_draft, credit_code_of, drive, submit

pytestmark = pytest.mark.django_db


def _reads(user):
    return AuditEvent.objects.filter(action="CATALOG_RECORDS_READ", actor_id=user.pk).order_by("id")


def test_data_entered_once_serves_every_department(users, applicant, company):
    code = credit_code_of(company)
    nr_reviewer = users["natural_resources_reviewer"]
    market_head = users["market_regulation_head"]

    # Given a construction application by that company, filled from the catalogue
    draft = construction_draft(applicant, project_code="2503-110105-04-01-000001")
    offer = case_prefill(
        actor=applicant, reference=draft.reference, dataset="company_register", key=code.lower()
    )
    draft.refresh_from_db()

    assert draft.data["builder_credit_code"] == code
    assert draft.data["builder_name"] == "北京数据共享科技有限公司"
    assert draft.data["builder_legal_rep_id"] == LEGAL_REP_ID  # their own entry at business setup
    assert {f for f, _n, _v in offer.offered} == {"builder_name", "builder_legal_rep_id"}

    # When it is submitted, the case records which facts came from where
    submit(draft, applicant)
    claims = {c.field_id: c for c in FactClaim.objects.filter(case=draft)}
    assert {k: c.status for k, c in claims.items()} == {
        "builder_name": ClaimStatus.VERIFIED,
        "builder_legal_rep_id": ClaimStatus.VERIFIED,
    }
    assert claims["builder_name"].record == Record.objects.get(dataset__code="company_register", key=code)
    tally = FieldTally.objects.get(case=draft)
    assert tally.fields_from_catalog == 2
    assert tally.fields_total == sum(1 for v in draft.data.values() if v not in (None, "", []))

    # Then the reviewer's case view shows the provenance and the cross-check
    panel = case_panel(user=nr_reviewer, reference=draft.reference)
    catalog_reads_record(actor=nr_reviewer, reads=panel.reads)
    assert [(p.field_label, p.status, p.source_reference) for p in panel.provenance] == [
        ("建设单位法定代表人身份证号码", "verified", company.reference),
        ("建设单位名称", "verified", company.reference),
    ]
    company_check = panel.checks[0]
    assert company_check.found
    assert company_check.differences == 0
    by_label = {row.label: row for row in company_check.rows}
    assert by_label["登记状态"].status == "same"
    # natural resources is not cleared for the legal representative's ID number
    assert by_label["建设单位法定代表人身份证号码"].catalogue.masked
    assert by_label["建设单位法定代表人身份证号码"].catalogue.text == "1101**********002X"

    # A department without clearance sees masked values...
    page = records_for_user(user=nr_reviewer, code="company_register")
    catalog_reads_record(actor=nr_reviewer, reads=[page.read])
    values = {v.field.id: v for v in page.rows[0].values}
    assert values["legal_rep_id_number"].masked
    assert values["company_name"].text == "北京数据共享科技有限公司"

    # ...and asks the owner, whose head grants it for 30 days
    request = data_request_create(
        actor=nr_reviewer,
        dataset="company_register",
        department="natural_resources",
        fields=["legal_rep_id_number"],
        purpose="核验建设单位法定代表人身份，办理用地预审",
        days=30,
    )
    with pytest.raises(Forbidden):
        data_request_decide(actor=users["market_regulation_reviewer"], request_id=request.pk, approve=True)
    request = data_request_decide(actor=market_head, request_id=request.pk, approve=True, note="同意")
    assert request.status == RequestStatus.APPROVED

    granted = records_for_user(user=nr_reviewer, code="company_register")
    catalog_reads_record(actor=nr_reviewer, reads=[granted.read])
    values = {v.field.id: v for v in granted.rows[0].values}
    assert not values["legal_rep_id_number"].masked
    assert values["legal_rep_id_number"].text == LEGAL_REP_ID

    # An expired grant no longer unmasks
    later = timezone.now() + timedelta(days=31)
    expired = records_for_user(user=nr_reviewer, code="company_register", now=later)
    catalog_reads_record(actor=nr_reviewer, reads=[expired.read], now=later)
    assert {v.field.id: v for v in expired.rows[0].values}["legal_rep_id_number"].masked

    # Every read is in the audit trail, the granted one naming its grant
    reads = list(_reads(nr_reviewer))
    # the case panel's company record, then the three pages (reads that found
    # nothing, such as the company's earlier permits, show nothing to log)
    assert len(reads) == 4
    assert [r.data["unmasked"] for r in reads[-3:]] == [
        ["source_case"],  # internal, shared with every department
        ["legal_rep_id_number", "source_case"],
        ["source_case"],
    ]
    assert reads[-2].data["grants"] == [request.pk]
    assert all(code in r.data["keys"] for r in reads if r.object_id == "company_register")


def test_the_sharing_rate_counts_fields_filled_from_the_catalogue(users, applicant, company):
    draft = construction_draft(applicant, project_code="2503-110105-04-01-000002")
    case_prefill(
        actor=applicant, reference=draft.reference, dataset="company_register", key=credit_code_of(company)
    )
    submit(draft, applicant)

    rate = sharing_rate()

    # the business setup itself had nothing to reuse; the permit reused two fields
    tallies = list(FieldTally.objects.order_by("submitted_at"))
    assert [t.fields_from_catalog for t in tallies] == [0, 2]
    assert rate.cases == 2
    assert rate.fields_from_catalog == 2
    assert rate.rate == pytest.approx(2 / sum(t.fields_total for t in tallies))


def test_stage_approvals_publish_the_project_and_each_permit(users, applicant, company):
    draft = construction_draft(applicant, project_code="2503-110105-04-01-000003")
    case_prefill(
        actor=applicant, reference=draft.reference, dataset="company_register", key=credit_code_of(company)
    )
    submit(draft, applicant)

    drive(draft, users)  # stages 1 to 3; stage 4 waits out its public notice

    project = Record.objects.get(dataset__code="project_register", key="2503-110105-04-01-000003")
    assert project.case == draft
    assert project.data["builder_credit_code"] == credit_code_of(company)
    permits = sorted(Record.objects.filter(dataset__code="permits_issued").values_list("key", flat=True))
    assert permits == [
        "2503-110105-04-01-000003/construction_permit",
        "2503-110105-04-01-000003/construction_planning_permit",
        "2503-110105-04-01-000003/land_use_planning_permit",
    ]
