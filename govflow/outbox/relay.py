"""The outbox relay: the one process that hands committed outbox rows to the
broker, so that no request waits on it (docs/deploy.md, "Roles").

The relay looks for waiting rows every `poll_seconds` (POLL_SECONDS, 0.05
s, by default: a query on a small partial index) and publishes them,
`BATCH` rows per broker message, until nothing is left. On PostgreSQL it
also LISTENs on `CHANNEL` on a connection of its own: an insert into the
outbox NOTIFYs it (a statement trigger, migrations 0005-0007, part of the
inserting transaction, so heard only once that transaction commits) where
`govflow.outbox_notify` is 'on' for the database or session. That is off
by default: notifying commits cannot share a WAL flush, and parallel
writers committed up to twice as fast with the relay polling instead
(bench/relay_modes.py, docs/deploy.md). What a relay publishes and
the broker then loses, the sweeper (`outbox_resend_stale`, on beat) sends
again; rows waiting while no relay runs at all are sent by the sweeper too.

Several relays may run (SKIP LOCKED shares the rows); one is enough.
The LISTEN connection must reach PostgreSQL directly or through a
session-mode pool: a transaction-mode pooler does not carry LISTEN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress

import psycopg
from django.db import DatabaseError, close_old_connections, connection

from .services import outbox_relay_batch

log = logging.getLogger(__name__)

CHANNEL = "govflow_outbox"
BATCH = 100
# Seconds between looks for waiting rows (a NOTIFY, where switched on, wakes it sooner).
POLL_SECONDS = 0.05
# After a failure (broker or database unreachable) the relay waits this
# long before trying again; the rows wait in the table meanwhile.
RETRY_SECONDS = 1.0


def relay_drain(*, batch: int = BATCH) -> int:
    """Publish every row waiting now; returns how many."""
    published = 0
    while True:
        count = outbox_relay_batch(limit=batch)
        published += count
        if count < batch:
            return published


class Listener:
    """A connection of its own LISTENing on `CHANNEL` (PostgreSQL), or a
    plain sleep (other databases)."""

    def __init__(self) -> None:
        self.conn = None

    def open(self) -> None:
        if connection.vendor != "postgresql":
            return
        self.close()

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        self.conn = conn

    def wait(self, seconds: float) -> bool:
        """Block until a signal or `seconds`; True when signalled."""
        if self.conn is None:
            time.sleep(seconds)
            return False
        heard = False
        for _ in self.conn.notifies(timeout=seconds, stop_after=1):
            heard = True
        return heard

    def close(self) -> None:
        if self.conn is not None:
            with suppress(Exception):
                self.conn.close()
        self.conn = None


def relay_run(
    *,
    poll_seconds: float = POLL_SECONDS,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = lambda: False,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """Run until `should_stop()` says so (checked at least every
    `poll_seconds`). Never gives up: an unreachable broker or database is
    logged once per outage and tried again every RETRY_SECONDS."""
    listener = Listener()
    failing = False
    ready = False
    try:
        while not should_stop():
            try:
                if listener.conn is None:
                    listener.open()  # before the drain: a commit after it is heard
                relay_drain(batch=batch)
            except Exception as exc:  # the relay outlives any outage
                if not failing:
                    log.warning(
                        "outbox relay cannot publish (%s); trying again every %g s", exc, RETRY_SECONDS
                    )
                failing = True
                if isinstance(exc, DatabaseError):
                    listener.close()
                    close_old_connections()
                    with suppress(Exception):
                        connection.close()
                time.sleep(RETRY_SECONDS)
                continue
            if failing:
                log.warning("outbox relay publishing again")
                failing = False
            if not ready:
                ready = True
                on_ready()
            try:
                listener.wait(poll_seconds)
            except Exception as exc:  # the LISTEN connection was lost: open another
                log.warning("outbox relay lost its LISTEN connection (%s)", exc)
                listener.close()
    finally:
        listener.close()
