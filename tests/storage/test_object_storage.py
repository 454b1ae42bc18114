"""Files in a real S3 server (SeaweedFS): attachments and certificate PDFs
are stored in the bucket, never on the local disk; downloads go through the
permission check and the SHA-256 check; orphans are swept; and without
GOVFLOW_S3_* the embedded default keeps local files."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment
from govflow.incidents.models import Incident, IncidentKind
from govflow.settings.storage import storages_from_environment
from govflow.storage import certificate_storage, is_remote
from govflow.storage_sweep import orphan_files_sweep
from tests.api.conftest import api_client, assert_error
from tests.web.conftest import PDF_BYTES, login

# One worker starts the server (pytest -n --dist loadgroup).
pytestmark = [pytest.mark.django_db, pytest.mark.storage, pytest.mark.xdist_group("storage")]


def _files(folder: Path) -> list[Path]:
    return [path for path in Path(folder).rglob("*") if path.is_file()] if Path(folder).exists() else []


@pytest.fixture
def uploaded(bucket, applicant):
    """An attachment uploaded over the API into a draft of the applicant's."""
    client = api_client(applicant)
    reference = client.post("/api/v1/cases/", {"service": "business_setup"}, format="json").json()[
        "reference"
    ]
    response = client.post(
        f"/api/v1/cases/{reference}/attachments/",
        {
            "slot": "articles_of_association",
            "file": SimpleUploadedFile("章程.pdf", PDF_BYTES, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content[:500]
    return Attachment.objects.select_related("case").get(pk=response.json()["id"])


def test_an_attachment_is_stored_in_the_bucket_not_on_the_local_disk(settings, bucket, uploaded):
    assert is_remote(default_storage)
    assert bucket.names() == [uploaded.file.name]
    assert uploaded.file.name.startswith("attachments/")
    assert bucket.read(uploaded.file.name) == PDF_BYTES
    assert hashlib.sha256(PDF_BYTES).hexdigest() == uploaded.sha256
    assert _files(settings.MEDIA_ROOT) == []


def test_downloads_go_through_the_permission_check(bucket, uploaded, applicant, other_applicant):
    reference = uploaded.case.reference
    web_url = f"/cases/{reference}/attachments/{uploaded.pk}/"
    api_url = f"/api/v1/cases/{reference}/attachments/{uploaded.pk}/content/"

    web = login(applicant).get(web_url)
    api = api_client(applicant).get(api_url)

    for response in (web, api):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Cache-Control"] == "private, no-store"
    assert login(other_applicant).get(web_url).status_code == 404
    assert_error(api_client(other_applicant).get(api_url), 404, "not_found")


def test_a_tampered_object_is_refused_logged_audited_and_opens_one_incident(
    bucket, uploaded, applicant, caplog
):
    reference = uploaded.case.reference
    bucket.write(uploaded.file.name, PDF_BYTES.replace(b"%PDF", b"%PDF ", 1))  # changed behind govflow's back

    api = api_client(applicant).get(
        f"/api/v1/cases/{reference}/attachments/{uploaded.pk}/content/", HTTP_ACCEPT_LANGUAGE="en"
    )
    web = login(applicant).get(f"/cases/{reference}/attachments/{uploaded.pk}/")

    error = assert_error(api, 500, "file_integrity")
    assert "integrity" in error["message"]
    assert web.status_code == 500
    assert not hasattr(web, "streaming_content")
    assert PDF_BYTES[:8] not in web.content
    assert "integrity check failed, not served" in caplog.text
    refusals = AuditEvent.objects.filter(action="FILE_INTEGRITY_FAILED", object_id=str(uploaded.pk))
    assert refusals.count() == 2
    assert refusals.first().data["expected_sha256"] == uploaded.sha256
    incident = Incident.objects.get(kind=IncidentKind.INTEGRITY)
    assert (incident.topic, incident.case_id, incident.attempts) == (
        f"attachment:{uploaded.pk}",
        uploaded.case_id,
        2,
    )


def test_a_missing_object_is_not_found(bucket, uploaded, applicant):
    bucket.client.delete_object(Bucket="govflow-test", Key=f"{bucket.prefix}/{uploaded.file.name}")

    response = api_client(applicant).get(
        f"/api/v1/cases/{uploaded.case.reference}/attachments/{uploaded.pk}/content/"
    )

    assert_error(response, 404, "not_found")
    assert not AuditEvent.objects.filter(action="FILE_INTEGRITY_FAILED").exists()


def test_orphans_are_swept_after_the_grace_period_and_referenced_files_kept(bucket, uploaded):
    orphan = default_storage.save("attachments/2026/01/orphan.pdf", ContentFile(b"left by a rollback"))
    stray_pdf = certificate_storage.save("2026/SC-2026-999999-0000.pdf", ContentFile(b"%PDF- never named"))
    newest = max(default_storage.get_modified_time(orphan), certificate_storage.get_modified_time(stray_pdf))

    young = orphan_files_sweep(older_than=timedelta(hours=1), now=newest + timedelta(minutes=30))
    dry = orphan_files_sweep(older_than=timedelta(hours=1), now=newest + timedelta(hours=2), dry_run=True)
    assert young.orphans == []
    assert young.kept_young == 3
    assert {o.name for o in dry.orphans} == {orphan, stray_pdf}
    assert dry.deleted == 0
    assert len(bucket.names()) == 3

    swept = orphan_files_sweep(older_than=timedelta(hours=1), now=newest + timedelta(hours=2))

    assert (swept.deleted, swept.referenced) == (2, 1)
    assert bucket.names() == [uploaded.file.name]
    event = AuditEvent.objects.get(action="STORED_FILES_SWEPT")
    assert sorted(event.data["names"]) == [f"certificates:{stray_pdf}", f"default:{orphan}"]


def test_the_sweep_command_lists_in_a_dry_run(bucket, uploaded, monkeypatch):
    orphan = default_storage.save("attachments/2026/01/orphan.pdf", ContentFile(b"orphan"))
    written = max(default_storage.get_modified_time(name) for name in (orphan, uploaded.file.name))
    monkeypatch.setattr("govflow.storage_sweep.current_time", lambda: written + timedelta(minutes=90))
    out = StringIO()

    call_command("sweep_orphan_files", "--older-than", "1", "--dry-run", stdout=out)

    assert f"would delete default:{orphan}" in out.getvalue()
    assert "1 orphan(s) would delete; 1 referenced and 0 younger than 1 h kept." in out.getvalue()
    assert len(bucket.names()) == 2


def test_without_s3_settings_the_embedded_default_keeps_local_files(settings, tmp_path, applicant):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = storages_from_environment({})

    client = api_client(applicant)
    reference = client.post("/api/v1/cases/", {"service": "business_setup"}, format="json").json()[
        "reference"
    ]
    response = client.post(
        f"/api/v1/cases/{reference}/attachments/",
        {
            "slot": "articles_of_association",
            "file": SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content[:500]

    assert isinstance(default_storage, FileSystemStorage)
    assert not is_remote(certificate_storage)
    assert Path(certificate_storage.location) == Path(settings.GOVFLOW_CERTIFICATES_DIR)
    stored = _files(settings.MEDIA_ROOT)
    assert [path.read_bytes() for path in stored] == [PDF_BYTES]


def test_the_daily_beat_job_sweeps_with_the_configured_grace(settings, bucket):
    from govflow.cases.tasks import sweep_orphan_files

    orphan = default_storage.save("attachments/2026/01/orphan.pdf", ContentFile(b"orphan"))
    written = default_storage.get_modified_time(orphan)
    settings.GOVFLOW_ORPHAN_FILE_GRACE_HOURS = 6

    assert sweep_orphan_files.apply(kwargs={"now": (written + timedelta(hours=5)).isoformat()}).get() == 0
    assert sweep_orphan_files.apply(kwargs={"now": (written + timedelta(hours=7)).isoformat()}).get() == 1
    assert bucket.names() == []
