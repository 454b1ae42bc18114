"""Issuing: one number and one PDF per request however often it is
delivered; numbers per department and year; no certificate for a withdrawn
case; nothing taken when a department has no key."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.reconcile import reconcile
from govflow.certificates.models import Certificate, CertificateSequence, CertificateStatus
from govflow.certificates.numbering import number_prefix
from govflow.certificates.services import certificate_issue, certificate_reserve
from govflow.errors import ConfigurationError
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import consumers, outbox_handle

from .conftest import certificate_path, construction_case

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


def test_a_redelivered_message_gives_the_same_certificate_number_and_pdf(business_case, licence):
    # Given the licence issued from its outbox row
    row = OutboxMessage.objects.get(topic="certificate", payload__type="business_licence")
    assert row.done_at is not None
    assert row.key == licence.issue_key
    before = certificate_path(licence).read_bytes()
    # When the broker delivers the same message again (the consumer runs twice more)
    consumer = consumers()["certificate"]
    consumer(dict(row.payload), row.key)
    consumer(dict(row.payload), row.key)
    # Then there is still one certificate, same number, same file
    assert Certificate.objects.filter(case=business_case, type="business_licence").count() == 1
    again = Certificate.objects.get(case=business_case, type="business_licence")
    assert again.number == licence.number
    assert certificate_path(again).read_bytes() == before
    assert hashlib.sha256(before).hexdigest() == again.sha256
    assert AuditEvent.objects.filter(action="CERTIFICATE_ISSUED", object_id=licence.number).count() == 1
    assert outbox_handle(row.pk) is False  # the row itself is done


def test_a_worker_that_died_after_taking_the_number_is_finished_under_that_number(keys, users, now):
    case = construction_case(users, now)
    key = f"{case.pk}:s2_approved:construction_planning_permit:certificate"
    # Given a delivery that reserved the number and died before rendering
    reserved = certificate_reserve(
        case_id=case.pk, node_id="s2_approved", cert_type="construction_planning_permit", key=key
    )
    assert reserved.status == CertificateStatus.PENDING
    assert not reserved.file
    # When the message is delivered again
    issued = certificate_issue(
        case_id=case.pk, node_id="s2_approved", cert_type="construction_planning_permit", key=key
    )
    # Then it is finished under the number it already had
    assert issued.pk == reserved.pk
    assert issued.number == reserved.number
    assert issued.status == CertificateStatus.VALID
    assert certificate_path(issued).exists()


def test_reconcile_reports_a_certificate_reserved_and_never_issued(keys, users, now):
    # Given a delivery that reserved a number and died before rendering
    case = construction_case(users, now)
    reserved = certificate_reserve(
        case_id=case.pk,
        node_id="s2_approved",
        cert_type="construction_planning_permit",
        key=f"{case.pk}:s2_approved:construction_planning_permit:certificate",
    )
    mine = f"certificate {reserved.number} of case {case.reference}"
    # Then reconcile (in govflow.cases, told by this app's hook) says so once it is stale
    assert not [p for p in reconcile(now=reserved.created_at + timedelta(minutes=9)) if p.startswith(mine)]
    late = [p for p in reconcile(now=reserved.created_at + timedelta(minutes=11)) if p.startswith(mine)]
    assert len(late) == 1
    assert "but not issued" in late[0]


def test_numbers_are_per_department_and_year_and_readable(business_case, licence, users, now):
    assert re.fullmatch(r"MR-\d{4}-\d{6}", licence.number)
    seal = Certificate.objects.get(case=business_case, type="seal_filing")
    assert re.fullmatch(r"PS-\d{4}-000001", seal.number)
    from .conftest import approve_business_setup

    second = approve_business_setup(users, now, company_name="北京第二物流有限公司")
    following = Certificate.objects.get(case=second, type="business_licence")
    year = licence.number.split("-")[1]
    assert following.number == f"MR-{year}-000002"
    assert CertificateSequence.objects.get(prefix="MR", year=int(year)).last == 2


def test_department_prefixes():
    assert number_prefix("market_regulation") == "MR"
    assert number_prefix("housing_construction") == "HC"
    assert number_prefix("tax") == "TAX"


def test_a_withdrawn_case_gets_no_certificate(keys, users, now):
    from govflow.cases.services import case_withdraw

    case = construction_case(users, now)
    case_withdraw(case_id=case.pk, actor=users["applicant"], now=now)
    result = certificate_issue(
        case_id=case.pk, node_id="s2_approved", cert_type="construction_planning_permit", key="w:1"
    )
    assert result is None
    assert not Certificate.objects.filter(issue_key="w:1").exists()


def test_without_a_signing_key_no_number_is_taken_and_the_row_is_retried(keys, users, now):
    case = construction_case(users, now)
    (keys / "departments" / "housing_construction.key").unlink()
    with pytest.raises(ConfigurationError):
        certificate_issue(case_id=case.pk, node_id="s3_approved", cert_type="construction_permit", key="k:1")
    assert not Certificate.objects.filter(type="construction_permit").exists()
    assert not CertificateSequence.objects.filter(prefix="HC").exists()


def test_issuing_is_audited_and_published_as_a_webhook_event(business_case, licence):
    event = AuditEvent.objects.get(action="CERTIFICATE_ISSUED", object_id=licence.number)
    assert event.case_id == business_case.pk
    assert event.data["sha256"] == licence.sha256
    assert event.data["type"] == "business_licence"
