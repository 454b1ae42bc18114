"""容缺 and 告知承诺 over the API: submit with the commitment, supply the
material, a reviewer accepts it; the verifying head finds a pledge false."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.certificates.models import Certificate, CertificateStatus
from govflow.demo_cases import DEMO_PDF
from govflow.outbox.services import outbox_drain
from tests.api.conftest import api_client, assert_error
from tests.deciding import claim_and_complete

from .test_commitments import ID_NUMBER

pytestmark = [pytest.mark.procedure, pytest.mark.django_db]

# A working Tuesday inside the loaded calendar, 10:00 in Beijing.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def _pdf(name):
    return SimpleUploadedFile(f"{name}.pdf", DEMO_PDF, content_type="application/pdf")


def _draft(client, uploads):
    made = client.post(
        "/api/v1/cases/",
        {
            "service": "test_commitments",
            "data": {"company_name": "接口承诺有限公司", "rep_id_number": ID_NUMBER},
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    reference = made.json()["reference"]
    for slot in uploads:
        sent = client.post(
            f"/api/v1/cases/{reference}/attachments/", {"slot": slot, "file": _pdf(slot)}, format="multipart"
        )
        assert sent.status_code == 201, sent.content
    return reference


@time_machine.travel(NOW, tick=False)
def test_deferral_over_the_api(template, keys, base_data, applicant, market_reviewer):
    client = api_client(applicant, language="en")
    reference = _draft(client, ("application", "premises_proof"))

    # Without the commitment the missing photos are offered the commitment
    refused = client.post(f"/api/v1/cases/{reference}/submit/", {}, format="json")
    body = assert_error(refused, 400, "form_invalid")
    assert "sign the commitment" in " ".join(body["fields"]["site_photos"])

    # With it the case is accepted and the photos are awaited
    submitted = client.post(f"/api/v1/cases/{reference}/submit/", {"commitment": True}, format="json")
    assert submitted.status_code == 200, submitted.content
    materials = client.get(f"/api/v1/cases/{reference}/materials/").json()
    assert [(m["slot"], m["status"]) for m in materials] == [("site_photos", "pending")]
    assert materials[0]["due_at"].startswith("2026-03-06T17:00:00+08:00")

    supplied = client.post(
        f"/api/v1/cases/{reference}/materials/site_photos/", {"file": _pdf("photos")}, format="multipart"
    )
    assert supplied.status_code == 200, supplied.content
    assert supplied.json()["status"] == "supplied"

    reviewer = api_client(market_reviewer, language="en")
    material_id = materials[0]["id"]
    # Nor can a reviewer of a department with nothing on the case: 404, as for no material
    outsider = api_client(base_data["fire_reviewer"], language="en")
    assert_error(
        outsider.post(f"/api/v1/materials/{material_id}/review/", {"outcome": "accept"}, format="json"),
        404,
        "not_found",
    )
    # The applicant cannot review their own material
    assert_error(
        client.post(f"/api/v1/materials/{material_id}/review/", {"outcome": "accept"}, format="json"),
        404,
        "not_found",
    )
    accepted = reviewer.post(f"/api/v1/materials/{material_id}/review/", {"outcome": "accept"}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "accepted"


@time_machine.travel(NOW, tick=False)
def test_credit_listed_over_the_api(template, keys, applicant, process_admin):
    from govflow.credit.services import credit_entry_add

    credit_entry_add(code=ID_NUMBER, reason="严重失信", source="信用中国", actor=process_admin)
    client = api_client(applicant, language="en")
    reference = _draft(client, ("application",))

    refused = client.post(f"/api/v1/cases/{reference}/submit/", {"commitment": True}, format="json")

    body = assert_error(refused, 400, "credit_listed")
    assert "credit list" in " ".join(body["fields"]["premises_proof"])
    assert Case.objects.get(reference=reference).status == CaseStatus.DRAFT


@time_machine.travel(NOW, tick=False)
def test_verification_over_the_api(template, keys, base_data, applicant, market_reviewer):

    client = api_client(applicant, language="en")
    reference = _draft(client, ("application", "site_photos"))
    submitted = client.post(f"/api/v1/cases/{reference}/submit/", {"commitment": True}, format="json")
    assert submitted.status_code == 200
    task = Task.objects.get(case__reference=reference, node_id="intake", status=TaskStatus.OPEN)
    claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve")
    outbox_drain()

    head = api_client(base_data["market_regulation_head"], language="en")
    listed = head.get("/api/v1/verifications/").json()
    assert [v["case"] for v in listed] == [reference]
    # Another department's head and the applicant: 404, as for no verification
    for outsider in (base_data["fire_head"], applicant):
        assert_error(
            api_client(outsider).post(
                f"/api/v1/verifications/{listed[0]['id']}/decide/",
                {"outcome": "false", "opinion": "越权"},
                format="json",
            ),
            404,
            "not_found",
        )
    assert api_client(base_data["fire_head"]).get("/api/v1/verifications/").json() == []
    assert_error(
        head.post(f"/api/v1/verifications/{listed[0]['id']}/decide/", {"outcome": "false"}, format="json"),
        400,
        "invalid",
    )
    found = head.post(
        f"/api/v1/verifications/{listed[0]['id']}/decide/",
        {"outcome": "false", "opinion": "地址不存在"},
        format="json",
    )
    assert found.status_code == 200, found.content
    assert found.json()["status"] == "false"
    assert Certificate.objects.get(case__reference=reference).status == CertificateStatus.REVOKED
    assert head.get("/api/v1/verifications/").json() == []
