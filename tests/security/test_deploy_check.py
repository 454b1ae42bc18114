"""`manage.py check --deploy` passes on the production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from govflow.security.crypto import generate_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_check_deploy_passes_on_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GOVFLOW_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="example.gov.cn",
        GOVFLOW_VAR_DIR=str(tmp_path),
        GOVFLOW_DATA_KEYS=generate_key(),
        GOVFLOW_DATA_HMAC_KEY=generate_key(),
        EMAIL_URL="smtps://govflow:secret@mail.example.gov.cn",  # else govflow.W401
        # Files in a bucket, else govflow.W402 (checking settings opens no connection).
        GOVFLOW_S3_BUCKET="govflow",
        GOVFLOW_S3_ENDPOINT_URL="http://seaweedfs.example.gov.cn:8333",
        GOVFLOW_S3_ACCESS_KEY="govflow",
        GOVFLOW_S3_SECRET_KEY=secrets.token_urlsafe(24),
    )
    result = _deploy_check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_refuses_to_start_without_personal_data_keys(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GOVFLOW_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="example.gov.cn",
        GOVFLOW_VAR_DIR=str(tmp_path),
    )
    result = _deploy_check(env)
    assert result.returncode != 0
    assert "govflow.E301" in result.stderr
    assert "GOVFLOW_DATA_KEYS" in result.stderr


def _deploy_check(env):
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            "--settings=govflow.settings.production",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_ALLOWED_HOSTS="example.gov.cn", GOVFLOW_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=govflow.settings.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
