"""A certificate rendered and signed by the outbox consumer (as a worker
would) is stored in the bucket, downloads through the web and the API after
the permission check, and a tampered PDF is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from govflow.certificates.models import Certificate
from tests.api.conftest import api_client, assert_error
from tests.certificates.conftest import approve_business_setup, keys, users  # noqa: F401
from tests.web.conftest import login

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.storage,
    pytest.mark.certificates,
    pytest.mark.xdist_group("storage"),
]


@pytest.fixture
def licence(bucket, keys, users, now):  # noqa: F811
    case = approve_business_setup(users, now, company_name="北京云桥科技有限公司")
    return Certificate.objects.select_related("case").get(case=case, type="business_licence")


def test_a_rendered_certificate_is_in_the_bucket_and_downloads(settings, bucket, licence, applicant):
    key = f"certificates/{licence.file.name}"
    stored = bucket.read(key)
    web = login(applicant).get(f"/verify/download/{licence.number}/")
    api = api_client(applicant).get(f"/api/v1/certificates/{licence.number}/content/")

    assert key in bucket.names()
    assert stored.startswith(b"%PDF")
    assert hashlib.sha256(stored).hexdigest() == licence.sha256
    assert not Path(settings.GOVFLOW_CERTIFICATES_DIR).exists() or not any(
        Path(settings.GOVFLOW_CERTIFICATES_DIR).rglob("*.pdf")
    )
    for response in (web, api):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == stored


def test_outsiders_get_404_and_a_tampered_pdf_is_refused(bucket, licence, applicant, other_applicant):
    assert login(other_applicant).get(f"/verify/download/{licence.number}/").status_code == 404
    bucket.write(f"certificates/{licence.file.name}", b"%PDF-1.7 forged")

    web = login(applicant).get(f"/verify/download/{licence.number}/")
    api = api_client(applicant).get(f"/api/v1/certificates/{licence.number}/content/")

    assert web.status_code == 500
    assert b"forged" not in web.content
    assert_error(api, 500, "file_integrity")
