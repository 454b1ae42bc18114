"""A reviewer's decision and a 签收 in two round trips (govflow.rawsql.
pipelined_atomic): the lock and reads with the transaction's BEGIN, then the
writes with its COMMIT. Real commits (transaction=True), counted where
psycopg waits for PostgreSQL's answer."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from govflow import rawsql
from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.services import case_create, case_submit, task_claim, task_complete
from govflow.outbox.models import OutboxMessage
from govflow.processes.services import process_publish

from .conftest import GOOD_DATA, live_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKLOAD = Path(__file__).resolve().parents[2] / "bench" / "workloads" / "parallel_review.yaml"


@pytest.fixture
def parallel_review(base_data):
    return process_publish(source=WORKLOAD.read_text(encoding="utf-8")).template


@pytest.fixture
def intake(parallel_review, applicant, now):
    case = case_create(
        applicant=applicant, template_code="parallel_review", data={"project_name": "项目"}, now=now
    )
    case_submit(case_id=case.pk, actor=applicant, now=now)
    return live_task(case, "intake_check")


def _reviewer(base_data):
    return base_data["development_reform_reviewer"]


def _committed(sql: str, params) -> tuple:
    """A row as another connection sees it: only what was committed."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        autocommit=True,
    ) as other:
        return other.execute(sql, params).fetchone()


def test_a_claim_and_a_decision_cost_two_round_trips_each(intake, base_data, now):
    reviewer = _reviewer(base_data)
    case = intake.case
    # The first decision of a process loads its caches (definition, calendar,
    # departments): count a second case's.
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
    second = case_create(
        applicant=case.applicant, template_code="parallel_review", data={"project_name": "二"}, now=now
    )
    case_submit(case_id=second.pk, actor=case.applicant, now=now)
    task = live_task(second, "intake_check")

    with rawsql.round_trips() as claiming:
        task_claim(task_id=task.pk, actor=reviewer, now=now)
    with rawsql.round_trips() as deciding:
        task_complete(task_id=task.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)

    # (An answer already there when psycopg looked is not counted: at most 2.)
    assert 1 <= claiming.count <= 2
    assert 1 <= deciding.count <= 2
    # What the two round trips wrote was committed: another connection sees it.
    assert _committed("SELECT status FROM cases_task WHERE id = %s", [task.pk]) == ("completed",)
    new = Task.objects.filter(case=second, node_id__startswith="review_")
    assert new.count() == 4
    assert AuditEvent.objects.filter(case=second, action="TASK_COMPLETED").count() == 1
    # Django and psycopg are back in autocommit, out of pipeline mode.
    assert connection.get_autocommit()
    assert connection.connection.autocommit
    assert not rawsql.in_pipeline(connection.connection)


def test_a_decision_without_a_claim_writes_its_holder_in_the_decisions_own_update(intake, base_data, now):
    # The workload's template needs no 签收: the decider becomes the holder,
    # in the same UPDATE of the task's row as the decision.
    reviewer = _reviewer(base_data)
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)

    task_updates = [sql for sql in statements if sql.startswith('UPDATE "cases_task"')]
    assert len(task_updates) == 1, task_updates
    assert '"assignee_id"' in task_updates[0]
    assert _committed(
        "SELECT status, assignee_id, decided_by_id, claimed_at = completed_at FROM cases_task WHERE id = %s",
        [intake.pk],
    ) == ("completed", reviewer.pk, reviewer.pk, True)


def test_the_new_tasks_keys_come_back_with_the_commit(intake, base_data, now):
    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    seen = {}

    def listener(changes, events):
        seen["changes"] = changes

    from govflow.cases import events as domain

    domain.subscribe(listener, domain.TaskDecided)
    try:
        task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
    finally:
        domain.unsubscribe(listener)
    created = seen["changes"].new_tasks
    assert len(created) == 4
    assert None not in [task.pk for task in created]
    assert sorted(t.pk for t in created) == sorted(
        Task.objects.filter(case=intake.case, node_id__startswith="review_").values_list("pk", flat=True)
    )


def _inject_failing_statement(monkeypatch, sql: str) -> None:
    """The audit append (the last write before the COMMIT) queues a failing
    statement after the decision's other writes."""
    from govflow.audit import services as audit

    original = audit.audit_write

    def failing(events):
        original(events)
        with rawsql.kept() as cur:
            cur.execute(sql)

    monkeypatch.setattr("govflow.cases.bridge.audit_write", failing)


