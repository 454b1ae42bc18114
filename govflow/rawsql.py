"""INSERT and UPDATE statements built once per model, for the hot paths.

Django's bulk_create and QuerySet.update build their SQL anew on every call,
which on a reviewer's decision cost more time than PostgreSQL spent running
it (bench/compare.py). These helpers prepare values the way the ORM does
(`get_db_prep_save`, so JSON, datetimes and IP addresses are adapted alike),
but cache the statement text, and never ask for rows back: inside a psycopg
pipeline (`pipelined`) they cost no round trip of their own.

This module is the one adapter over Django's and psycopg's internals on the
hot path (the raw psycopg connection, its pipeline, server-binding cursors,
COPY, Django's cursor wrappers and a model's private preparation of related
fields): nothing else in govflow touches them, and tests/cases/test_rawsql.py
fails loudly when an upgrade changes one of them.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from enum import Enum
from functools import lru_cache
from operator import attrgetter

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import JSONField, Model
from psycopg import pq, waiting
from psycopg.pq import Format


def cursor():
    """A cursor for the hot path's fixed statements. On PostgreSQL it binds
    parameters on the server, so psycopg prepares a statement it has seen a
    few times (prepare_threshold) and PostgreSQL stops planning it anew: the
    lock of a case with its version took longer to plan (0.7 ms) than to run.
    Django's wrapper stays around it: execute wrappers (query counting),
    debug logging and error translation behave as for any cursor. Not for
    use behind a transaction-pooling pgbouncer (docs/deploy.md)."""
    if connection.vendor != "postgresql":
        return connection.cursor()

    connection.ensure_connection()
    return wrapped(psycopg.Cursor(connection.connection))


def wrapped(raw_cursor):
    """Django's wrapper around a psycopg cursor of its connection, as
    `connection.cursor()` builds it (thread check; the debug wrapper that
    logs and counts queries when they are logged, the plain one otherwise),
    through public methods only, so a Django upgrade cannot change it
    silently (tests/cases/test_rawsql.py checks both wrappers)."""
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return connection.make_debug_cursor(raw_cursor)
    return connection.make_cursor(raw_cursor)


def in_pipeline(raw_connection) -> bool:
    """Whether a psycopg connection is in pipeline mode, from libpq's own
    status (PQpipelineStatus), not psycopg's private state."""
    return raw_connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def pipelined():
    """Queue statements without waiting for each answer (PostgreSQL); the
    queue is sent when a result is fetched or the block ends. Elsewhere, and
    when a pipeline is already open, nothing changes."""
    if connection.vendor != "postgresql":
        return nullcontext()
    connection.ensure_connection()
    raw = connection.connection
    if in_pipeline(raw):  # nested: the outer pipeline carries on
        return nullcontext()
    return raw.pipeline()


# The write transaction open in pipeline mode on a psycopg connection (see
# `pipelined_atomic`), if any.
_transactions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Transaction:
    __slots__ = ("answered", "pipeline")

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.answered: list = []


