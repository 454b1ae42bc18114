"""Idempotency-Key: a retried request never acts twice, and the same key
sent twice at the same moment acts once with both callers getting the
same answer (real threads and connections on PostgreSQL)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govflow.api.models import IdempotencyRecord
from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, CaseStatus, Task, TaskStatus
from govflow.cases.services import task_claim

from .conftest import api_client, assert_error, live_task, submitted


def _draft_ready_to_submit(applicant, name="北京幂等科技有限公司"):
    """A complete draft with its documents (submitted() without the submit)."""
    from django.utils import timezone

    from govflow.cases.services import case_create
    from govflow.demo_cases import attach_required_documents

    from .conftest import example

    case = case_create(
        applicant=applicant, template_code="business_setup", data=example("business_setup", company_name=name)
    )
    attach_required_documents(case, applicant, now=timezone.now())
    return case


@pytest.mark.django_db
class TestSerial:
    def test_a_retried_submit_answers_the_same_and_acts_once(self, applicant):
        case = _draft_ready_to_submit(applicant)
        client = api_client(applicant)
        key = str(uuid.uuid4())

        first = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY=key)
        retry = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY=key)

        assert first.status_code == retry.status_code == 200
        assert retry.json() == first.json()
        assert retry["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert AuditEvent.objects.filter(case=case, action="CASE_SUBMITTED").count() == 1
        without_key = client.post(f"/api/v1/cases/{case.reference}/submit/")
        assert_error(without_key, 409, "conflict")

    def test_the_key_is_written_once_with_its_answer(self, applicant):
        case = _draft_ready_to_submit(applicant)
        client = api_client(applicant)

        with CaptureQueriesContext(connection) as queries:
            first = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY="once")

        assert first.status_code == 200
        writes = [
            str(q["sql"]).split(" ", 1)[0]
            for q in queries.captured_queries
            if '"api_idempotencyrecord"' in str(q["sql"]) and not str(q["sql"]).startswith("SELECT")
        ]
        assert writes == ["INSERT"]
        record = IdempotencyRecord.objects.get(user=applicant, key="once")
        assert (record.endpoint, record.status_code, record.response) == ("case-submit", 200, first.json())

    def test_a_retried_create_makes_one_draft(self, applicant):
        client = api_client(applicant)
        body = {"service": "business_setup", "data": {"company_name": "北京幂等科技有限公司"}}

        first = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
        retry = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")

        assert first.status_code == retry.status_code == 201
        assert retry.json()["reference"] == first.json()["reference"]
        assert retry["Location"] == first["Location"]
        assert Case.objects.filter(applicant=applicant).count() == 1

    def test_the_same_key_with_another_body_or_endpoint_is_422(self, applicant):
        client = api_client(applicant)
        body = {"service": "business_setup", "data": {"company_name": "北京幂等科技有限公司"}}
        client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        case = Case.objects.get(applicant=applicant)

        other_body = client.post(
            "/api/v1/cases/", {**body, "data": {}}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
        other_endpoint = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY="k1")

        assert_error(other_body, 422, "idempotency_key_reused")
        assert "Idempotency-Key" in assert_error(other_endpoint, 422, "idempotency_key_reused")["fields"]
        assert Case.objects.filter(applicant=applicant).count() == 1
        assert Case.objects.get(pk=case.pk).status == CaseStatus.DRAFT

    def test_keys_are_per_user(self, applicant, other_applicant):
        body = {"service": "business_setup"}

        mine = api_client(applicant).post(
            "/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )
        theirs = api_client(other_applicant).post(
            "/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )

        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["reference"] != theirs.json()["reference"]

    def test_a_failed_request_is_not_stored_so_the_fixed_retry_acts(self, applicant):
        client = api_client(applicant)
        case = Case.objects.get(
            reference=client.post("/api/v1/cases/", {"service": "business_setup"}, format="json").json()[
                "reference"
            ]
        )

        failed = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY="submit-1")
        assert_error(failed, 400, "form_invalid")
        assert not IdempotencyRecord.objects.filter(key="submit-1").exists()
        ready = _draft_ready_to_submit(applicant)
        case.data = ready.data
        case.save(update_fields=["data"])
        from django.core.files.uploadedfile import SimpleUploadedFile

        from .conftest import PDF_BYTES

        for slot in ("articles_of_association", "address_proof", "id_copies"):
            client.post(
                f"/api/v1/cases/{case.reference}/attachments/",
                {
                    "slot": slot,
                    "file": SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf"),
                },
                format="multipart",
            )

        fixed = client.post(f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY="submit-1")

        assert fixed.status_code == 200, fixed.json()
        assert fixed.json()["status"] == "submitted"  # market regulation accepts it next (受理)

    def test_a_malformed_key_is_refused(self, applicant):
        response = api_client(applicant).post(
            "/api/v1/cases/", {"service": "business_setup"}, format="json", HTTP_IDEMPOTENCY_KEY="has space"
        )

        assert_error(response, 400, "idempotency_key_invalid")
        assert not Case.objects.exists()

    def test_expired_keys_are_purged_and_may_be_used_again(self, applicant):
        from datetime import timedelta

        from django.core.management import call_command

        from govflow.api.idempotency import KEY_TTL

        client = api_client(applicant)
        client.post(
            "/api/v1/cases/", {"service": "business_setup"}, format="json", HTTP_IDEMPOTENCY_KEY="old"
        )
        IdempotencyRecord.objects.update(
            created_at=IdempotencyRecord.objects.get().created_at - KEY_TTL - timedelta(minutes=1)
        )

        again = client.post(
            "/api/v1/cases/", {"service": "business_setup"}, format="json", HTTP_IDEMPOTENCY_KEY="old"
        )
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert Case.objects.filter(applicant=applicant).count() == 2
        IdempotencyRecord.objects.update(
            created_at=IdempotencyRecord.objects.get().created_at - KEY_TTL - timedelta(minutes=1)
        )
        call_command("purge_idempotency_keys")
        assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_the_hourly_beat_job_purges_expired_keys(applicant):
    from django.utils import timezone

    from govflow.api.idempotency import KEY_TTL
    from govflow.api.tasks import purge_idempotency_keys
    from govflow.celery import app

    now = timezone.now()
    for key, age in (("old", KEY_TTL + timedelta(minutes=1)), ("fresh", timedelta(minutes=1))):
        IdempotencyRecord.objects.create(
            user=applicant, key=key, endpoint="x", fingerprint="f", created_at=now - age
        )
    assert app.conf.beat_schedule["purge-idempotency-keys"]["task"] == purge_idempotency_keys.name
    assert purge_idempotency_keys.run() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def _race(*calls):
    """Run the calls in threads released together by a barrier; return
    their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # asserted by the caller
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
class TestParallel:
    def test_the_same_submit_twice_at_once_acts_once_and_both_get_the_same_answer(self, base_data):
        assert connection.vendor == "postgresql"
        applicant = base_data["applicant"]
        for round_ in range(5):
            case = _draft_ready_to_submit(applicant, f"北京并发{'甲乙丙丁戊'[round_]}科技有限公司")
            key = f"submit-{round_}"

            def submit(case=case, key=key):
                return api_client(applicant).post(
                    f"/api/v1/cases/{case.reference}/submit/", HTTP_IDEMPOTENCY_KEY=key
                )

            first, second = _race(submit, submit)

            assert first.status_code == second.status_code == 200, (first.content, second.content)
            assert first.json() == second.json()
            assert sorted(r.get("Idempotent-Replayed", "") for r in (first, second)) == ["", "true"]
            assert AuditEvent.objects.filter(case=case, action="CASE_SUBMITTED").count() == 1
            assert Case.objects.get(pk=case.pk).status != CaseStatus.DRAFT

    def test_the_same_create_twice_at_once_makes_one_draft(self, base_data):
        applicant = base_data["applicant"]
        body = {"service": "business_setup", "data": {"company_name": "北京并发科技有限公司"}}

        def create():
            return api_client(applicant).post(
                "/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
            )

        first, second = _race(create, create)

        assert first.status_code == second.status_code == 201
        assert first.json()["reference"] == second.json()["reference"]
        assert Case.objects.filter(applicant=applicant).count() == 1

    def test_the_same_decision_twice_at_once_is_recorded_once(self, base_data):
        applicant, reviewer = base_data["applicant"], base_data["market_regulation_reviewer"]
        case = submitted(applicant, "business_setup")
        task = live_task(case, "registration")
        task_claim(task_id=task.pk, actor=reviewer)  # 签收 first

        def decide():
            return api_client(reviewer).post(
                f"/api/v1/tasks/{task.pk}/decide/",
                {"outcome": "approve", "opinion": "同意"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="decide-1",
            )

        first, second = _race(decide, decide)

        assert first.status_code == second.status_code == 200, (first.content, second.content)
        assert first.json() == second.json()
        decided = AuditEvent.objects.filter(case=case, action="TASK_COMPLETED", object_id=task.engine_id)
        assert decided.count() == 1
        assert Task.objects.get(pk=task.pk).status == TaskStatus.COMPLETED

    def test_the_same_key_with_two_bodies_at_once_acts_once_and_refuses_the_other(self, base_data):
        applicant = base_data["applicant"]

        def create(name):
            return lambda: api_client(applicant).post(
                "/api/v1/cases/",
                {"service": "business_setup", "data": {"company_name": name}},
                format="json",
                HTTP_IDEMPOTENCY_KEY="c-2",
            )

        results = _race(create("北京甲科技有限公司"), create("北京乙科技有限公司"))

        assert sorted(r.status_code for r in results) == [201, 422]
        assert Case.objects.filter(applicant=applicant).count() == 1
