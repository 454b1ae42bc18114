"""Reads never write: the case page, the inbox and the service catalogue run selectors and templates
that only read; the one write a page owes, the audit of secret fields shown
unmasked, is made by `case_reads_record`, once per request, from the address
of the client (not of the proxy in front)."""

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases import reads
from tests.deciding import claim
from tests.querylog import writes_outside

from .conftest import live_task, login

pytestmark = pytest.mark.django_db

READ_SERVICES = (
    "govflow.web.views.case_page.case_reads_record",
    "govflow.web.views.case_page.catalog_reads_record",
)
CLIENT, PROXY = "203.0.113.7", "10.0.0.2"


def _secret_reads(case):
    return AuditEvent.objects.filter(action="SECRET_FIELD_READ", case=case)


def test_the_case_page_and_the_inbox_write_nothing_but_the_recorded_read(
    monkeypatch, applicant, market_reviewer, business_case
):
    before = _secret_reads(business_case).count()
    reviewer, owner = login(market_reviewer), login(applicant)

    with writes_outside(monkeypatch, *READ_SERVICES) as log:
        pages = [
            reviewer.get(f"/cases/{business_case.reference}/"),
            reviewer.get("/inbox/"),
            reviewer.get("/inbox/?status=done&sort=-due"),
            owner.get(f"/cases/{business_case.reference}/"),
            owner.get("/cases/"),
            owner.get("/"),
            owner.get(f"/services/{business_case.version.template.code}/"),
        ]

    assert [page.status_code for page in pages] == [200] * 7
    assert log.writes == []
    assert log.calls["govflow.web.views.case_page.case_reads_record"] == 2  # one per case page
    # the reviewer's unmasked ID and phone are audited; the applicant's own page is not
    assert _secret_reads(business_case).count() == before + 1


def test_a_selector_that_writes_is_caught(monkeypatch, market_reviewer, business_case):
    """The check above can fail: a case_detail that records the read itself
    (through the service, but not where the view calls it) is reported."""
    from govflow.web.views import case_page

    real = case_page.case_detail

    def writing_case_detail(**kwargs):
        detail = real(**kwargs)
        reads.case_reads_record(actor=kwargs["user"], detail=detail)
        return detail

    monkeypatch.setattr(case_page, "case_detail", writing_case_detail)
    with writes_outside(monkeypatch, *READ_SERVICES) as log:
        login(market_reviewer).get(f"/cases/{business_case.reference}/")

    assert log.writes


def test_one_request_logs_one_secret_field_read_even_when_a_decision_is_refused(
    market_reviewer, business_case
):
    task = live_task(business_case, "registration")
    claim(task.pk, market_reviewer)
    client = login(market_reviewer)
    before = _secret_reads(business_case).count()

    refused = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "return", "opinion": "  "})

    assert refused.status_code == 400
    assert _secret_reads(business_case).count() == before + 1
    assert _secret_reads(business_case).latest("id").data["fields"] == [
        "legal_rep_id_number",
        "legal_rep_phone",
    ]


def test_behind_a_trusted_proxy_the_secret_read_records_the_client(settings, market_reviewer, business_case):
    settings.GOVFLOW_TRUSTED_PROXY_COUNT = 1
    client = login(market_reviewer)

    client.get(
        f"/cases/{business_case.reference}/",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {CLIENT}",  # the first one the client chose itself
    )

    assert _secret_reads(business_case).latest("id").source_ip == CLIENT


def test_behind_a_trusted_proxy_the_api_records_the_client_too(settings, market_reviewer, business_case):
    from tests.api.conftest import api_client

    settings.GOVFLOW_TRUSTED_PROXY_COUNT = 1
    before = _secret_reads(business_case).count()

    response = api_client(market_reviewer).get(
        f"/api/v1/cases/{business_case.reference}/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT
    )

    assert response.status_code == 200
    assert _secret_reads(business_case).count() == before + 1
    assert _secret_reads(business_case).latest("id").source_ip == CLIENT
