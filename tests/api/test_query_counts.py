"""What a reviewer's inbox read, claim (签收) and decision cost over the API,
as counts that do not depend on the machine: the SQL statements of one
request, every middleware, DRF and the services included (bench/http_load.py
measures the times; docs/benchmarks.md, "A decision over HTTP"). A change
that adds a statement to these requests fails here and must say why. The
tests' own transaction turns the request's BEGIN and COMMIT into a
SAVEPOINT and its RELEASE, one statement each as in production."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govflow.accounts.models import Department
from govflow.cases import bridge

from .conftest import api_client, live_task, submitted


@contextmanager
def counted():
    with CaptureQueriesContext(connection) as queries:
        yield queries


@pytest.fixture
def review(applicant, market_reviewer):
    case = submitted(applicant, "business_setup", company_name="北京计数科技有限公司")
    return case, live_task(case, "registration"), api_client(market_reviewer)


def _statements(queries) -> list[str]:
    return [str(q["sql"]).split(" ", 1)[0] for q in queries.captured_queries]


@pytest.mark.django_db
class TestOneRequest:
    pytestmark = pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the statements PostgreSQL runs (SQLite's differ)"
    )

    def test_the_inbox_reads_the_versions_fingerprints_with_its_rows(self, review):
        case, task, client = review
        client.get("/api/v1/tasks/?status=open")  # the definition parsed in this process

        with counted() as queries:
            response = client.get(f"/api/v1/tasks/?status=open&q={case.reference}")

        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [task.pk]
        assert not any('FROM "processes_processversion"' in str(q["sql"]) for q in queries.captured_queries)
        # token and user; memberships; the case by reference; the department's
        # candidates; the page's rows (with the versions' fingerprints)
        assert len(queries) == 5

    def test_a_claim_costs_its_statements_and_round_trips(self, review):
        _case, task, client = review
        client.get("/api/v1/tasks/?status=open")

        with counted() as queries:
            response = client.post(f"/api/v1/tasks/{task.pk}/claim/", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)

        assert response.status_code == 200
        assert response.json()["status"] == "claimed"
        assert not any('FROM "processes_processversion"' in str(q["sql"]) for q in queries.captured_queries)
        # token and user; the key's transaction, lock and record; the claim
        # (lock the case, read the task and the case's signing history for
        # 审批人去重, all three in one round trip; hold it, audit append: its
        # text is not logged by the kept cursor); the task's detail; the key's
        # record
        assert _statements(queries) == [
            *("SELECT", "SAVEPOINT", "SELECT", "SELECT"),
            *("SAVEPOINT", "SELECT", "SELECT", "SELECT", "UPDATE", "None", "RELEASE"),
            *("SELECT", "INSERT", "RELEASE"),
        ]

    def test_a_decision_costs_its_statements_and_round_trips(self, review):
        _case, task, client = review
        client.post(f"/api/v1/tasks/{task.pk}/claim/", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        for code in Department.objects.values_list("code", flat=True):
            bridge.department_id(code)  # kept per process: a server has read them long before

        with counted() as queries:
            response = client.post(
                f"/api/v1/tasks/{task.pk}/decide/",
                {"outcome": "approve", "opinion": "同意"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )

        assert response.status_code == 200, response.content[:300]
        # token and user; the key's transaction, lock and record; the decision
        # (lock the case, read the task and the case's signing history for
        # 审批人去重, in one round trip; the task, its timer, the case, the new
        # tasks and timers, the outbox rows, the audit append; the dashboard's
        # fact is projected after commit); the key's record
        assert _statements(queries) == [
            *("SELECT", "SAVEPOINT", "SELECT", "SELECT"),
            *("SAVEPOINT", "SELECT", "SELECT", "SELECT"),
            *("UPDATE", "UPDATE", "UPDATE", "INSERT", "INSERT", "INSERT", "None", "RELEASE"),
            *("INSERT", "RELEASE"),
        ]
