"""Ids in addresses: a number that cannot name a row answers 404 on every
supported database, never a 500 (govflow.converters). SQLite raised
OverflowError for POST /api/v1/tasks/4058615727981329609916416/decide/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from govflow.api.errors import not_found as api_not_found
from govflow.converters import MAX_ID, IdConverter
from tests.api.conftest import api_client, assert_error

ROOT = Path(__file__).resolve().parents[1]
HUGE = "4058615727981329609916416"


def test_the_converter_takes_every_64_bit_id_and_nothing_larger():
    converter = IdConverter()

    assert converter.to_python("1") == 1
    assert converter.to_python(str(MAX_ID)) == 2**63 - 1
    assert converter.to_python("007") == 7
    with pytest.raises(ValueError):
        converter.to_python(str(MAX_ID + 1))
    assert re.fullmatch(converter.regex, HUGE) is None  # 25 digits: no match at all
    assert re.fullmatch(converter.regex, "-1") is None
    assert converter.to_url(42) == "42"


def _routes(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


SAMPLES = {"str": "GF0000AAAA", "slug": "business_setup", "ref": "GF0000AAAA", "path": "x"}


def _address(route: str, number: str) -> str:
    def fill(match: re.Match) -> str:
        kind = match[1]
        return number if kind in ("id", "int") else SAMPLES[kind]

    return "/" + re.sub(r"<(\w+):\w+>", fill, route)


def test_no_address_hands_a_view_a_number_beyond_64_bits():
    numbered = [r for r in _routes(get_resolver().url_patterns) if "<id:" in r or "<int:" in r]
    assert len(numbered) > 20  # tasks, attachments, webhooks, catalogue requests, versions...
    reached = []

    for route in numbered:
        for number in (HUGE, str(MAX_ID + 1)):
            try:
                match = resolve(_address(route, number))
            except Resolver404:
                continue
            if match.func is not api_not_found:
                reached.append((route, number))

    assert reached == []
    assert [r for r in numbered if "<int:" in r] == []  # every number in an address is an <id:...>


@pytest.mark.django_db
def test_out_of_range_ids_answer_404_on_postgresql(base_data, market_reviewer, process_admin):
    reviewer = api_client(market_reviewer)
    web = Client()
    web.force_login(market_reviewer)
    admin = Client()
    admin.force_login(process_admin)

    for number in (HUGE, str(MAX_ID + 1), str(MAX_ID)):
        assert_error(
            reviewer.post(f"/api/v1/tasks/{number}/decide/", {"outcome": "approve"}, format="json"),
            404,
            "not_found",
        )
        assert_error(reviewer.get(f"/api/v1/tasks/{number}/"), 404, "not_found")
        assert_error(reviewer.get(f"/api/v1/services/business_setup/versions/{number}/"), 404, "not_found")
        assert web.post(f"/inbox/tasks/{number}/decide/", {"outcome": "approve"}).status_code == 404
        assert admin.get(f"/webhooks/{number}/").status_code == 404
        assert admin.get(f"/console/templates/business_setup/v{number}/").status_code == 404
        assert admin.get(f"/bpmn/templates/business_setup/v{number}.bpmn").status_code == 404


SQLITE_SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    assert connection.vendor == "sqlite"
    from govflow.demo import load_base

    call_command("migrate", verbosity=0)
    load_base()
    users = get_user_model().objects
    reviewer = users.get(username="market_regulation_reviewer")
    token = Token.objects.create(user=reviewer).key
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION="Token " + token)
    web = Client(raise_request_exception=False)
    web.force_login(reviewer)
    admin = Client(raise_request_exception=False)
    admin.force_login(users.get(username="admin"))
    for number in ("{huge}", "{over}", "{max}"):
        print(api.post("/api/v1/tasks/" + number + "/decide/", {{"outcome": "approve"}},
                       content_type="application/json").status_code)
        print(api.get("/api/v1/tasks/" + number + "/").status_code)
        print(web.post("/inbox/tasks/" + number + "/decide/", {{"outcome": "approve"}}).status_code)
        print(admin.get("/webhooks/deliveries/" + number + "/").status_code)
        print(admin.get("/bpmn/templates/business_setup/v" + number + ".bpmn").status_code)
    """
)


@pytest.mark.slow
def test_out_of_range_ids_answer_404_on_sqlite(tmp_path):
    # The embedded default (make run): its own SQLite file, migrated here.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="govflow.settings.local",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="testserver",
        GOVFLOW_VAR_DIR=str(tmp_path),
        GOVFLOW_LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT),
    )
    script = SQLITE_SCRIPT.format(huge=HUGE, over=MAX_ID + 1, max=MAX_ID)

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr[-3000:]
    statuses = done.stdout.split()
    assert statuses == ["404"] * 15, done.stderr[-3000:]