@contextmanager
def pipelined_atomic() -> Iterator[None]:
    """`transaction.atomic()` for the hot path's write services (a decision,
    a 签收): on PostgreSQL the whole transaction is one psycopg pipeline, so
    it costs two round trips when its reads are the lock and the read of the
    rows it changes (`answers`) and its writes need no answer:

    1. BEGIN, the lock and the reads, answered together;
    2. every write, then COMMIT, sent together and answered once.

    psycopg would send BEGIN with a round trip of its own (it syncs a
    pipeline after it), so the block turns psycopg's autocommit back on
    while Django's atomic block is open and sends BEGIN and COMMIT itself,
    in the pipeline; Django's view of the transaction (in an atomic block,
    savepoints, on_commit hooks) is unchanged. When the pipeline's answers
    show the COMMIT succeeded, psycopg's autocommit is turned off again
    (the connection is idle) and the atomic block ends: Django's commit
    finds nothing left to commit (no round trip) and runs the on_commit
    hooks, once. A statement that fails anywhere in the pipeline makes the
    server skip the rest of it, the COMMIT too: the transaction is rolled
    back, the error is raised (as Django's exception, e.g. IntegrityError)
    and the hooks are dropped, as with any failed atomic block.

    Inside, a statement's result arrives only when it is asked for (a fetch
    costs a round trip) and a write's row count not at all: code in the
    block writes through this module (`update_row`, `insert_rows`...), not
    through the ORM's save() of an existing row, whose row count check would
    fail. Nested in another atomic block (a batch, a test's transaction),
    or off PostgreSQL, it is plain `transaction.atomic()`: the outer block
    commits."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        raw.autocommit = True  # idle: no statement sent yet
        state = None
        try:
            with connection.wrap_database_errors, raw.pipeline() as pipeline:
                state = _transactions[raw] = _Transaction(pipeline)
                _control(raw).execute(b"BEGIN", prepare=False)
                yield
                # An inner block that failed without a savepoint left the
                # transaction to be rolled back, as Django's atomic would.
                end = b"ROLLBACK" if connection.needs_rollback else b"COMMIT"
                _control(raw).execute(end, prepare=False)
        except BaseException:
            if not raw.closed and raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                with connection.wrap_database_errors:
                    raw.rollback()
            raise
        finally:
            _transactions.pop(raw, None)
            if not raw.closed and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                raw.autocommit = False  # as Django's atomic block left it
        for answered in state.answered:
            answered()


def _control(raw):
    """A plain psycopg cursor of the connection for BEGIN and COMMIT (never
    prepared; not a statement Django logs, as its own commit is not)."""
    cursors = _cursors_of(raw)
    cur = cursors.get("control")
    if cur is None or cur.closed:
        cur = cursors["control"] = psycopg.Cursor(raw)
    return cur


def answers() -> None:
    """Have every statement queued so far answered now, in one round trip,
    inside `pipelined_atomic`'s pipeline (the lock and the reads that follow
    it); elsewhere nothing changes (a fetch asks for its own answer)."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    state = _transactions.get(connection.connection)
    if state is not None:
        with connection.wrap_database_errors:
            state.pipeline.sync()


def when_answered(func) -> None:
    """Call `func` (which reads results of statements already queued, such as
    `insert_returning`'s keys) once they are answered: inside
    `pipelined_atomic`, after the round trip that carries the COMMIT (so
    reading them costs none of its own), before the atomic block's on_commit
    hooks; elsewhere at once. Dropped if the transaction fails."""
    if connection.vendor == "postgresql" and connection.connection is not None:
        state = _transactions.get(connection.connection)
        if state is not None:
            state.answered.append(func)
            return
    func()


# Cursors kept per psycopg connection (see `kept`): creating a psycopg
# cursor cost about 35 us, as much as a small statement's own client time.
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cursors_of(raw) -> dict:
    """The cursors kept for one psycopg connection (made on first use)."""
    cursors = _kept.get(raw)
    if cursors is None:
        cursors = _kept[raw] = {}
    return cursors


class _Open:
    """`with` support for a kept cursor: leaving the block does not close it."""

    __slots__ = ("cursor",)

    def __init__(self, cursor) -> None:
        self.cursor = cursor

    def __enter__(self):
        return self.cursor

    def __exit__(self, *exc) -> None:
        return None


