"""The `manage.py` entry point: Django's command line, with one rule of
govflow's own. When the database or the message broker cannot be reached,
or the database has no govflow tables yet, a command says so in one line
on stderr and exits 3, instead of a Django traceback. An operator running
`reconcile` or `check_calendar` from cron during an outage then reads what
is wrong, and the monitoring that watches the exit code sees "could not
run" apart from "ran and found something" (exit 1 or 2).

Errors of any other kind keep Django's behaviour: they are bugs, and their
traceback is what a developer needs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_UNAVAILABLE = 3


def _names_a_missing_table(text: str) -> bool:
    # SQLite: "no such table: x"; PostgreSQL: 'relation "x" does not exist'.
    return text.startswith("no such table") or (text.startswith("relation ") and "does not exist" in text)


def unavailable_message(exc: BaseException) -> str | None:
    """The one line to print for `exc`, or None when `exc` is not an
    outage or a missing schema (and so must propagate)."""
    from django.db import InterfaceError, OperationalError, ProgrammingError  # noqa: PLC0415 - entry point: Django loads once a command runs
    from django.utils.translation import gettext as _  # noqa: PLC0415 - entry point: Django loads once a command runs

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (OperationalError, ProgrammingError)) and _names_a_missing_table(text):
        return _(
            "The database has no govflow tables yet ({detail}). Run `python manage.py migrate` first."
        ).format(detail=text)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return _(
            "The database cannot be reached ({detail}). Check DATABASE_URL and that PostgreSQL is running, "
            "then run the command again."
        ).format(detail=text)
    if _is_broker_outage(exc):
        return _(
            "The message broker cannot be reached ({detail}). Check REDIS_URL / CELERY_BROKER_URL and that "
            "Redis is running, then run the command again."
        ).format(detail=text)
    return None


def _is_broker_outage(exc: BaseException) -> bool:
    try:
        from kombu.exceptions import OperationalError as KombuOperationalError  # noqa: PLC0415 - entry point: Django loads once a command runs
        from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: PLC0415 - entry point: Django loads once a command runs
        from redis.exceptions import TimeoutError as RedisTimeoutError  # noqa: PLC0415 - entry point: Django loads once a command runs
    except ImportError:  # pragma: no cover - both are dependencies
        return False
    return isinstance(exc, (KombuOperationalError, RedisConnectionError, RedisTimeoutError))


def main(argv: Sequence[str] | None = None) -> None:
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - entry point: Django loads once a command runs

    argv = list(sys.argv if argv is None else argv)
    try:
        execute_from_command_line(argv)
    except Exception as exc:
        if "--traceback" in argv:
            raise
        message = _in_language(_language_option(argv), unavailable_message, exc)
        if message is None:
            raise
        command = argv[1] if len(argv) > 1 else "manage.py"
        sys.stderr.write(f"{command}: {message}\n")
        sys.exit(EXIT_UNAVAILABLE)


def _language_option(argv: Sequence[str]) -> str | None:
    """The value of `--language X` / `--language=X` (govflow.command_language), if given."""
    for i, arg in enumerate(argv):
        if arg == "--language" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--language="):
            return arg.split("=", 1)[1]
    return None


def _in_language(language: str | None, function, *args):
    """function(*args) with `language` active (the outage line in the language the command was asked for)."""
    from django.conf import settings  # noqa: PLC0415 - entry point: Django loads once a command runs
    from django.utils import translation  # noqa: PLC0415 - entry point: Django loads once a command runs

    if language not in {code for code, _name in settings.LANGUAGES}:
        return function(*args)
    with translation.override(language):
        return function(*args)
