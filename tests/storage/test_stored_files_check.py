"""check_stored_files after a restore: every row finds its object in the
bucket; a missing object, and with --hashes an altered one, is listed and
the command exits 1."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from govflow.cases.models import Attachment
from govflow.certificates.models import Certificate
from govflow.storage_check import stored_files_check
from tests.certificates.conftest import approve_business_setup, keys, users  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.storage,
    pytest.mark.certificates,
    pytest.mark.xdist_group("storage"),
]


@pytest.fixture
def case(bucket, keys, users, now):  # noqa: F811
    return approve_business_setup(users, now, company_name="北京恢复核对科技有限公司")


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("check_stored_files", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


def test_a_complete_restore_is_clean(bucket, case):
    assert Attachment.objects.filter(case=case).count() == 3
    assert Certificate.objects.filter(case=case).count() == 2
    assert run("--hashes") == (0, "")


def test_a_missing_and_an_altered_object_are_listed(bucket, case):
    attachment = Attachment.objects.filter(case=case).order_by("pk").first()
    licence = Certificate.objects.get(case=case, type="business_licence")
    bucket.delete(attachment.file.name)
    bucket.write(f"certificates/{licence.file.name}", b"%PDF-1.7 not the one signed")

    problems = [str(problem) for problem in stored_files_check(hashes=True)]
    status, output = run()

    assert problems == [
        f"attachment {attachment.pk}: {attachment.file.name} missing",
        f"certificate {licence.number}: {licence.file.name} sha256 differs",
    ]
    assert (status, output) == (1, f"attachment {attachment.pk}: {attachment.file.name} missing\n")