def _nothing_written(task: Task, case_version: int, audit_count: int, outbox_count: int) -> None:
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.CLAIMED, "")
    assert Case.objects.get(pk=task.case_id).row_version == case_version
    assert not Task.objects.filter(case_id=task.case_id, node_id__startswith="review_").exists()
    assert AuditEvent.objects.count() == audit_count
    assert OutboxMessage.objects.count() == outbox_count
    assert _committed("SELECT status FROM cases_task WHERE id = %s", [task.pk]) == ("claimed",)


def test_a_statement_failing_mid_pipeline_rolls_the_decision_back_and_raises(
    intake, base_data, now, monkeypatch
):
    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    before = (Case.objects.get(pk=intake.case_id).row_version, AuditEvent.objects.count())
    outbox = OutboxMessage.objects.count()
    ran = []
    monkeypatch.setattr(
        "govflow.cases.bridge.dispatch_on_commit", lambda ids: transaction.on_commit(lambda: ran.append(ids))
    )
    _inject_failing_statement(monkeypatch, "SELECT 1 / 0")

    with pytest.raises(DatabaseError, match="division by zero"):
        task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)

    assert ran == []  # no on_commit hook of the failed transaction runs
    _nothing_written(intake, before[0], before[1], outbox)
    # The connection is clean: the same decision goes through afterwards.
    monkeypatch.undo()
    task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
    assert _committed("SELECT status FROM cases_task WHERE id = %s", [intake.pk]) == ("completed",)


def test_a_failing_commit_rolls_the_decision_back_and_raises(intake, base_data, now):
    """The COMMIT itself fails (a deferred constraint checked at commit):
    the error is raised, nothing is written, no on_commit hook runs."""
    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    before = (Case.objects.get(pk=intake.case_id).row_version, AuditEvent.objects.count())
    outbox = OutboxMessage.objects.count()
    with connection.cursor() as cur:
        cur.execute(
            "CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
        )
        cur.execute(
            "CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER UPDATE ON cases_case "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_at_commit()"
        )
    ran = []

    def decide():
        with rawsql.pipelined_atomic():
            transaction.on_commit(lambda: ran.append("hook"))
            task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)

    try:
        with pytest.raises(DatabaseError, match="refused at commit"):
            decide()
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER test_refuse_at_commit ON cases_case")
            cur.execute("DROP FUNCTION test_refuse_at_commit()")
    assert ran == []
    _nothing_written(intake, before[0], before[1], outbox)


def test_on_commit_hooks_run_once_after_the_commit(intake, base_data, now, monkeypatch):
    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    seen = []

    def hook():
        # Another connection already sees the decision: the hook runs after COMMIT.
        seen.append(_committed("SELECT status FROM cases_task WHERE id = %s", [intake.pk]))

    def listener(changes, events):
        transaction.on_commit(hook)

    from govflow.cases import events as domain

    domain.subscribe(listener, domain.TaskDecided)
    try:
        task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
    finally:
        domain.unsubscribe(listener)
    assert seen == [("completed",)]


def test_inside_an_outer_transaction_the_decision_commits_with_it(intake, base_data, now):
    """Nested in another atomic block (a batch) nothing is committed early:
    the outer block's rollback takes the decision back too."""
    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    seen = []

    def batch():
        with transaction.atomic():
            task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
            seen.append(_committed("SELECT status FROM cases_task WHERE id = %s", [intake.pk]))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        batch()
    assert seen == [("claimed",)]
    intake.refresh_from_db()
    assert intake.status == TaskStatus.CLAIMED


def test_a_refused_decision_leaves_the_connection_as_it_found_it(intake, base_data, now):
    from govflow.errors import InvalidInput

    reviewer = _reviewer(base_data)
    task_claim(task_id=intake.pk, actor=reviewer, now=now)
    with pytest.raises(InvalidInput):
        task_complete(task_id=intake.pk, actor=reviewer, outcome="no_such_outcome", now=now)
    assert connection.get_autocommit()
    assert connection.connection.autocommit
    assert not rawsql.in_pipeline(connection.connection)
    assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", now=now)
    assert _committed("SELECT status FROM cases_task WHERE id = %s", [intake.pk]) == ("completed",)


