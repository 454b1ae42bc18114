"""A fresh database for a benchmark: every script measures on one of its
own, dropped and created anew, so no run inherits another's rows.

    from fresh import recreate_database, django_on_fresh_database
"""

from __future__ import annotations

import os


def _admin(database_url: str) -> tuple[str, str]:
    base, name = database_url.rsplit("/", 1)
    return f"{base}/postgres", name


def recreate_database(database_url: str) -> None:
    """Drop the URL's database (disconnecting whoever is on it) and create it empty."""
    import psycopg

    admin, name = _admin(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    admin, name = _admin(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_on_fresh_database(database_url: str, **environment: str) -> None:
    """Django set up on a new database: the local settings (an in-memory
    broker, no debug) unless the environment says otherwise, `environment`
    on top, every migration applied and the demo's base data (departments,
    people, calendar) loaded."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.local")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("GOVFLOW_LOG_LEVEL", "WARNING")
    os.environ.update(environment)
    recreate_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from govflow.demo import load_base

    load_base()


def analyze(database_url: str) -> None:
    """ANALYZE every table: a running installation's tables have planner
    statistics (autovacuum keeps them), a fresh database's have none until
    autovacuum's first pass, a minute or more into a run, and a statement
    prepared before then keeps the plan made without them (the signing
    history's read scanned every completed task; bench/compare.py)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")
