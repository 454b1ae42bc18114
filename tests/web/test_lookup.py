"""The public progress lookup: the query code, the page and the case page's panel."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client

from govflow.web.lookup import ALPHABET, case_for_lookup, normalise_code, query_code

from .conftest import login, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(applicant, now):
    with time_machine.travel(now, tick=False):
        return submitted(applicant, "business_setup", company_name="北京秘密科技有限公司", employees_count=2)


def test_the_query_code_is_ten_unambiguous_characters_and_differs_per_case(case, applicant, now):
    code = query_code(case)
    plain = code.replace("-", "")
    assert len(plain) == 10
    assert set(plain) <= set(ALPHABET)
    assert not set("01ILO") & set(plain)
    with time_machine.travel(now, tick=False):
        other = submitted(applicant, "business_setup")
    assert query_code(other) != code
    assert plain not in str(case.query_nonce)


def test_a_wrong_code_and_an_unknown_case_get_the_same_answer(case):
    code = query_code(case)
    assert case_for_lookup(reference=case.reference, code=code) == case
    assert case_for_lookup(reference=case.reference.lower(), code=normalise_code(code).lower()) == case
    assert case_for_lookup(reference=case.reference, code="ABCDE-FGHJK") is None
    assert case_for_lookup(reference="GF0000000000", code=code) is None
    assert case_for_lookup(reference="", code="") is None


def test_a_draft_cannot_be_looked_up(applicant):
    from govflow.cases.services import case_create

    draft = case_create(applicant=applicant, template_code="business_setup")
    assert case_for_lookup(reference=draft.reference, code=query_code(draft)) is None


def test_the_page_shows_public_facts_only(case, now, settings):
    client = Client()
    with time_machine.travel(now, tick=False):
        page = client.get("/lookup/")
        assert page.status_code == 200
        response = client.post("/lookup/", {"reference": case.reference, "code": query_code(case)})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="lookup-result"' in html
    assert "企业开办" in html
    assert "预计" in html
    assert "北京秘密科技有限公司" not in html  # form data
    assert "result." not in html
    assert "==" not in html


def test_a_wrong_code_is_refused_without_saying_whether_the_case_exists(case, now):
    client = Client()
    with time_machine.travel(now, tick=False):
        wrong = client.post("/lookup/", {"reference": case.reference, "code": "ABCDE-FGHJK"})
        unknown = client.post("/lookup/", {"reference": "GF0000000000", "code": "ABCDE-FGHJK"})

    def page(response, reference):
        # the same page but for the typed reference and the form's CSRF token
        text = response.content.decode().replace(reference, "")
        return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", text)

    assert wrong.status_code == unknown.status_code == 200
    assert 'id="lookup-not-found"' in wrong.content.decode()
    assert page(wrong, case.reference) == page(unknown, "GF0000000000")


def test_lookups_are_rate_limited_per_address(case, now, settings):
    settings.GOVFLOW_RATE_LIMITS_ENABLED = True
    settings.GOVFLOW_RATE_LIMITS = {**settings.GOVFLOW_RATE_LIMITS, "lookup": "3/m"}
    client = Client()
    with time_machine.travel(now, tick=False):
        codes = [
            client.post("/lookup/", {"reference": case.reference, "code": "X"}).status_code for _ in range(4)
        ]
    assert codes == [200, 200, 200, 429]


def test_the_applicant_sees_the_code_and_the_progress_and_no_diagram(case, applicant, market_reviewer, now):
    with time_machine.travel(now, tick=False):
        own = login(applicant).get(f"/cases/{case.reference}/").content.decode()
        staff = login(market_reviewer).get(f"/cases/{case.reference}/").content.decode()
    assert query_code(case) in own
    assert 'id="progress-view"' in own
    assert 'id="process-diagram"' not in own
    assert query_code(case) not in staff
    assert 'id="process-diagram"' in staff


def test_the_api_answers_the_public_facts_and_404_for_a_wrong_code(case, now):
    client = Client()
    with time_machine.travel(now, tick=False):
        found = client.get("/api/v1/lookup/", {"reference": case.reference, "code": query_code(case)})
        posted = client.post(
            "/api/v1/lookup/",
            {"reference": case.reference, "code": query_code(case).lower()},
            content_type="application/json",
        )
        wrong = client.get("/api/v1/lookup/", {"reference": case.reference, "code": "ABCDE-FGHJK"})
        unknown = client.get("/api/v1/lookup/", {"reference": "GF0000000000", "code": "ABCDE-FGHJK"})
    assert found.status_code == 200
    assert posted.json() == found.json()
    body = found.json()
    assert body["reference"] == case.reference
    assert any(step["state"] == "upcoming" and step["expected"] for step in body["steps"])
    assert "北京秘密科技有限公司" not in found.content.decode()
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
