"""certificate_keys: idempotent, and a rotated key leaves earlier
certificates verifying while new ones are signed with the new key."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from govflow.certificates.keys import department_paths, fingerprint, load_cert
from govflow.certificates.services import certificate_verify_pdf

from .conftest import approve_business_setup, certificate_path

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


def test_the_command_is_idempotent_and_keys_are_private(keys):
    paths = department_paths("market_regulation")
    before = paths.cert.read_bytes()
    out = StringIO()
    call_command("certificate_keys", stdout=out)
    assert "created" not in out.getvalue()
    assert paths.cert.read_bytes() == before
    assert paths.key.stat().st_mode & 0o077 == 0
    with pytest.raises(CommandError):
        call_command("certificate_keys", "--rotate", "no_such_department", stdout=StringIO())


def test_rotation_keeps_old_certificates_valid(licence, users, now):
    old_fingerprint = licence.signer_fingerprint
    out = StringIO()
    call_command("certificate_keys", "--rotate", "market_regulation", stdout=out)
    assert "rotated market_regulation" in out.getvalue()
    new_fingerprint = fingerprint(load_cert(department_paths("market_regulation").cert))
    assert new_fingerprint != old_fingerprint
    assert certificate_verify_pdf(certificate_path(licence).read_bytes()).status == "valid"
    from govflow.certificates.models import Certificate

    case = approve_business_setup(users, now, company_name="北京轮换密钥科技有限公司")
    newer = Certificate.objects.get(case=case, type="business_licence")
    assert newer.signer_fingerprint == new_fingerprint
    assert certificate_verify_pdf(certificate_path(newer).read_bytes()).status == "valid"
