"""The timer sweep: a timer the engine refuses is set aside with its reason
(and reported), never retried in a loop, and does not hold back the others."""

from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases import automation
from govflow.cases.automation import timers_fire_due
from govflow.cases.reconcile import reconcile
from govflow.cases.services import case_create, case_submit
from govflow.engine import IllegalEvent
from govflow.outbox.services import outbox_drain
from govflow.timers.models import Timer

from .conftest import GOOD_DATA

pytestmark = pytest.mark.django_db


def test_a_timer_the_engine_refuses_is_set_aside_and_reported(review_template, applicant, now, monkeypatch):
    cases = []
    for _ in range(3):
        case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
        cases.append(case_submit(case_id=case.pk, actor=applicant, now=now))
    poison = Timer.objects.get(case=cases[1], kind="sla_breach")
    real_advance = automation.advance

    def advance(case, event, changes, **kwargs):
        if case.pk == poison.case_id and getattr(event, "timer_id", None) == poison.engine_id:
            raise IllegalEvent("the node has no breach behaviour (test)")
        return real_advance(case, event, changes, **kwargs)

    monkeypatch.setattr(automation, "advance", advance)
    later = now + timedelta(days=10)

    assert timers_fire_due(now=later, batch=4) == 5
    assert timers_fire_due(now=later) == 0  # not tried again

    poison.refresh_from_db()
    assert poison.status == Timer.PENDING
    assert poison.problem.startswith("cannot fire: the node has no breach")
    assert AuditEvent.objects.filter(action="TIMER_FIRED").count() == 5
    outbox_drain()
    (line,) = reconcile(now=later)
    assert f"timer {poison.engine_id} of case {cases[1].reference}" in line
    assert "cannot fire" in line
