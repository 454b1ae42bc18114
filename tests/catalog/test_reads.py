"""The catalogue's pages and the case page's catalogue panel only read
(selectors and template tags); each page's record reads are audited by
`catalog_reads_record`, called once by the view."""

import pytest
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.catalog.services import case_prefill
from tests.querylog import writes_outside

from .conftest import construction_draft, credit_code_of, submit

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _reads(user):
    return AuditEvent.objects.filter(action="CATALOG_RECORDS_READ", actor_id=user.pk)


def test_the_catalogue_pages_write_nothing_but_the_recorded_reads(monkeypatch, users, company):
    code = credit_code_of(company)
    reviewer = users["natural_resources_reviewer"]
    client = _client(reviewer)
    head = _client(users["market_regulation_head"])

    with writes_outside(monkeypatch, "govflow.catalog.views.catalog_reads_record") as log:
        pages = [
            client.get("/catalog/"),
            client.get("/catalog/company_register/"),
            client.get("/catalog/company_register/records/"),
            client.get(f"/catalog/company_register/records/{code}/"),
            client.get("/catalog/requests/"),
            head.get("/catalog/requests/"),
        ]

    assert [page.status_code for page in pages] == [200] * 6
    assert log.writes == []
    assert log.calls["govflow.catalog.views.catalog_reads_record"] == 2  # the records and the record
    assert [r.object_id for r in _reads(reviewer).order_by("id")] == ["company_register"] * 2


def test_the_case_pages_catalogue_panel_writes_nothing_and_its_reads_are_recorded_once(
    monkeypatch, users, applicant, company
):
    draft = construction_draft(applicant)
    case_prefill(
        actor=applicant, reference=draft.reference, dataset="company_register", key=credit_code_of(company)
    )
    submit(draft, applicant)
    reviewer = users["natural_resources_reviewer"]
    client = _client(reviewer)

    with writes_outside(
        monkeypatch,
        "govflow.web.views.case_page.case_reads_record",
        "govflow.web.views.case_page.catalog_reads_record",
    ) as log:
        page = client.get(f"/cases/{draft.reference}/")

    assert page.status_code == 200
    assert 'id="catalog-check-company_register"' in page.content.decode()
    assert log.writes == []
    assert log.calls["govflow.web.views.case_page.catalog_reads_record"] == 1
    reads = list(_reads(reviewer))
    assert [(r.object_id, r.case_id) for r in reads] == [("company_register", draft.pk)]
