"""Settings for the test suite.

Database tests run on PostgreSQL (DATABASE_URL, default the local server at
127.0.0.1:5432, database `test`). When PostgreSQL cannot be reached the suite
falls back to SQLite and tests marked `postgres` skip, unless CI=true, where a
missing service fails the run (tests/conftest.py)."""

import os

import dj_database_url

from .base import *  # noqa: F403
from .base import REDIS_TRANSPORT_OPTIONS, VAR_DIR

SECRET_KEY = "govflow-test-key"
DEBUG = False
GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY = True
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
TEST_DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
TEST_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def _postgres_reachable(url: str) -> bool:
    try:
        import psycopg  # noqa: PLC0415 - settings module: psycopg only to probe the test database

        params = dj_database_url.parse(url)
        with psycopg.connect(
            host=params["HOST"] or None,
            port=params["PORT"] or None,
            user=params["USER"] or None,
            password=params["PASSWORD"] or None,
            dbname=params["NAME"],
            connect_timeout=2,
        ):
            return True
    except Exception:
        return False


IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
POSTGRES_AVAILABLE = TEST_DATABASE_URL.startswith("postgres") and _postgres_reachable(TEST_DATABASE_URL)
if POSTGRES_AVAILABLE or IN_CI:
    # Under CI the suite never falls back: a missing PostgreSQL fails the run.
    DATABASES = {"default": dj_database_url.parse(TEST_DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"] = {"prepare_threshold": 5}  # as in base.py
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "test.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }

# The fault tests (tests/faults) start real workers with these settings and
# give them a Redis broker of their own here; everything else uses memory.
CELERY_BROKER_URL = os.environ.get("GOVFLOW_TEST_BROKER_URL") or "memory://"
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS
CELERY_TASK_ALWAYS_EAGER = False
MEDIA_ROOT = VAR_DIR / "test-media"
# The suite's webhook receivers listen on 127.0.0.1 (tests/webhooks/conftest.py);
# tests/security/test_webhook_targets.py runs with no exception.
GOVFLOW_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
# Rate limits count per user across the whole run; tests/security turns them on.
GOVFLOW_RATE_LIMITS_ENABLED = False
# Test signing keys and certificate files, apart from the demo's var/keys.
GOVFLOW_KEYS_DIR = VAR_DIR / "test-keys"
GOVFLOW_CERTIFICATES_DIR = VAR_DIR / "test-certificates"
# The public development keys for personal data (govflow.security.crypto);
# the embedded default warns about them (govflow.W301), the tests need not.
SILENCED_SYSTEM_CHECKS = ["govflow.W301"]
GOVFLOW_DATA_KEYS = ["Z292Zmxvdy1kZXZlbG9wbWVudC1kYXRhLWtleS0wMDE="]
GOVFLOW_DATA_HMAC_KEY = "Z292Zmxvdy1kZXZlbG9wbWVudC1obWFjLWtleS0wMDE="