def kept(slot: int = 0):
    """A server-binding cursor that lives as long as the connection, for the
    hot path's fixed statements: slot 0 for statements whose result nobody
    reads (inserts and updates, fire and forget inside a pipeline), other
    slots for reads whose rows are fetched before the slot is used again.
    Use as `with kept() as cur:`; the cursor stays open. Django's wrapper is
    the one `connection.cursor()` would make (logging and counting when
    queries are logged, `wrapped`), kept with the cursor, one of each kind:
    a wrapper holds nothing but the cursor and the connection. A decision
    asks for a kept cursor about ten times, so this looks up Django's
    connection once (each attribute of `django.db.connection` is a lookup
    in a thread-local registry)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    raw = db.connection
    cursors = _cursors_of(raw)
    db.validate_thread_sharing()
    logged = db.queries_logged
    opened = cursors.get((slot, logged))
    if opened is None or opened.cursor.cursor.closed:
        cur = cursors.get(slot)
        if cur is None or cur.closed:
            cur = cursors[slot] = psycopg.Cursor(raw)
            _fast_timestamps(cur)
        wrapper = db.make_debug_cursor(cur) if logged else db.make_cursor(cur)
        opened = cursors[(slot, logged)] = _Open(wrapper)
    return opened


@lru_cache(maxsize=256)
def columns(model: type[Model], alias: str, without: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """A model's concrete fields for a fixed SELECT: their attribute names
    and the columns' SQL (`alias."column", ...`), leaving out the fields
    named in `without` (they load on first use, as with defer())."""
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if field.name not in without]
    names = [field.attname for field in fields]
    sql = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
    return names, sql


@lru_cache(maxsize=256)
def converters(model: type[Model], vendor: str) -> dict[str, tuple | None]:
    """What the ORM's compiler applies to raw column values (JSON decoding,
    SQLite's datetimes and booleans), per field's attribute name; None where
    nothing is."""
    result = {}
    for field in model._meta.concrete_fields:
        backend = connection.ops.get_db_converters(field.get_col(model._meta.db_table))
        own = [field.from_db_value] if hasattr(field, "from_db_value") else []
        result[field.attname] = tuple(backend + own) or None
    return result


def from_row(model: type[Model], names: list[str], values) -> Model:
    """A model instance from the column values of a fixed SELECT (`columns`),
    converted as the ORM converts them; fields not read are deferred."""
    convert_by_name = converters(model, connection.vendor)
    converted = []
    for name, value in zip(names, values, strict=True):
        functions = convert_by_name[name]
        if functions:
            for convert in functions:
                value = convert(value, None, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def _fast_timestamps(cur) -> None:
    """Read timestamptz columns with psycopg's own loader (C, with
    psycopg-binary) rather than Django's Python subclass of it, which parsed
    every timestamp of the hot path's rows in Python. Both give an aware
    datetime in the session's time zone, which Django sets to UTC."""
    oid = cur.adapters.types["timestamptz"].oid
    default = psycopg.adapters.get_loader(oid, Format.TEXT)
    if default is not None and connection.timezone_name == "UTC":
        cur.adapters.register_loader(oid, default)


# Rows per statement: well inside PostgreSQL's 65,535 parameters and
# SQLite's 32,766 for any govflow model.
BATCH = 500

# Fields whose ORM preparation hands PostgreSQL the attribute unchanged (for
# the values govflow sets: ints, strs and their enum subclasses, bools,
# aware datetimes): their values are read straight off the object. Any other
# field (JSON, sealed, IP address, auto_now...) goes through the ORM.
_PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.DateTimeField,
    models.ForeignKey,
)


def _plain(field) -> bool:
    if type(field) not in _PLAIN_FIELDS:
        return False
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    if isinstance(field, models.ForeignKey):
        return _plain(field.target_field)
    return True


@lru_cache(maxsize=256)
def preparers(model: type[Model], fields: tuple, vendor: str, add: bool):
    """One function per field giving its database value for an object (the
    ORM's pre_save + get_db_prep_save, minus the work that changes nothing)."""
    result = []
    for field in fields:
        if vendor == "postgresql" and _plain(field):
            getter = attrgetter(field.attname)
            if isinstance(field, models.DateTimeField):
                result.append(_aware(getter, field))
            else:
                result.append(getter)
        else:
            result.append(_orm(field, add))
    return tuple(result)


def _aware(getter, field):
    def prepare(obj):
        value = getter(obj)
        if value is None or value.tzinfo is not None:
            return value
        return field.get_db_prep_save(value, connection)  # naive: the ORM warns and converts

    return prepare


def _orm(field, add: bool):
    def prepare(obj):
        return field.get_db_prep_save(field.pre_save(obj, add=add), connection)

    return prepare


def values(objs, model: type[Model], fields: tuple, *, add: bool) -> list:
    prepare = preparers(model, fields, connection.vendor, add)
    return [fn(obj) for obj in objs for fn in prepare]


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[Model],
    rows: int,
    with_pk: bool,
    ignore_conflicts: bool,
    vendor: str,
    update_on: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    computed: tuple[tuple[str, str], ...] = (),
    update_where: str = "",
) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if with_pk or not f.primary_key)
    expressions = dict(computed)
    placeholders = "(" + ", ".join(expressions.get(f.name, "%s") for f in fields) + ")"
    verb = "INSERT OR IGNORE" if ignore_conflicts and vendor == "sqlite" else "INSERT"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts and vendor != "sqlite" else ""
    if update_on is not None:
        unique, update = update_on
        column = {f.name: f.column for f in model._meta.concrete_fields}
        targets = ", ".join(quote(column[name]) for name in unique)
        sets = ", ".join(f"{quote(column[name])} = EXCLUDED.{quote(column[name])}" for name in update)
        tail = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
        if update_where:
            tail += f" WHERE {update_where}"
    sql = (
        f"{verb} INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([placeholders] * rows)}{tail}"
    )
    return sql, fields


