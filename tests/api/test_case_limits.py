"""The case's promise (承诺时限) and statutory limit (法定时限) on the case API
(serializer and OpenAPI schema) and on the case page, with the clock pinned."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from govflow.cases.services import case_withdraw
from govflow.timers.services import calendar_invalidate
from govflow.timers.tasks import sweep
from tests.cases.test_case_limits import ACCEPTED, AMBER, PROMISE_DUE, food_case

from .conftest import api_client

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


def limits_of(user, case, at) -> dict:
    with time_machine.travel(at, tick=False):
        body = api_client(user).get(f"/api/v1/cases/{case.reference}/").json()
    return {row["limit"]: row for row in body["limits"]}


def test_the_api_carries_both_due_dates_and_their_state(base_data):
    case = food_case(base_data)
    reviewer, applicant = base_data["market_regulation_reviewer"], base_data["applicant"]

    early = limits_of(reviewer, case, ACCEPTED + timedelta(hours=1))
    assert set(early) == {"promise", "statutory"}
    assert early["promise"]["due_at"] == "2026-04-16T17:00:00+08:00"
    assert early["promise"]["level"] == "green"
    assert early["promise"]["title"] == "承诺时限"
    assert early["statutory"]["due_at"] == "2026-04-16T17:00:00+08:00"
    # the applicant sees the same dates
    assert limits_of(applicant, case, ACCEPTED + timedelta(hours=1))["promise"]["level"] == "green"

    assert limits_of(reviewer, case, AMBER + timedelta(minutes=1))["promise"]["level"] == "amber"
    with time_machine.travel(PROMISE_DUE, tick=False):
        sweep()
    late = limits_of(reviewer, case, PROMISE_DUE + timedelta(days=1))["promise"]
    assert (late["level"], late["days"]) == ("red", 1.0)  # 4-17 is a working day

    # Once ended after its due date, the case shows it finished late
    case_withdraw(case_id=case.pk, actor=applicant, now=PROMISE_DUE + timedelta(days=2))
    done = limits_of(reviewer, case, PROMISE_DUE + timedelta(days=3))["promise"]
    assert (done["level"], done["late"]) == ("done", True)


def test_the_schema_documents_the_limits(base_data):
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    schemas = raw["components"]["schemas"]
    assert "limits" in schemas["CaseDetail"]["properties"]
    limit = schemas["CaseLimit"]["properties"]
    assert {"limit", "title", "level", "due_at", "days", "late", "provisional"} <= set(limit)


def test_the_case_page_shows_the_promise_and_the_statutory_limit(base_data):
    case = food_case(base_data)
    client = Client()
    client.force_login(base_data["market_regulation_reviewer"])
    with time_machine.travel(AMBER + timedelta(minutes=1), tick=False):
        page = client.get(reverse("web:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    section = html[html.index('id="case-limits"') :]
    section = section[: section.index("</ul>")]
    assert "承诺时限" in section
    assert "法定时限" in section
    assert section.count("2026-04-16 17:00") == 2
    assert "sla-amber" in section