def test_a_decision_whose_new_tasks_have_sla_timers_costs_two_round_trips_too(
    review_template, base_data, applicant, now
):
    """The new tasks' SLA timers find their tasks' keys in the INSERT itself
    (bulk.timers_insert): nothing waits for the keys before the COMMIT."""
    from govflow.timers.models import Timer

    reviewer = base_data["market_regulation_reviewer"]
    for name in ("一", "二"):
        case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
        case_submit(case_id=case.pk, actor=applicant, now=now)
        task = live_task(case, "intake")
        task_claim(task_id=task.pk, actor=reviewer, now=now)
        with rawsql.round_trips() as deciding:
            task_complete(task_id=task.pk, actor=reviewer, outcome="approve", opinion=name, now=now)
    assert 1 <= deciding.count <= 2
    new_tasks = Task.objects.filter(case=case).exclude(pk=task.pk)
    assert new_tasks.exists()
    for new in new_tasks:
        breach = Timer.objects.get(task=new, kind="sla_breach")
        assert (breach.case_id, breach.due_at) == (case.pk, new.due_at)
    assert not Timer.objects.filter(case=case, kind__startswith="sla_", task__isnull=True).exists()


def _case_updates(action) -> list[str]:
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        action()
    return [sql for sql in statements if sql.startswith('UPDATE "cases_case"')]


def test_a_decision_that_leaves_the_form_alone_does_not_rewrite_it(intake, base_data, now):
    """The engine's state changes with every decision, the form data with
    few: an unchanged JSONB document is not sealed, encoded and written again
    (cases.bulk.cases_save_changed)."""
    reviewer = _reviewer(base_data)
    before = _committed("SELECT data FROM cases_case WHERE id = %s", [intake.case_id])[0]
    updates = _case_updates(
        lambda: task_complete(task_id=intake.pk, actor=reviewer, outcome="approve", opinion="同意", now=now)
    )
    assert len(updates) == 1
    assert '"data"' not in updates[0]
    assert '"state"' in updates[0]
    assert _committed("SELECT data FROM cases_case WHERE id = %s", [intake.case_id])[0] == before

    # A reviewer's own data goes to the step's results in the state, not
    # into the applicant's form: the form is not rewritten either.
    review = live_task(intake.case, "review_fire")
    updates = _case_updates(
        lambda: task_complete(
            task_id=review.pk,
            actor=base_data["fire_reviewer"],
            outcome="approve",
            opinion="同意",
            data={"opinion": "消防设计符合要求"},
            now=now,
        )
    )
    assert '"data"' not in updates[0]
    data, state = _committed("SELECT data, state FROM cases_case WHERE id = %s", [intake.case_id])
    assert data == before
    assert state["results"]["review_fire"] == {"opinion": "消防设计符合要求"}


def test_changed_form_data_is_written(intake, now):
    from govflow.cases.bulk import cases_save_changed
    from govflow.cases.rows import lock_case

    with transaction.atomic():
        case = lock_case(intake.case_id)
        case.data = {**case.data, "project_name": "改名"}
        updates = _case_updates(lambda: cases_save_changed([case], ("data", "updated_at")))
        assert '"data"' in updates[0]
    assert (
        _committed("SELECT data FROM cases_case WHERE id = %s", [intake.case_id])[0]["project_name"] == "改名"
    )


def test_a_case_changed_back_after_a_write_is_written_again(intake, base_data, now):
    """The lock's copy of the data is dropped once the data is written: a
    second change set in the same transaction that restores the old value
    must write it, not compare it with the copy."""
    from govflow.cases.bulk import cases_save_changed
    from govflow.cases.rows import lock_case

    with transaction.atomic():
        case = lock_case(intake.case_id)
        original = dict(case.data)
        case.data = {**original, "project_name": "改名"}
        assert len(_case_updates(lambda: cases_save_changed([case], ("data", "updated_at")))) == 1
        case.data = original
        updates = _case_updates(lambda: cases_save_changed([case], ("data", "updated_at")))
        assert '"data"' in updates[0]
    assert _committed("SELECT data FROM cases_case WHERE id = %s", [intake.case_id])[0] == original


def test_a_value_equal_in_python_but_not_in_json_is_written(intake):
    """True == 1 in Python; stored as JSON they differ, so the column is written."""
    from govflow.cases.bulk import cases_save_changed
    from govflow.cases.rows import lock_case

    with transaction.atomic():
        case = lock_case(intake.case_id)
        case.data = {**case.data, "flag": 1}
        cases_save_changed([case], ("data", "updated_at"))
    with transaction.atomic():
        case = lock_case(intake.case_id)
        case.data = {**case.data, "flag": True}
        updates = _case_updates(lambda: cases_save_changed([case], ("data", "updated_at")))
        assert '"data"' in updates[0]
    assert _committed("SELECT data FROM cases_case WHERE id = %s", [intake.case_id])[0]["flag"] is True
