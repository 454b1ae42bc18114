"""purge_retention: attachments and secret values of cases closed long
enough ago go; open and recent cases keep theirs; the chain still verifies."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent, RetentionPurge
from govflow.cases.models import Attachment
from govflow.cases.retention import retention_purge
from govflow.cases.services import case_withdraw

from .conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_case(base_data, applicant, settings, tmp_path):
    from tests.web.conftest import submitted

    settings.MEDIA_ROOT = tmp_path / "media"
    case = submitted(applicant, "business_setup", company_name="北京保存期限有限公司")
    case_withdraw(case_id=case.pk, actor=applicant, reason="测试")
    case.refresh_from_db()
    case.completed_at = timezone.now() - timedelta(days=400)
    type(case).objects.filter(pk=case.pk).update(completed_at=case.completed_at)
    return case


@pytest.fixture
def open_case(base_data, applicant):
    from tests.web.conftest import submitted

    return submitted(applicant, "business_setup", company_name="北京仍在办理有限公司")


def test_nothing_is_purged_without_retention_settings(closed_case, settings):
    settings.GOVFLOW_RETENTION_ATTACHMENTS_DAYS = None
    settings.GOVFLOW_RETENTION_SECRETS_DAYS = None
    code, out = run("purge_retention")
    assert code == 0
    assert "nothing is purged" in out
    assert Attachment.objects.filter(case=closed_case).exists()


def test_dry_run_reports_and_changes_nothing(closed_case, settings):
    settings.GOVFLOW_RETENTION_ATTACHMENTS_DAYS = 365
    settings.GOVFLOW_RETENTION_SECRETS_DAYS = 365
    before = AuditEvent.objects.count()
    code, out = run("purge_retention", "--dry-run")
    assert code == 0
    assert f"attachments: {closed_case.reference}" in out
    assert f"secret fields: {closed_case.reference}" in out
    assert AuditEvent.objects.count() == before
    assert Attachment.objects.filter(case=closed_case).exists()


def test_purge_removes_files_rows_and_secret_values_and_keeps_the_chain(closed_case, open_case, settings):
    settings.GOVFLOW_RETENTION_ATTACHMENTS_DAYS = 365
    settings.GOVFLOW_RETENTION_SECRETS_DAYS = 365
    attachments = list(Attachment.objects.filter(case=closed_case))
    paths = [Path(a.file.path) for a in attachments]
    assert attachments
    assert all(p.exists() for p in paths)
    id_number = closed_case.data["legal_rep_id_number"]
    shareholder_ids = [row.get("id_number") for row in closed_case.data.get("shareholders", [])]
    with pytest.MonkeyPatch.context() as patch:
        # run the files' on_commit deletion now (the test runs in one transaction)
        patch.setattr("django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn())
        report = retention_purge()
    assert report.attachment_cases == [closed_case.reference]
    assert report.attachments == len(attachments)
    assert closed_case.reference in report.secret_cases
    assert not Attachment.objects.filter(case=closed_case).exists()
    assert not any(p.exists() for p in paths)
    closed_case.refresh_from_db()
    assert closed_case.data["legal_rep_id_number"] is None
    assert closed_case.data["legal_rep_phone"] is None
    assert all(row.get("id_number") is None for row in closed_case.data.get("shareholders", []))
    assert closed_case.data["company_name"] == "北京保存期限有限公司"  # not secret: kept
    assert id_number not in str(closed_case.data)
    assert not any(value and value in str(closed_case.data) for value in shareholder_ids)
    purge = RetentionPurge.objects.get(case=closed_case)
    assert purge.secrets_purged_at
    assert purge.attachments_purged_at
    assert "legal_rep_id_number" in purge.secret_fields
    events = {e.action: e for e in AuditEvent.objects.filter(case=closed_case, data__reason="retention")}
    assert events["ATTACHMENTS_PURGED"].data["count"] == len(attachments)
    assert sorted(events["ATTACHMENTS_PURGED"].data["sha256"]) == sorted(a.sha256 for a in attachments)
    assert "legal_rep_id_number" in events["SECRETS_PURGED"].data["fields"]
    assert id_number not in str([e.data for e in events.values()])
    # the open case keeps everything
    open_case.refresh_from_db()
    assert Attachment.objects.filter(case=open_case).exists()
    assert open_case.data["legal_rep_id_number"]
    # the audit trail is intact, and a second run finds nothing to do
    assert run("verify_audit")[0] == 0
    again = retention_purge()
    assert (again.attachments, again.secret_values) == (0, 0)


def test_a_case_closed_recently_is_kept(closed_case, settings):
    settings.GOVFLOW_RETENTION_ATTACHMENTS_DAYS = 500
    settings.GOVFLOW_RETENTION_SECRETS_DAYS = 500
    report = retention_purge()
    assert (report.attachments, report.secret_values) == (0, 0)
    closed_case.refresh_from_db()
    assert closed_case.data["legal_rep_id_number"]
