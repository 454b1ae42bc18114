"""The storage tests' bucket: SeaweedFS (tests/servers/seaweedfs.py, one
server per session), with a prefix of each test's own."""

from __future__ import annotations

import uuid

import pytest

from govflow.settings.storage import storages_from_environment
from tests.servers.seaweedfs import Bucket, s3_environment, seaweedfs  # noqa: F401  (a fixture)


@pytest.fixture
def bucket(settings, seaweedfs, tmp_path):  # noqa: F811
    """Files go to SeaweedFS for this test (STORAGES as production builds it
    from GOVFLOW_S3_*), under a prefix of its own; local folders are empty
    temporary ones, so a file written there would be seen."""
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GOVFLOW_CERTIFICATES_DIR = tmp_path / "certificates"
    settings.STORAGES = storages_from_environment(s3_environment(seaweedfs, prefix))
    return Bucket(seaweedfs, prefix)
