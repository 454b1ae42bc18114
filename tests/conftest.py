"""Shared fixtures: services (PostgreSQL, Redis), base data and personas.

Database tests run on PostgreSQL. Without it (and without CI=true) they run on
SQLite, and tests marked `postgres` skip with one line saying how to run them;
under CI=true a missing PostgreSQL or Redis fails instead.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Property tests: thorough in CI, quick on a developer's machine. CI keeps
# Hypothesis's own ci profile (derandomized, so a red run replays; no deadline
# on a shared machine) with five times the examples. HYPOTHESIS_PROFILE=ci or
# dev chooses. Tests that set max_examples themselves (costly examples) keep
# that count in all.
hypothesis_settings.register_profile("ci", hypothesis_settings.get_profile("ci"), max_examples=500)
hypothesis_settings.register_profile("dev", hypothesis_settings.get_profile("default"), max_examples=50)
# `make test-dates` runs the suite again on other dates to find what a date
# breaks; the depth of the properties is make test's job, so there the ci
# profile keeps Hypothesis's default number of examples.
hypothesis_settings.register_profile("dated", hypothesis_settings.get_profile("ci"), max_examples=100)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


def _missing(service: str, how: str) -> None:
    if IN_CI:
        pytest.fail(f"{service} is required under CI=true but is not reachable ({how})")
    pytest.skip(f"needs {service}: {how}")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the configured language (Chinese): a request or
    command of an earlier test in the same worker must not leave English
    active, or what a command prints would depend on the test order."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (rate-limit counters, the
    webhooks' active-kinds entry): rolled-back rows must not leave traces."""
    from django.core.cache import cache

    from govflow.timers.services import calendar_invalidate

    cache.clear()
    # The working calendar is cached per process; a year an earlier test
    # loaded in its rolled-back transaction must not count here.
    calendar_invalidate()
    return


@pytest.fixture(autouse=True)
def _own_certificate_files(settings, tmp_path):
    """Each test writes its certificates and letters into a folder of its
    own: every xdist worker's database numbers them from MR-…-000001, so in
    one shared folder a worker could read another's licence of the same
    number."""
    settings.GOVFLOW_CERTIFICATES_DIR = tmp_path / "certificates"


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres") and not settings.POSTGRES_AVAILABLE:
        _missing("PostgreSQL", f"start it or set DATABASE_URL (tried {settings.TEST_DATABASE_URL})")
    if request.node.get_closest_marker("redis"):
        import redis

        try:
            redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
        except Exception:
            _missing("Redis", f"start redis-server or set REDIS_URL (tried {settings.TEST_REDIS_URL})")


def pytest_configure(config):
    config.addinivalue_line("markers", "redis: needs Redis (fails under CI=true when it is missing)")


@pytest.fixture
def base_data(db):
    """Departments, users, calendar and templates; loaded once per database
    and again after a transactional test flushed them."""
    from django.contrib.auth import get_user_model

    from govflow.accounts.models import Department
    from govflow.demo import load_base
    from govflow.processes.models import ProcessTemplate

    if not (Department.objects.exists() and ProcessTemplate.objects.exists()):
        load_base()
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from govflow.demo import load_base

    with django_db_blocker.unblock():
        load_base()


def _user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


@pytest.fixture
def applicant(base_data):
    return base_data["applicant"]


@pytest.fixture
def other_applicant(base_data):
    from govflow.demo import ensure_user

    return ensure_user("applicant2", password="x", groups=("applicant",))


@pytest.fixture
def market_reviewer(base_data):
    return base_data["market_regulation_reviewer"]


@pytest.fixture
def fire_reviewer(base_data):
    return base_data["fire_reviewer"]


@pytest.fixture
def process_admin(base_data):
    return base_data["admin"]


@pytest.fixture
def now():
    """A fixed working-day moment: Tuesday 2026-03-03 10:00 Beijing time."""
    return datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
