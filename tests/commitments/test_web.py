"""The portal and the case page for 容缺 and 告知承诺 (Django's test client)."""

from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govflow.cases.models import Case, CaseStatus
from govflow.commitments.models import DeferredMaterial, MaterialStatus
from govflow.demo_cases import DEMO_PDF
from tests.api.conftest import api_client
from tests.deciding import claim_and_complete

from .test_api import NOW, _draft

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@time_machine.travel(NOW, tick=False)
def test_portal_submit_with_the_commitment_then_supply_and_accept(
    template,
    keys,
    applicant,
    market_reviewer,
):
    reference = _draft(api_client(applicant, language="en"), ("application", "premises_proof"))
    web = _client(applicant)

    # The form shows the 容缺 notice and the box to sign
    form = web.get(f"/cases/{reference}/edit/").content.decode()
    assert 'name="commitment"' in form
    assert "容缺受理" in form

    # Submitting without the box keeps the draft and says why
    data = {"company_name": "接口承诺有限公司", "rep_id_number": "11010519491231002X", "action": "submit"}
    kept = web.post(f"/cases/{reference}/edit/", data)
    assert kept.status_code == 200
    assert Case.objects.get(reference=reference).status == CaseStatus.DRAFT

    # With it the case is submitted
    sent = web.post(f"/cases/{reference}/edit/", {**data, "commitment": "1"})
    assert sent.status_code == 302
    assert Case.objects.get(reference=reference).status == CaseStatus.IN_REVIEW

    # The case page lists the photos to follow; the applicant supplies them there
    page = web.get(f"/cases/{reference}/").content.decode()
    assert 'id="material-site_photos"' in page
    upload = SimpleUploadedFile("photos.pdf", DEMO_PDF, content_type="application/pdf")
    web.post(f"/commitments/cases/{reference}/materials/site_photos/", {"file": upload})
    material = DeferredMaterial.objects.get(case__reference=reference)
    assert material.status == MaterialStatus.SUPPLIED

    # and the reviewer accepts them on the case page
    reviewer = _client(market_reviewer)
    assert "/commitments/materials/" in reviewer.get(f"/cases/{reference}/").content.decode()
    reviewer.post(f"/commitments/materials/{material.pk}/review/", {"outcome": "accept"})
    material.refresh_from_db()
    assert material.status == MaterialStatus.ACCEPTED


@time_machine.travel(NOW, tick=False)
def test_the_head_finds_a_commitment_false_on_the_case_page(
    template, keys, base_data, applicant, market_reviewer
):
    from govflow.cases.models import Task, TaskStatus
    from govflow.certificates.models import Certificate, CertificateStatus
    from govflow.commitments.models import Verification
    from govflow.outbox.services import outbox_drain

    client = api_client(applicant, language="en")
    reference = _draft(client, ("application", "site_photos"))
    client.post(f"/api/v1/cases/{reference}/submit/", {"commitment": True}, format="json")
    task = Task.objects.get(case__reference=reference, node_id="intake", status=TaskStatus.OPEN)
    claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve")
    outbox_drain()
    head = _client(base_data["market_regulation_head"])

    listed = head.get("/commitments/verifications/").content.decode()
    assert reference in listed
    page = head.get(f"/cases/{reference}/").content.decode()
    assert 'value="false"' in page
    # a reviewer who is not the head is not offered the revocation
    assert 'value="false"' not in _client(market_reviewer).get(f"/cases/{reference}/").content.decode()

    verification = Verification.objects.get(case__reference=reference)
    decided = {"outcome": "false", "opinion": "虚假"}
    head.post(f"/commitments/verifications/{verification.pk}/decide/", decided)

    assert Certificate.objects.get(case__reference=reference).status == CertificateStatus.REVOKED
    assert reference not in head.get("/commitments/verifications/").content.decode()