def insert_rows(
    objs: Sequence[Model],
    *,
    ignore_conflicts: bool = False,
    update_on: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    update_where: str = "",
    computed: Mapping[str, tuple[str, Callable[[Model], list]]] | None = None,
) -> None:
    """INSERT the objects of one model in one statement. Keys the caller set
    are written; keys the database generates are not read back, so use this
    only for rows whose key the caller sets or never needs. `update_on`
    (unique field names, field names to update) makes it an upsert, as
    bulk_create(update_conflicts=True) does; `update_where`, an SQL condition
    on the existing row (the table's name qualifies its columns), limits the
    update to the rows it holds for. `computed` gives a field an SQL
    expression in place of its value, {field name: (expression with %s
    placeholders, object -> their values)}: a key the database finds, such
    as that of a row inserted just before whose key has not come back."""
    if not objs:
        return
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    if any((obj.pk is not None) != with_pk for obj in objs):
        raise ValueError("either every object has its primary key set or none has")
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_rows")
    computed = computed or {}
    shapes = tuple(sorted((name, expression) for name, (expression, _params) in computed.items()))
    with kept() as cur:
        for start in range(0, len(objs), BATCH):
            batch = objs[start : start + BATCH]
            sql, fields = _insert_sql(
                model,
                len(batch),
                with_pk,
                ignore_conflicts,
                connection.vendor,
                update_on,
                shapes,
                update_where,
            )
            if not computed:
                cur.execute(sql, values(batch, model, fields, add=True))
                continue
            prepare = preparers(model, fields, connection.vendor, True)
            params = []
            for obj in batch:
                for field, fn in zip(fields, prepare, strict=True):
                    if field.name in computed:
                        params.extend(computed[field.name][1](obj))
                    else:
                        params.append(fn(obj))
            cur.execute(sql, params)


def update_row(obj: Model, names: tuple[str, ...]) -> None:
    """UPDATE one row by its key, the named fields only, asking nothing back:
    inside a pipeline it travels with the next statement that needs an
    answer. For a row the caller holds a lock on (it cannot have gone), so,
    unlike save(update_fields=...), it does not check that a row matched."""
    model = type(obj)
    sql, fields = _update_sql(model, names, connection.vendor)
    with kept() as cur:
        cur.execute(sql, [*values([obj], model, fields, add=False), obj.pk])


@lru_cache(maxsize=256)
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    return sql, fields


def insert_returning(objs: Sequence[Model]):
    """Queue an INSERT of objects whose keys the database generates; returns a
    function that, called later, reads the keys back into the objects (and
    returns them). Inside a pipeline the statement travels with the next
    statement whose result is needed, so several such inserts and a SELECT
    cost one round trip between them."""
    if not objs:
        return lambda: []
    model = type(objs[0])
    returning = f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    pending = []  # (batch, its cursor): each statement keeps its own result
    for start in range(0, len(objs), BATCH):
        batch = list(objs[start : start + BATCH])
        for obj in batch:
            # An unsaved object assigned to a foreign key (a timer's task)
            # lends its key now, as the ORM's save() would.
            obj._prepare_related_fields_for_save(operation_name="insert_returning")
        sql, fields = _insert_sql(model, len(batch), False, False, connection.vendor)
        cur = _lent()
        cur.execute(sql + returning, values(batch, model, fields, add=True))
        pending.append((batch, cur))

    def done() -> list:
        while pending:
            batch, cur = pending.pop(0)
            _assign(batch, cur.fetchall())
            _given_back(cur)
        return [obj.pk for obj in objs]

    return done


