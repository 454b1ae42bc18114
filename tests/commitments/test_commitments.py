"""容缺受理 and 告知承诺制 end to end through the services (issue 20), on
the real calendar with a pinned clock (tests/data/services/commitments.yaml:
site photos may follow within 3 working days; the premises proof is
replaced by a commitment the market regulator verifies within 20)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.cases.attachments import attachment_add
from govflow.cases.models import Attachment, CaseStatus, Task, TaskStatus
from govflow.cases.services import case_create
from govflow.certificates.models import Certificate, CertificateStatus
from govflow.certificates.signing import signature_check
from govflow.commitments.models import (
    Commitment,
    CommitmentKind,
    DeferredMaterial,
    MaterialStatus,
    Verification,
    VerificationStatus,
)
from govflow.commitments.services import (
    case_submit_with_commitment,
    material_review,
    material_supply,
    materials_fire_due,
    verification_decide,
)
from govflow.credit.models import CreditRecord
from govflow.credit.services import credit_entry_add
from govflow.demo_cases import DEMO_PDF
from govflow.errors import Conflict, Forbidden, FormInvalid
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

BEIJING = ZoneInfo("Asia/Shanghai")
ID_NUMBER = "11010519491231002X"


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{name}.pdf", DEMO_PDF, content_type="application/pdf")


def _draft(applicant, now, *, upload=("application",)):
    case = case_create(
        applicant=applicant,
        template_code="test_commitments",
        data={"company_name": "北京承诺测试有限公司", "rep_id_number": ID_NUMBER},
        now=now,
    )
    for slot in upload:
        attachment_add(case_id=case.pk, actor=applicant, slot=slot, upload=_pdf(slot), now=now)
    return case


def _intake(case):
    return Task.objects.get(case=case, node_id="intake", status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])


def test_without_signing_the_missing_documents_offer_the_commitment(template, keys, applicant, now):
    case = _draft(applicant, now)

    with pytest.raises(FormInvalid) as refused:
        case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=False, now=now, language="en")

    codes = {(e.path, e.code) for e in refused.value.errors}
    assert codes == {("site_photos", "commitment_available"), ("premises_proof", "commitment_available")}
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT


def test_deferral_not_supplied_by_the_deadline_terminates_the_case(template, keys, applicant, now):
    # Given a case accepted on Tuesday 2026-03-03 10:00 with the site photos missing (容缺)
    case = _draft(applicant, now, upload=("application", "premises_proof"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    material = DeferredMaterial.objects.get(case=case)
    commitment = Commitment.objects.get(case=case, kind=CommitmentKind.DEFERRAL)

    # Then the commitment is a signed letter of the case, the applicant notified
    letter = commitment.document
    assert letter.case_id == case.pk
    assert letter.kind == "tolerance_commitment"
    assert "site_photos" not in letter.title
    assert any("现场照片" in p and "2026-03-06 17:00" in p for p in letter.paragraphs)
    assert Notification.objects.filter(case=case, kind="letter_issued", user=applicant).exists()
    pdf = letter.file.read()
    assert pdf.startswith(b"%PDF")
    assert signature_check(pdf).ok
    # and the photos are due at office close on the 3rd working day after acceptance
    assert material.due_at == datetime(2026, 3, 6, 17, 0, tzinfo=BEIJING)
    assert not material.due_provisional
    assert material.remind_at < material.due_at

    # When the sweep runs a minute before the deadline: a reminder, no termination
    assert materials_fire_due(now=material.due_at - timedelta(minutes=1)) == 0
    assert Notification.objects.filter(case=case, kind="material_due", user=applicant).count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW

    # When it runs at the deadline
    assert materials_fire_due(now=material.due_at) == 1

    # Then the case has ended (终止办理), its task is cancelled, and the reason is on record
    case.refresh_from_db()
    material.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert material.status == MaterialStatus.LAPSED
    assert not Task.objects.filter(case=case, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).exists()
    terminated = AuditEvent.objects.get(case_id=case.pk, action="CASE_TERMINATED")
    assert "site_photos" in terminated.data["reason"]
    assert "2026-03-06 17:00" in terminated.data["reason"]
    # and a second sweep changes nothing
    assert materials_fire_due(now=material.due_at + timedelta(days=1)) == 0


def test_a_provisional_deadline_never_terminates(template, keys, applicant, now, settings):
    # Given a case accepted late in the last loaded year, so that its make-up
    # deadline reaches into a year whose calendar is not loaded
    from govflow.timers.models import CalendarYear

    last = max(CalendarYear.objects.filter(calendar__code="cn").values_list("year", flat=True))
    late = datetime(last, 12, 30, 2, 0, tzinfo=UTC)
    case = _draft(applicant, late, upload=("application", "premises_proof"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=late)
    material = DeferredMaterial.objects.get(case=case)
    assert material.due_provisional

    # When the sweep runs well past the provisional date
    assert materials_fire_due(now=material.due_at + timedelta(days=3)) == 0

    # Then the case runs on: a provisional date has no legal effect
    case.refresh_from_db()
    material.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert material.status == MaterialStatus.PENDING


def test_a_credit_listed_applicant_cannot_use_the_commitments(template, keys, applicant, process_admin, now):
    # Given the legal representative is on the credit list
    credit_entry_add(
        code=ID_NUMBER.lower(), reason="严重失信", source="信用中国", actor=process_admin, now=now
    )
    case = _draft(applicant, now)

    # When the applicant signs the commitment to submit without the documents
    with pytest.raises(FormInvalid) as refused:
        case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now, language="zh")

    # Then the submission is refused, naming the documents and the reason
    assert refused.value.code == "credit_listed"
    assert {e.path for e in refused.value.errors} == {"site_photos", "premises_proof"}
    assert "信用中国" in refused.value.fields["site_photos"][0]
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT
    assert not Commitment.objects.filter(case=case).exists()


def test_an_expired_credit_entry_excludes_no_one(template, keys, applicant, process_admin, now):
    credit_entry_add(
        code=ID_NUMBER,
        reason="过去的失信",
        source="信用中国",
        actor=process_admin,
        valid_from=now.date() - timedelta(days=400),
        valid_until=now.date() - timedelta(days=1),
        now=now,
    )
    case = _draft(applicant, now)

    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)

    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_materials_supplied_and_accepted_let_the_case_continue(
    template, keys, applicant, market_reviewer, now
):
    # Given a case accepted with the site photos missing
    case = _draft(applicant, now, upload=("application", "premises_proof"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    later = now + timedelta(days=1)

    # Then the review cannot approve while the photos are outstanding
    with pytest.raises(Conflict) as refused:
        claim_and_complete(task_id=_intake(case).pk, actor=market_reviewer, outcome="approve", now=later)
    assert refused.value.code == "materials_outstanding"

    # When the applicant supplies them and the reviewer accepts them
    material = material_supply(
        case_id=case.pk, actor=applicant, slot="site_photos", upload=_pdf("photos"), now=later
    )
    assert material.status == MaterialStatus.SUPPLIED
    assert Notification.objects.filter(case=case, kind="material_supplied", user=market_reviewer).exists()
    material_review(material_id=material.pk, actor=market_reviewer, accept=True, now=later)

    # Then the deadline passing changes nothing, and the review approves the case
    assert materials_fire_due(now=later + timedelta(days=30)) == 0
    claim_and_complete(task_id=_intake(case).pk, actor=market_reviewer, outcome="approve", now=later)
    case.refresh_from_db()
    material.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    assert material.status == MaterialStatus.ACCEPTED
    assert Attachment.objects.filter(case=case, slot="site_photos").count() == 1


def test_materials_not_accepted_terminate_the_case(template, keys, applicant, market_reviewer, now):
    case = _draft(applicant, now, upload=("application", "premises_proof"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    material = material_supply(
        case_id=case.pk, actor=applicant, slot="site_photos", upload=_pdf("p"), now=now
    )

    material_review(
        material_id=material.pk, actor=market_reviewer, accept=False, opinion="照片不是申报场所", now=now
    )

    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    reason = AuditEvent.objects.get(case_id=case.pk, action="CASE_TERMINATED").data["reason"]
    assert "照片不是申报场所" in reason


def test_false_commitment_revokes_the_licence_and_writes_a_credit_record(
    template, keys, base_data, applicant, market_reviewer, now
):
    head = base_data["market_regulation_head"]
    # Given a case approved on a commitment instead of the premises proof (告知承诺)
    case = _draft(applicant, now, upload=("application", "site_photos"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    assert Commitment.objects.get(case=case).kind == CommitmentKind.PLEDGE
    assert not DeferredMaterial.objects.filter(case=case).exists()
    claim_and_complete(task_id=_intake(case).pk, actor=market_reviewer, outcome="approve", now=now)
    outbox_drain()
    licence = Certificate.objects.get(case=case)
    assert licence.status == CertificateStatus.VALID

    # Then a verification is open for the market regulator, due in 20 working days
    verification = Verification.objects.get(case=case)
    assert verification.status == VerificationStatus.OPEN
    assert verification.due_at == datetime(2026, 3, 31, 17, 0, tzinfo=BEIJING)

    # When a reviewer (not the head) tries to find it false
    with pytest.raises(Forbidden):
        verification_decide(
            verification_id=verification.pk, actor=market_reviewer, truthful=False, opinion="x", now=now
        )

    # and the head finds it false
    later = now + timedelta(days=10)
    verification_decide(
        verification_id=verification.pk,
        actor=head,
        truthful=False,
        opinion="现场核查：申报地址为住宅，不能用作经营场所",
        now=later,
    )

    # Then the licence is revoked and the public verification page says so
    licence.refresh_from_db()
    assert licence.status == CertificateStatus.REVOKED
    html = Client().get(f"/verify/{licence.number}/").content.decode()
    assert "verify-revoked" in html
    # and a credit record is written for the applicant
    record = CreditRecord.objects.get(case=case)
    assert record.code == ID_NUMBER
    assert record.kind == CreditRecord.FALSE_COMMITMENT
    assert AuditEvent.objects.filter(case_id=case.pk, action="VERIFICATION_DECIDED").exists()

    # and the same applicant can no longer use the commitments
    again = _draft(applicant, later)
    with pytest.raises(FormInvalid) as refused:
        case_submit_with_commitment(case_id=again.pk, actor=applicant, sign=True, now=later)
    assert refused.value.code == "credit_listed"


def test_a_confirmed_commitment_keeps_the_licence(template, keys, base_data, applicant, market_reviewer, now):
    case = _draft(applicant, now, upload=("application", "site_photos"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    claim_and_complete(task_id=_intake(case).pk, actor=market_reviewer, outcome="approve", now=now)
    outbox_drain()
    verification = Verification.objects.get(case=case)
    head = base_data["market_regulation_head"]

    # Left undecided past its due date, the head is told once
    materials_fire_due(now=verification.due_at - timedelta(minutes=1))
    materials_fire_due(now=verification.due_at + timedelta(minutes=1))
    materials_fire_due(now=verification.due_at + timedelta(days=1))
    overdue = Notification.objects.filter(case=case, outbox_key__endswith=":overdue")
    assert list(overdue.values_list("user", flat=True)) == [head.pk]

    later = verification.due_at + timedelta(days=2)
    verification_decide(verification_id=verification.pk, actor=market_reviewer, truthful=True, now=later)

    assert Certificate.objects.get(case=case).status == CertificateStatus.VALID
    assert not CreditRecord.objects.filter(case=case).exists()


def test_a_silent_consent_is_not_refused_for_outstanding_materials(template, keys, applicant, now):
    # Given a review with silent consent after 2 working days (超期默认), and a
    # case accepted with the photos missing, its review silent past its limit
    from govflow.cases.automation import timers_fire_due

    source = (Path(__file__).resolve().parents[1] / "data" / "services" / "commitments.yaml").read_text(
        encoding="utf-8"
    )
    process_publish(
        source=source.replace(
            "    sla: {days: 5}\n",
            '    sla: {days: 2, on_breach: approve, legal_basis: "测试地方规定第5条 (test rule 5)"}\n',
        )
    )

    case = _draft(applicant, now, upload=("application", "premises_proof"))
    case_submit_with_commitment(case_id=case.pk, actor=applicant, sign=True, now=now)
    breach = datetime(2026, 3, 5, 17, 0, tzinfo=BEIJING)

    # When the timer sweep runs (the photos are due only on the 6th)
    fired = timers_fire_due(now=breach)

    # Then the sweep did not stall: the case is approved, and the trail says
    # the photos were still awaited
    case.refresh_from_db()
    assert fired >= 1
    assert case.status == CaseStatus.APPROVED
    outstanding = AuditEvent.objects.get(case_id=case.pk, action="MATERIALS_OUTSTANDING")
    assert outstanding.data["slots"] == ["site_photos"]
