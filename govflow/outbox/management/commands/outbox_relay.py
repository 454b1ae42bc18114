"""outbox_relay — publish committed outbox rows to the broker (the relay
role, govflow.outbox.relay); runs until SIGTERM or SIGINT."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from govflow.outbox.relay import BATCH, CHANNEL, POLL_SECONDS, relay_run


class Command(BaseCommand):
    help = "Publish committed outbox rows to the broker in batches (polling; LISTEN/NOTIFY if switched on)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll",
            type=float,
            default=POLL_SECONDS,
            help=f"seconds between looks for waiting rows (default {POLL_SECONDS:g}; a NOTIFY, "
            "when switched on with govflow.outbox_notify = 'on', wakes it sooner)",
        )
        parser.add_argument("--batch", type=int, default=BATCH, help="rows per broker message")

    def handle(self, *args, poll, batch, **options):
        if getattr(settings, "DATABASE_TRANSACTION_POOLING", False):
            raise CommandError(
                "DATABASE_TRANSACTION_POOLING is set: the relay LISTENs, which needs a direct (or "
                "session-mode pooled) PostgreSQL connection (docs/deploy.md, 'PgBouncer')"
            )
        stopping: list[int] = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        def ready():
            how = f"LISTEN {CHANNEL}" if _listens() else "polling"
            self.stdout.write(f"outbox relay ready ({how}, every {poll:g} s at the latest)")
            self.stdout.flush()

        relay_run(poll_seconds=poll, batch=batch, should_stop=lambda: bool(stopping), on_ready=ready)


def _listens() -> bool:
    return connection.vendor == "postgresql"
