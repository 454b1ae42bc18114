"""The credit list: who it names, how long, and the admin that keeps it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from govflow.audit.models import AuditEvent
from govflow.credit.models import CreditListEntry
from govflow.credit.selectors import commitment_exclusion, may_use_commitments, subject_codes
from govflow.credit.services import credit_entry_add
from govflow.engine.forms import AttachmentSpec, FieldSpec, FormSpec
from govflow.errors import InvalidInput

pytestmark = pytest.mark.procedure

USCC = "91110000600037341L"
ID_NUMBER = "11010519491231002X"
OTHER_ID = "360426199101010071"
TODAY = date(2026, 3, 3)


def _field(id_, type_, **kw):
    return FieldSpec(id=id_, type=type_, label={"zh": id_, "en": id_}, **kw)


FORM = FormSpec(
    fields=(
        _field("company_uscc", "uscc"),
        _field("rep_id", "cn_id_number"),
        _field("name", "text"),
        _field("holders", "table", columns=(_field("holder_id", "cn_id_number"), _field("n", "text"))),
    ),
    attachments=(AttachmentSpec(id="a", label={"zh": "a", "en": "a"}, types=("application/pdf",)),),
)


def test_the_applicants_identifiers_come_from_every_id_field_tables_too():
    data = {
        "company_uscc": USCC.lower(),
        "rep_id": ID_NUMBER,
        "name": ID_NUMBER,  # a text field is not an identifier
        "holders": [{"holder_id": OTHER_ID, "n": "x"}, {"holder_id": ID_NUMBER, "n": "y"}],
    }

    assert subject_codes(FORM, data) == [USCC, ID_NUMBER, OTHER_ID]


@pytest.mark.django_db
def test_an_entry_excludes_within_its_validity_only(process_admin):
    credit_entry_add(
        code=USCC,
        reason="严重失信",
        source="信用中国",
        actor=process_admin,
        valid_from=TODAY,
        valid_until=TODAY + timedelta(days=30),
    )

    assert may_use_commitments([OTHER_ID], today=TODAY)
    assert not may_use_commitments([OTHER_ID, USCC.lower()], today=TODAY)
    assert commitment_exclusion([USCC], today=TODAY).source == "信用中国"
    assert may_use_commitments([USCC], today=TODAY - timedelta(days=1))
    assert may_use_commitments([USCC], today=TODAY + timedelta(days=31))
    audit = AuditEvent.objects.get(action="CREDIT_LISTED")
    assert USCC not in audit.object_id  # the identifier is masked in the trail


@pytest.mark.django_db
def test_a_code_that_is_neither_identifier_is_refused(process_admin):
    with pytest.raises(InvalidInput):
        credit_entry_add(code="91110000600037341X", reason="r", source="s", actor=process_admin)

    assert not CreditListEntry.objects.exists()


@pytest.mark.django_db
def test_admins_keep_the_list_in_the_admin(process_admin):
    client = Client()
    client.force_login(process_admin)
    url = "/admin/credit/creditlistentry/add/"
    form = {"code": "x", "reason": "r", "source": "s", "valid_from": "2026-03-03", "valid_until": ""}

    refused = client.post(url, form)
    added = client.post(url, {**form, "code": ID_NUMBER.lower()})

    assert refused.status_code == 200
    assert added.status_code == 302
    entry = CreditListEntry.objects.get()
    assert entry.code == ID_NUMBER
    assert entry.kind == "id_number"
    assert AuditEvent.objects.filter(action="CREDIT_LISTED").count() == 1
