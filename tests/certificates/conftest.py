"""Fixtures for the certificate tests: signing keys, and cases driven to
approval through the real services (the outbox consumer issues the
certificates, as a worker would)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.certificates.models import Certificate
from govflow.demo_cases import _data, _drive, attach_required_documents
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish, version_definition
from tests.deciding import claim_and_complete

ROOT = Path(__file__).resolve().parents[2]
REVIEW_YAML = ROOT / "tests" / "data" / "services" / "review.yaml"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def keys(db, settings, tmp_path):
    """Signing keys of this test's own (tests delete and rotate them)."""
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())
    return Path(settings.GOVFLOW_KEYS_DIR)


@pytest.fixture
def users(base_data):
    return base_data


def approve_business_setup(users, now, **overrides):
    """A business-setup case approved by every department (through the
    services); its certificates are issued by the outbox consumer."""
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, **overrides),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    definition = version_definition(case.version)
    _drive(case, {n.id: "approve" for n in definition.user_tasks()}, users, now)
    outbox_drain()
    case.refresh_from_db()
    return case


@pytest.fixture
def business_case(keys, users, now):
    return approve_business_setup(
        users,
        now,
        company_name="北京远航物流有限公司",
        legal_rep_name="王小明",
        registered_capital="100.00",
        business_scope="一般项目：国内货物运输代理；普通货物仓储服务（不含危险化学品等需许可审批的项目）。",
        address="北京市朝阳区建国路88号",
        operating_years=None,  # 长期
    )


@pytest.fixture
def licence(business_case):
    return Certificate.objects.get(case=business_case, type="business_licence")


def construction_case(users, now, **overrides):
    """A construction project submitted and driven through stage 1, which
    issues the land-use planning permit; the case stays in review."""
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="construction_permit",
        data=_data("construction_permit", now, **overrides),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    definition = version_definition(case.version)
    stage_1 = {n.id: "approve" for n in definition.user_tasks() if n.id.startswith("s1_")}
    _drive(case, stage_1, users, now)
    outbox_drain()
    case.refresh_from_db()
    return case


@pytest.fixture
def review_case(keys, users, now):
    """The test template: intake and fire approved, tax deemed approved on
    timeout (silent consent with its legal basis), then approved."""
    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="test_review",
        data={"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"},
        now=now,
    )
    case_submit(case_id=case.pk, actor=applicant, now=now)
    decide(case, "intake", users["market_regulation_reviewer"], now)
    decide(case, "fire", users["fire_reviewer"], now)
    later = now + timedelta(days=7)
    timers_fire_due(now=later)
    outbox_drain()
    case.refresh_from_db()
    return case


def decide(case, node_id, user, now):
    task = Task.objects.get(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    claim_and_complete(task_id=task.pk, actor=user, outcome="approve", opinion="同意", now=now)


def pdftotext(path: Path) -> str:
    """The PDF's text with all white space removed (letter-spaced titles and
    wrapped lines compare as written)."""
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return "".join(out.split())


def pdffonts(path: Path) -> str:
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def to_png(pdf: Path, out_stem: Path, dpi: int = 110) -> Path:
    """The PDF's first page as a PNG in a private folder next to `pdf`,
    copied to `out_stem`.png for people to look at (another xdist worker
    may overwrite that copy at any time, so the test reads its own)."""
    private = pdf.parent / f"{out_stem.name}.{os.getpid()}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(private)],
        check=True,
        timeout=120,
    )
    png = private.with_name(f"{private.name}.png")
    _publish(png, out_stem.with_suffix(".png"))
    return png


def certificate_path(certificate: Certificate) -> Path:
    return Path(settings.GOVFLOW_CERTIFICATES_DIR) / certificate.file.name


def save_artifact(certificate: Certificate, name: str) -> Path:
    """Copy the certificate to test-artifacts/`name`.pdf for people to look
    at, and return the certificate's own file, which is the one to test:
    another xdist worker may save a different certificate under the same
    artifact name at any moment."""
    ARTIFACTS.mkdir(exist_ok=True)
    own = certificate_path(certificate)
    _publish(own, ARTIFACTS / f"{name}.pdf")
    return own


def _publish(source: Path, target: Path) -> None:
    # Written aside, then renamed over: a reader of the artifact never sees
    # a half-copied file.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