def _lent():
    """A server-binding cursor of the connection's own, lent until its rows
    are read (`_given_back`): statements whose results are read later, each
    on a cursor of its own (two or three per decision), without making a
    psycopg cursor each time. Elsewhere than on PostgreSQL, a new cursor."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    raw = db.connection
    cursors = _cursors_of(raw)
    free = cursors.setdefault("lent", [])
    while free:
        cur = free.pop()
        if not cur.closed:
            return wrapped(cur)
    return wrapped(psycopg.Cursor(raw))


def _given_back(wrapper) -> None:
    """A lent cursor whose rows were read, back for the next statement (a
    cursor lent and never given back, by a transaction that failed, is
    simply dropped)."""
    raw = wrapper.cursor
    if not isinstance(raw, psycopg.Cursor) or raw.closed:
        wrapper.close()
        return
    cursors = _kept.get(raw.connection)
    if cursors is None:
        raw.close()
        return
    cursors.setdefault("lent", []).append(raw)


def copy_rows(objs: Sequence[Model]) -> None:
    """Write new rows of one model with PostgreSQL's COPY (several times
    faster than INSERT for the hundreds of thousands of rows of a seeded
    history); every object has its key set. JSON values are prepared by their
    field as save() would (`Case.data` seals its secret values there), enum
    members go as their value, anything else as it is. PostgreSQL only."""
    if not objs:
        return
    model = type(objs[0])
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    json = [isinstance(f, JSONField) for f in fields]
    names = [f.attname for f in fields]
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in objs:
            values = []
            for name, field, is_json in zip(names, fields, json, strict=True):
                value = getattr(row, name)
                if is_json:
                    value = field.get_db_prep_save(field.pre_save(row, True), connection)
                elif isinstance(value, Enum):
                    value = value.value
                values.append(value)
            copy.write_row(values)


def _assign(batch, rows) -> None:
    for obj, (key,) in zip(batch, rows, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


def on_commit_pending(func) -> bool:
    """Whether `func`, given to transaction.on_commit, still waits for this
    connection's commit: False once it ran (the commit) or was dropped (a
    rollback of the transaction, or of the savepoint it was registered in).
    Reads Django's private list of pending callbacks (entries are
    (savepoint ids, func, robust)); tests/cases/test_rawsql.py checks its
    shape."""
    return connection.in_atomic_block and any(entry[1] is func for entry in connection.run_on_commit)


class RoundTrips:
    """How many times this thread waited for PostgreSQL's answer (see
    `round_trips`); `stacks` holds where each wait came from when asked."""

    __slots__ = ("_trace", "count", "stacks")

    def __init__(self, trace: bool) -> None:
        self.count = 0
        self.stacks: list[str] = []
        self._trace = trace


@contextmanager
def round_trips(*, trace: bool = False) -> Iterator[RoundTrips]:
    """Count the round trips to PostgreSQL made by this thread inside the
    block: every time psycopg waited for the server to answer (a statement
    outside a pipeline, a pipeline's sync or its fetch of results). Work that
    needs no answer (a statement queued in a pipeline, a COMMIT of a
    transaction already ended) is not one. For tests and benchmarks: it wraps
    psycopg's wait function (`psycopg.waiting.wait`, which the connection
    looks up on each call) for the block's duration. `trace` keeps a stack
    per round trip. An answer that had already arrived when psycopg looked
    for it (a client slowed down by a busy machine) is not waited for, so
    not counted: a count is at most the true number, never more."""
    counted = RoundTrips(trace)
    thread = threading.get_ident()
    original = waiting.wait

    def wait(gen, fileno, *args, **kwargs):
        if threading.get_ident() == thread:
            gen = _counting(gen, counted)
        return original(gen, fileno, *args, **kwargs)

    waiting.wait = wait
    try:
        yield counted
    finally:
        waiting.wait = original


def _counting(gen, counted: RoundTrips):
    """The generator `gen`, counting one round trip if it waits for an
    answer: for reading only (psycopg waits for reading or writing while it
    sends, and reads whatever answers are already there on the way)."""
    try:
        state = next(gen)
        read = False
        while True:
            if not read and state == _WAIT_READ:
                read = True
                counted.count += 1
                if counted._trace:
                    counted.stacks.append("".join(traceback.format_stack(limit=14)[:-3]))
            ready = yield state
            state = gen.send(ready)
    except StopIteration as stop:
        return stop.value


_WAIT_READ = int(waiting.Wait.R)
