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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_and_a_decision_over_the_api_wait_for_postgresql_five_and_four_times(
    applicant, market_reviewer
):
    """Committed for real (no test transaction): the key's transaction is the
    service's pipeline (govflow.api.idempotency.run_once, `pipelined`), so a
    statement waits for its answer only where the request needs one: the
    token's user; the key's lock and record, with BEGIN; the case's lock and
    the task's reads; and the writes with the key's record and the COMMIT
    (a claim reads the task's inbox row for its answer on the way). Each
    statement waiting for its own answer, they were eleven each."""
    from govflow import rawsql
    from govflow.api.models import IdempotencyRecord
    from govflow.audit.models import AuditEvent

    case = submitted(applicant, "business_setup", company_name="北京往返科技有限公司")
    task = live_task(case, "registration")
    client = api_client(market_reviewer)
    client.get("/api/v1/tasks/?status=open")  # the first request of a process loads its caches
    for code in Department.objects.values_list("code", flat=True):
        bridge.department_id(code)
    events = AuditEvent.objects.filter(case=case, action__in=["TASK_CLAIMED", "TASK_COMPLETED"])
    before = events.count()

    with rawsql.round_trips() as claiming:
        claimed = client.post(f"/api/v1/tasks/{task.pk}/claim/", HTTP_IDEMPOTENCY_KEY="claim-1")
    with rawsql.round_trips() as deciding:
        decided = client.post(
            f"/api/v1/tasks/{task.pk}/decide/",
            {"outcome": "approve", "opinion": "同意"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="decide-1",
        )

    assert claimed.status_code == 200, claimed.content[:300]
    assert claimed.json()["status"] == "claimed"
    assert decided.status_code == 200, decided.content[:300]
    assert decided.json()["status"] == "completed"
    # (An answer already there when psycopg looked is not counted: at most.)
    assert 1 <= claiming.count <= 5
    assert 1 <= deciding.count <= 4
    # Both committed, each with its key's record and its audit event.
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"claim-1", "decide-1"}
    assert events.count() == before + 2
    # A replay answers from the record and acts no more.
    again = client.post(
        f"/api/v1/tasks/{task.pk}/decide/",
        {"outcome": "approve", "opinion": "同意"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="decide-1",
    )
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert events.count() == before + 2
    # A refusal inside the pipeline rolls it all back, the key's record too,
    # and leaves the connection as it found it.
    refused = client.post(
        f"/api/v1/tasks/{task.pk}/decide/",
        {"outcome": "approve", "opinion": "同意"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="decide-2",
    )
    assert refused.status_code == 409, refused.content[:300]
    assert not IdempotencyRecord.objects.filter(key="decide-2").exists()
    assert events.count() == before + 2
    assert connection.get_autocommit()
    assert not rawsql.in_pipeline(connection.connection)
