"""The leader dashboard's figures of cases over the promise (承诺时限) and
over the statutory limit (法定时限): open cases past their due date and cases
that ended late, with the clock pinned."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from govflow.cases.services import case_withdraw
from govflow.insight.selectors import Filters, cases_over_limit, dashboard_get
from govflow.timers.services import calendar_invalidate
from govflow.timers.tasks import sweep
from tests.cases.test_case_limits import ACCEPTED, PROMISE_DUE, food_case

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]
APRIL = Filters(start=date(2026, 4, 1), end=date(2026, 4, 30))


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


def test_open_cases_past_their_due_and_cases_that_ended_late_are_counted(base_data):
    # Three food licences accepted on 1 April: all due 16 April 17:00
    on_time, _open_late, ended_late = (food_case(base_data) for _ in range(3))
    applicant = base_data["applicant"]
    case_withdraw(case_id=on_time.pk, actor=applicant, now=ACCEPTED + timedelta(days=1))

    before = PROMISE_DUE - timedelta(minutes=1)
    assert cases_over_limit(APRIL, "case_promise", before).total == 0
    # due and not swept yet: over already (the withdrawn one's limit was cancelled)
    assert cases_over_limit(APRIL, "case_promise", PROMISE_DUE).open == 2

    # The sweep fires the limits; one case ends after them
    with time_machine.travel(PROMISE_DUE, tick=False):
        sweep()
    case_withdraw(case_id=ended_late.pk, actor=applicant, now=PROMISE_DUE + timedelta(days=1))

    later = PROMISE_DUE + timedelta(days=2)
    board = dashboard_get(filters=APRIL, now=later)
    assert (board.totals.over_promise.open, board.totals.over_promise.ended) == (1, 1)
    assert (board.totals.over_statutory.open, board.totals.over_statutory.ended) == (1, 1)
    # an end outside the period is not counted
    may = Filters(start=date(2026, 5, 1), end=date(2026, 5, 31))
    assert cases_over_limit(may, "case_promise", later).ended == 0

    client = Client()
    client.force_login(base_data["leader"])
    with time_machine.travel(later, tick=False):
        page = client.get("/insight/?from=2026-04-01&to=2026-04-30")
    html = page.content.decode()
    assert page.status_code == 200
    promise = html[html.index('id="over-promise"') :]
    assert promise[: promise.index("</li>")].count("<strong>2</strong>") == 1
    statutory = html[html.index('id="over-statutory"') :]
    assert "在办 1 件，超期办结 1 件" in statutory[: statutory.index("</li>")]
