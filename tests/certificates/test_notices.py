"""The applicant hears of each certificate issued on their case, and of one
revoked, in the app and by e-mail, once (govflow.notifications.applicant)."""

from __future__ import annotations

import pytest

from govflow.certificates.models import Certificate
from govflow.certificates.services import certificate_revoke
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


def test_each_certificate_issued_and_the_decision_are_told_to_the_applicant(business_case, users):
    applicant = users["applicant"]
    issued = Notification.objects.filter(user=applicant, kind="certificate_issued")
    numbers = set(Certificate.objects.filter(case=business_case).values_list("number", flat=True))
    assert len(numbers) >= 2  # the business licence and the seal filing, at least
    assert {n for notice in issued for n in numbers if n in notice.body} == numbers
    assert issued.count() == len(numbers)
    # the decision: of the whole case once, and (一件事) of each of its seven items as it ended
    decided = Notification.objects.filter(user=applicant, kind="case_ended", case=business_case)
    assert decided.filter(outbox_key=f"applicant:ended:{business_case.pk}").count() == 1
    assert decided.filter(outbox_key__startswith=f"applicant:item:{business_case.pk}:").count() == 7
    outbox_drain()
    assert issued.count() == len(numbers)


def test_a_revoked_certificate_is_told_with_its_reason(licence, users, process_admin, mailoutbox):
    certificate_revoke(number=licence.number, actor=process_admin, reason="企业申请注销登记")
    outbox_drain()
    (notice,) = Notification.objects.filter(user=users["applicant"], kind="certificate_revoked")
    assert licence.number in notice.body
    assert "企业申请注销登记" in notice.body
    assert any("撤销" in m.subject and m.to == [users["applicant"].email] for m in mailoutbox)
