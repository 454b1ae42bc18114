"""reconcile: silent on a healthy database; one line per inconsistency."""

from datetime import timedelta

import pytest

from govflow.cases.automation import timers_fire_due
from govflow.cases.reconcile import reconcile
from govflow.outbox.services import outbox_drain

from .conftest import live_task

pytestmark = pytest.mark.django_db


def test_a_healthy_database_reports_nothing(submitted_case, now):
    outbox_drain()
    assert reconcile(now=now + timedelta(minutes=5)) == []


def test_an_undelivered_outbox_row_is_reported_after_a_minute(submitted_case, now):
    assert reconcile(now=now + timedelta(seconds=30)) == []
    (line,) = reconcile(now=now + timedelta(minutes=2))
    intake = live_task(submitted_case, "intake")
    assert line == f"outbox {submitted_case.pk}:{intake.engine_id}:created: not delivered after 0 attempt(s)"


def test_a_timer_left_unfired_is_reported_and_firing_it_clears_the_report(submitted_case, now):
    outbox_drain()
    later = now + timedelta(days=10)
    problems = reconcile(now=later)
    assert len(problems) == 2
    assert all("not fired (is beat running?)" in p for p in problems)
    timers_fire_due(now=later)
    outbox_drain()
    assert reconcile(now=later) == []


def test_a_certificate_reserved_but_never_issued_is_reported(submitted_case, now):
    from govflow.accounts.models import Department
    from govflow.certificates.models import Certificate, CertificateStatus

    outbox_drain()
    certificate = Certificate.objects.create(
        number="MR-2026-009999",
        issue_key=f"{submitted_case.pk}:end:business_license:certificate",
        case=submitted_case,
        node_id="end",
        type="business_license",
        title_zh="营业执照",
        department=Department.objects.first(),
        issued_at=now,
    )
    Certificate.objects.filter(pk=certificate.pk).update(created_at=now - timedelta(minutes=3))
    assert reconcile(now=now) == []  # a worker may still be rendering it
    Certificate.objects.filter(pk=certificate.pk).update(created_at=now - timedelta(minutes=11))
    (line,) = reconcile(now=now)
    assert line.startswith(f"certificate MR-2026-009999 of case {submitted_case.reference}: reserved at ")
    assert line.endswith("but not issued (see its outbox row and incidents)")
    Certificate.objects.filter(pk=certificate.pk).update(status=CertificateStatus.VALID)
    assert reconcile(now=now) == []
