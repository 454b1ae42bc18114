"""template_check remembers its answers for a text, the active departments
and the handlers together: a designer operation checks the text the page
showed again, and the construction permit costs half a second a check. A
department switched off or a handler registered must still be seen at once."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings

from govflow.accounts.models import Department
from govflow.engine import loader
from govflow.web import selectors
from govflow.web.selectors import template_check

FOOD = (Path(settings.BASE_DIR) / "workflows" / "food_business_licence.yaml").read_text(encoding="utf-8")

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted():
    selectors._checked.cache_clear()
    with mock.patch.object(selectors, "check_definition", wraps=loader.check_definition) as checks:
        yield checks
    selectors._checked.cache_clear()


def test_the_same_text_is_checked_once(counted):
    first = template_check(FOOD)
    again = template_check(FOOD)

    assert counted.call_count == 1
    assert first[1] == again[1] == []
    assert first[0] is again[0]  # the same frozen definition
    again[1].append("a caller's own list")  # a caller's list is its own
    assert template_check(FOOD)[1] == []


def test_a_department_switched_off_is_seen_by_the_next_check(counted):
    assert template_check(FOOD)[1] == []
    used = Department.objects.get(code="market_regulation")
    used.is_active = False
    used.save(update_fields=["is_active"])

    definition, problems = template_check(FOOD)

    assert counted.call_count == 2
    assert definition is None or problems
    assert any("market_regulation" in problem.message for problem in problems)


def test_another_text_is_checked_anew(counted):
    template_check(FOOD)
    template_check(FOOD + "\n")

    assert counted.call_count == 2
