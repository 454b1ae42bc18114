"""Fixtures for the letters: signing keys of the test's own and a submitted
business-setup case (its market-regulation review open)."""

from __future__ import annotations

import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from govflow.cases.services import case_create, case_submit
from govflow.demo_cases import _data, accept_pending, attach_required_documents


@pytest.fixture
def keys(db, settings, tmp_path):
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())
    return Path(settings.GOVFLOW_KEYS_DIR)


@pytest.fixture
def submitted_case(base_data, now):
    applicant = base_data["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, company_name="北京远航物流有限公司"),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    accept_pending(case, now=now)  # 受理 by market regulation
    case.refresh_from_db()
    return case


def letter_path(letter) -> Path:
    return Path(settings.GOVFLOW_CERTIFICATES_DIR) / letter.file.name


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text with all white space removed."""
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return "".join(out.split())
