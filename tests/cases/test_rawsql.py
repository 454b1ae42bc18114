"""govflow.rawsql: the hot path's INSERTs, inside and outside a pipeline."""

from __future__ import annotations

import pytest
from django.utils import timezone

from govflow.outbox.models import OutboxMessage
from govflow.rawsql import BATCH, insert_returning, insert_rows, pipelined

pytestmark = pytest.mark.django_db


def _messages(count: int, prefix: str) -> list[OutboxMessage]:
    now = timezone.now()
    return [
        OutboxMessage(key=f"{prefix}:{n}", topic="notify", payload={"n": n}, created_at=now)
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, BATCH + 3])
def test_keys_come_back_to_the_objects_in_order_even_across_batches_in_a_pipeline(count):
    messages = _messages(count, f"r{count}")
    with pipelined():
        inserted = insert_returning(messages)
        keys = inserted()
    assert keys == [m.pk for m in messages]
    assert len(set(keys)) == count
    stored = dict(OutboxMessage.objects.filter(pk__in=keys).values_list("pk", "key"))
    assert all(stored[m.pk] == m.key for m in messages)
    assert not any(m._state.adding for m in messages)


def test_insert_rows_writes_given_keys_and_refuses_a_mix():
    first = _messages(2, "given")
    start = (OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    for n, message in enumerate(first):
        message.pk = start + n
    insert_rows(first)
    assert list(OutboxMessage.objects.filter(pk__gte=start).values_list("pk", flat=True).order_by("pk")) == [
        start,
        start + 1,
    ]
    mixed = _messages(2, "mixed")
    mixed[0].pk = start + 10
    with pytest.raises(ValueError, match="primary key"):
        insert_rows(mixed)


def test_kept_cursors_are_wrapped_as_django_wraps_its_own(settings):
    """The hot path's cursors go through Django's wrapper by its public
    methods (govflow.rawsql.wrapped): statements are counted when queries are
    logged and not otherwise, and errors are Django's. A Django upgrade that
    changes the wrapping fails here rather than in production."""
    from django.db import DatabaseError, connection
    from django.db.backends.utils import CursorDebugWrapper
    from django.test.utils import CaptureQueriesContext

    from govflow.rawsql import kept

    with CaptureQueriesContext(connection) as queries, kept(1) as cur:
        assert isinstance(cur, CursorDebugWrapper)
        assert type(cur) is type(connection.cursor())
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]
    with kept(1) as cur:
        assert type(cur) is type(connection.cursor())
        assert isinstance(cur, CursorDebugWrapper) is connection.queries_logged
    with pytest.raises(DatabaseError), kept(1) as cur:
        cur.execute("SELECT * FROM no_such_table_here")


@pytest.mark.postgres
def test_pipeline_mode_is_read_from_libpq_and_nesting_leaves_the_outer_one_open():
    from django.db import connection

    from govflow.rawsql import in_pipeline

    if connection.vendor != "postgresql":
        pytest.skip("pipelines are PostgreSQL's")
    connection.ensure_connection()
    raw = connection.connection
    assert not in_pipeline(raw)
    with pipelined():
        assert in_pipeline(raw)
        with pipelined() as inner:
            assert inner is None  # nullcontext: the outer pipeline carries on
            assert in_pipeline(raw)
        assert in_pipeline(raw)
    assert not in_pipeline(raw)


# The internals of Django and psycopg the hot path leans on; only
# govflow/rawsql.py may name them.
PRIVATE = (
    "connection.connection",
    "_prepare_cursor",
    "_pipeline",
    ".pipeline(",
    "pgconn",
    "psycopg.Cursor",
    "make_cursor",
    "make_debug_cursor",
    "_prepare_related_fields_for_save",
    "cursor.cursor",
    "run_on_commit",
    "wrap_database_errors",
    "waiting.wait",
    "import pq, waiting",
)


def test_only_the_adapter_touches_django_and_psycopg_internals():
    from pathlib import Path

    import govflow

    root = Path(govflow.__file__).resolve().parent
    adapter = root / "rawsql.py"
    found = [
        f"{path.relative_to(root.parent)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path != adapter and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(name in line for name in PRIVATE)
    ]
    assert found == [], "use govflow.rawsql instead:\n" + "\n".join(found)


def test_the_internals_the_adapter_uses_are_still_there():
    """An upgrade of Django or psycopg that drops or renames one of them
    fails here, by name, rather than on a reviewer's decision."""
    import inspect

    import psycopg
    from django.db import connection
    from django.db.models import Model
    from psycopg import pq

    assert "operation_name" in inspect.signature(Model._prepare_related_fields_for_save).parameters
    assert callable(connection.make_cursor)
    assert callable(connection.make_debug_cursor)
    assert isinstance(connection.queries_logged, bool)
    assert callable(connection.validate_thread_sharing)
    assert callable(psycopg.Connection.pipeline)
    assert callable(psycopg.Cursor.copy)
    assert pq.PipelineStatus.OFF is not None
    assert hasattr(pq.abc.PGconn, "pipeline_status")
    assert "adapters" in dir(psycopg.Cursor)
    assert isinstance(connection.run_on_commit, list)
    # pipelined_atomic and round_trips
    assert callable(psycopg.Pipeline.sync)
    assert pq.TransactionStatus.IDLE is not None
    assert hasattr(connection.wrap_database_errors, "__enter__")
    assert callable(psycopg.waiting.wait)
    assert "waiting.wait(" in inspect.getsource(psycopg.Connection.wait)


@pytest.mark.django_db
def test_a_pending_on_commit_callback_is_known_until_its_savepoint_rolls_back():
    from django.db import transaction

    from govflow.rawsql import on_commit_pending

    def kept():
        pass

    def dropped():
        pass

    with transaction.atomic():
        transaction.on_commit(kept)
        try:
            with transaction.atomic():
                transaction.on_commit(dropped)
                assert on_commit_pending(dropped)
                raise RuntimeError
        except RuntimeError:
            pass
        assert on_commit_pending(kept)
        assert not on_commit_pending(dropped)
