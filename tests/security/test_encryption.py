"""Secret form values are encrypted at rest (govflow.cases.secrets).

The raw column never holds a secret value in clear text while every reader
through the ORM (and the raw-SQL hot path) gets it back intact; rotation
reseals under a new key while old keys keep working until removed; a key
that is missing or wrong is a clear error; the keyed hash finds a case;
retention still purges; and a reviewer's decision costs no extra statement.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from govflow import rawsql
from govflow.audit.models import AuditEvent
from govflow.audit.verification import audit_verify
from govflow.cases import rows
from govflow.cases.models import Case
from govflow.cases.resealing import cases_reseal
from govflow.cases.secrets import SecretDataField, open_data, seal_data, version_positions
from govflow.cases.selectors.lookup import case_find_by_secret
from govflow.cases.services import case_create, case_save_draft, case_withdraw, task_claim
from govflow.engine.identifiers import make_cn_id
from govflow.security.crypto import (
    DEVELOPMENT_DATA_KEY,
    DEVELOPMENT_HMAC_KEY,
    DataKeyError,
    data_keys_check,
    generate_key,
    keyring,
)
from tests.deciding import claim_and_complete
from tests.web.conftest import example, live_task, submitted

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
HOLDER_ID = make_cn_id("110105", date(1980, 5, 17), 31)
OTHER_HOLDER_ID = make_cn_id("310104", date(1975, 2, 3), 12)
KEY_B = generate_key()


def raw_data(case_id: int) -> str:
    """The column as the database holds it (what a dump would show)."""
    with connection.cursor() as cur:
        cur.execute("SELECT data FROM cases_case WHERE id = %s", [case_id])
        (value,) = cur.fetchone()
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def shareholders():
    row = {"subscribed_amount": "50000.00", "contribution_form": "cash", "due_date": "2030-12-31"}
    return [
        {"name": "张三", "id_number": HOLDER_ID, **row},
        {"name": "李四", "id_number": OTHER_HOLDER_ID.lower(), **row},
    ]


@pytest.fixture
def secret_case(base_data, applicant):
    data = example(
        "business_setup",
        legal_rep_id_number=ID_NUMBER,
        legal_rep_phone=PHONE,
        shareholders=shareholders(),
    )
    return case_create(applicant=applicant, template_code="business_setup", data=data)


def test_the_column_holds_no_secret_in_clear_and_the_orm_returns_it_intact(secret_case):
    raw = raw_data(secret_case.pk)
    for secret in (ID_NUMBER, PHONE, HOLDER_ID, OTHER_HOLDER_ID, OTHER_HOLDER_ID.lower()):
        assert secret not in raw
    stored = json.loads(raw)
    assert set(stored["legal_rep_id_number"]) == {"$enc", "$h"}
    # public and internal values, and the table's other columns, stay readable
    assert stored["company_name"] == secret_case.data["company_name"]
    assert [row["name"] for row in stored["shareholders"]] == ["张三", "李四"]
    assert all(set(row["id_number"]) == {"$enc", "$h"} for row in stored["shareholders"])

    case = Case.objects.get(pk=secret_case.pk)
    assert case.data["legal_rep_id_number"] == ID_NUMBER
    assert case.data["legal_rep_phone"] == PHONE
    assert [row["id_number"] for row in case.data["shareholders"]] == [HOLDER_ID, OTHER_HOLDER_ID.lower()]
    assert case.data == secret_case.data
    # values(), a key read on its own, and the hot path's raw SELECT open it too
    assert Case.objects.values_list("data", flat=True).get(pk=case.pk) == case.data
    assert Case.objects.values_list("data__legal_rep_id_number", flat=True).get(pk=case.pk) == ID_NUMBER
    table = Case.objects.values_list("data__shareholders", flat=True).get(pk=case.pk)
    assert [row["id_number"] for row in table] == [HOLDER_ID, OTHER_HOLDER_ID.lower()]
    assert rows.lock_case(case.pk).data == case.data


def test_a_secret_table_has_every_cell_sealed():
    from govflow.cases.secrets import SecretPositions
    from govflow.engine.forms import FieldSpec, FormSpec

    column = FieldSpec(id="note", type="text", label={"zh": "备注", "en": "Note"})
    table = FieldSpec(
        id="contacts",
        type="table",
        label={"zh": "联系人", "en": "Contacts"},
        sensitivity="secret",
        columns=(column,),
    )

    positions = SecretPositions.of(FormSpec(fields=(table,), attachments=()))
    sealed = seal_data({"contacts": [{"note": "周五上午联系"}]}, positions)
    assert "周五上午联系" not in json.dumps(sealed, ensure_ascii=False)
    assert open_data(sealed) == {"contacts": [{"note": "周五上午联系"}]}


def test_through_submission_and_review_no_table_holds_a_secret_in_clear(
    base_data, applicant, market_reviewer, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    case = submitted(
        applicant,
        "business_setup",
        legal_rep_id_number=ID_NUMBER,
        legal_rep_phone=PHONE,
        shareholders=shareholders(),
    )
    task = live_task(case, "registration")
    task_claim(task_id=task.pk, actor=market_reviewer)
    claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve", opinion="同意")
    # the reviewer's page shows the cleared fields unmasked: read through the ORM
    reviewer = Client()
    reviewer.force_login(market_reviewer)
    page = reviewer.get(f"/cases/{case.reference}/").content.decode()
    assert ID_NUMBER in page
    # a dump of every table: no secret value anywhere
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        tables = connection.introspection.table_names(cur)
        for table in tables:
            if connection.vendor == "postgresql":
                cur.execute(f"SELECT t::text FROM {quote(table)} t")
            else:
                cur.execute(f"SELECT * FROM {quote(table)}")
            dump = "\n".join(str(row) for row in cur.fetchall())
            for secret in (ID_NUMBER, PHONE, HOLDER_ID, OTHER_HOLDER_ID, OTHER_HOLDER_ID.lower()):
                assert secret not in dump, f"{secret[:4]}… in clear in {table}"


def test_sealing_is_idempotent_and_an_unchanged_save_writes_the_same_bytes(secret_case):
    before = raw_data(secret_case.pk)
    case = Case.objects.select_related("version").get(pk=secret_case.pk)
    field = Case._meta.get_field("data")
    once = field.pre_save(case, add=False)
    case.data = once  # already sealed values assigned back: sealed to themselves, not twice
    assert field.pre_save(case, add=False) == once
    assert open_data(once) == secret_case.data
    case.data = secret_case.data
    case.save(update_fields=["data"])
    assert raw_data(case.pk) == before


def test_input_shaped_like_an_envelope_is_kept_as_data(base_data, applicant):
    token = keyring().seal("11010519491231002X", "company_name")
    forged = {"$enc": "gf1.00000000.AAAA", "$h": "x"}
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data={"company_name": token, "legal_rep_id_number": forged, "shareholders": [{"name": forged}]},
    )
    assert Case.objects.get(pk=case.pk).data == {
        "company_name": "11010519491231002X",  # a real envelope at a public position is opened there
        "legal_rep_id_number": forged,
        "shareholders": [{"name": forged}],
    }
    case_save_draft(case_id=case.pk, actor=applicant, data={"company_name": forged})
    assert Case.objects.get(pk=case.pk).data == {"company_name": forged}


def test_rotation_reseals_and_old_keys_work_until_removed(secret_case, settings):
    old_id = keyring().current.id
    settings.GOVFLOW_DATA_KEYS = [KEY_B, DEVELOPMENT_DATA_KEY]
    new_id = keyring().current.id
    assert Case.objects.get(pk=secret_case.pk).data == secret_case.data  # the old key still reads

    out = io.StringIO()
    call_command("rotate_data_key", "--dry-run", stdout=out)
    assert "would reseal" in out.getvalue()
    assert f"still hold values sealed with data key {old_id}" in out.getvalue()
    assert f".{old_id}." in raw_data(secret_case.pk)  # a dry run changes nothing

    out = io.StringIO()
    call_command("rotate_data_key", "--batch-size", "1", stdout=out)
    raw = raw_data(secret_case.pk)
    assert f".{old_id}." not in raw
    assert f".{new_id}." in raw
    assert ID_NUMBER not in raw
    resealed = AuditEvent.objects.filter(action="DATA_RESEALED")
    assert any(secret_case.pk in event.data["cases"] for event in resealed)
    rotated = AuditEvent.objects.filter(action="DATA_KEY_ROTATED").latest("id")
    assert rotated.object_id == new_id
    assert rotated.data["keys_in_use_before"][old_id] >= 1
    assert audit_verify() is None

    # again: nothing left to do, nothing written
    out = io.StringIO()
    call_command("rotate_data_key", stdout=out)
    assert out.getvalue().startswith("resealed 0 of")

    settings.GOVFLOW_DATA_KEYS = [KEY_B]  # the old key removed
    assert Case.objects.get(pk=secret_case.pk).data == secret_case.data


def test_rotation_seals_rows_written_before_encryption(secret_case):
    plain = dict(secret_case.data)
    with connection.cursor() as cur:  # a row as it was before migration 0003
        cur.execute(
            "UPDATE cases_case SET data = %s WHERE id = %s",
            [Case._meta.get_field("data").get_db_prep_save(plain, connection), secret_case.pk],
        )
    assert ID_NUMBER in raw_data(secret_case.pk)
    assert Case.objects.get(pk=secret_case.pk).data == plain  # plain rows read as they are
    report = cases_reseal(batch_size=2)
    assert report.resealed >= 1
    assert ID_NUMBER not in raw_data(secret_case.pk)
    assert Case.objects.get(pk=secret_case.pk).data == plain


def test_a_value_sealed_with_a_key_no_longer_configured_is_a_clear_error(
    secret_case, applicant, settings, caplog
):
    old_id = keyring().current.id
    settings.GOVFLOW_DATA_KEYS = [KEY_B]
    with pytest.raises(DataKeyError) as raised:
        Case.objects.get(pk=secret_case.pk)
    assert old_id in raised.value.message
    assert "GOVFLOW_DATA_KEYS" in raised.value.message

    browser = Client()
    browser.force_login(applicant)
    caplog.set_level(logging.ERROR)
    page = browser.get(f"/cases/{secret_case.reference}/")
    assert page.status_code == 500
    text = page.content.decode()
    for technical in ("Traceback", "DataKeyError", "GOVFLOW_DATA_KEYS", old_id):
        assert technical not in text
    assert "请求未能完成" in text
    assert any(old_id in record.getMessage() for record in caplog.records)  # for the operator

    api = Client()
    api.force_login(applicant)
    answer = api.get(f"/api/v1/cases/{secret_case.reference}/")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "data_key"


def test_an_altered_envelope_does_not_open(secret_case):
    stored = json.loads(raw_data(secret_case.pk))
    stored["legal_rep_phone"] = stored["legal_rep_id_number"]  # moved to another field
    with pytest.raises(DataKeyError) as raised:
        open_data(stored)
    assert "legal_rep_phone" in raised.value.message


def test_missing_or_malformed_keys_fail_the_system_check(settings):
    settings.GOVFLOW_DATA_KEYS = []
    [problem] = data_keys_check()
    assert problem.id == "govflow.E301"
    assert "GOVFLOW_DATA_KEYS" in problem.msg
    with pytest.raises(DataKeyError):
        keyring()
    settings.GOVFLOW_DATA_KEYS = ["not-a-key"]
    assert data_keys_check()[0].id == "govflow.E301"
    settings.GOVFLOW_DATA_KEYS = [KEY_B]
    settings.GOVFLOW_DATA_HMAC_KEY = ""
    assert "GOVFLOW_DATA_HMAC_KEY" in data_keys_check()[0].msg
    settings.GOVFLOW_DATA_HMAC_KEY = generate_key()
    assert data_keys_check() == []
    settings.GOVFLOW_DATA_KEYS = [DEVELOPMENT_DATA_KEY]
    assert data_keys_check()[0].id == "govflow.W301"
    settings.GOVFLOW_DATA_KEYS = [KEY_B]
    settings.GOVFLOW_DATA_HMAC_KEY = DEVELOPMENT_HMAC_KEY
    assert data_keys_check()[0].id == "govflow.W301"


def test_the_keyed_hash_finds_the_case(secret_case, base_data, applicant, other_applicant):
    other = case_create(
        applicant=other_applicant,
        template_code="business_setup",
        data=example("business_setup", legal_rep_id_number=HOLDER_ID),
    )
    # white space and letter case do not matter; the value is never stored in clear
    found = case_find_by_secret(field="legal_rep_id_number", value=" 11010519491231002x ")
    assert [c.pk for c in found] == [secret_case.pk]
    found = case_find_by_secret(field="shareholders.id_number", value=OTHER_HOLDER_ID)
    assert [c.pk for c in found] == [secret_case.pk]
    # the same number in another field of another case
    assert [c.pk for c in case_find_by_secret(field="legal_rep_id_number", value=HOLDER_ID)] == [other.pk]
    assert [c.pk for c in case_find_by_secret(field="shareholders.id_number", value=HOLDER_ID)] == [
        secret_case.pk
    ]
    assert case_find_by_secret(field="legal_rep_phone", value="13800000000") == []
    # a public field has no hash: never found this way
    assert case_find_by_secret(field="company_name", value=secret_case.data["company_name"]) == []
    assert (
        case_find_by_secret(field="legal_rep_id_number", value=ID_NUMBER, template="construction_permit")
        == []
    )


def test_the_lookup_command_reads_the_value_from_stdin_and_is_audited(secret_case, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PHONE + "\n"))
    out, err = io.StringIO(), io.StringIO()
    call_command("find_cases_by_secret", "legal_rep_phone", stdout=out, stderr=err)
    assert secret_case.reference in out.getvalue()
    assert "1 case(s)" in err.getvalue()
    event = AuditEvent.objects.filter(action="SECRET_LOOKUP").latest("id")
    assert event.object_id == "legal_rep_phone"
    assert event.data["cases"] == [secret_case.reference]
    assert PHONE not in json.dumps(event.data)


@pytest.mark.postgres
def test_the_lookup_uses_the_gin_index(secret_case):
    from govflow.cases.secrets import HASHES_SQL

    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(
            f"EXPLAIN SELECT id FROM cases_case WHERE {HASHES_SQL.format(data='data')} @> %s::jsonb",
            [json.dumps([keyring().lookup_hash(ID_NUMBER)])],
        )
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "case_secret_hashes" in plan


def test_retention_still_blanks_secret_values(base_data, applicant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GOVFLOW_RETENTION_SECRETS_DAYS = 30
    case = submitted(applicant, "business_setup", legal_rep_id_number=ID_NUMBER, shareholders=shareholders())
    case_withdraw(case_id=case.pk, actor=applicant, reason="测试")
    Case.objects.filter(pk=case.pk).update(completed_at=timezone.now() - timedelta(days=40))
    call_command("purge_retention", stdout=io.StringIO())
    case = Case.objects.get(pk=case.pk)
    assert case.data["legal_rep_id_number"] is None
    assert case.data["legal_rep_phone"] is None
    assert [row["id_number"] for row in case.data["shareholders"]] == [None, None]
    assert [row["name"] for row in case.data["shareholders"]] == ["张三", "李四"]
    stored = json.loads(raw_data(case.pk))
    assert stored["legal_rep_id_number"] is None
    assert "$enc" not in raw_data(case.pk)
    assert case_find_by_secret(field="legal_rep_id_number", value=ID_NUMBER) == []
    assert audit_verify() is None


def _plain_field(monkeypatch):
    """Case.data as a plain JSONField: what the hot path cost before."""
    from django.db.models import JSONField

    monkeypatch.setattr(SecretDataField, "pre_save", JSONField.pre_save)
    monkeypatch.setattr(SecretDataField, "from_db_value", JSONField.from_db_value)
    rawsql.converters.cache_clear()


def _decision_statements(case, reviewer) -> int:
    from django.test.utils import CaptureQueriesContext

    from govflow.cases.bridge import forget_departments

    task = live_task(case, "registration")
    task_claim(task_id=task.pk, actor=reviewer)
    # The decision opens tasks in six departments, whose ids the bridge caches
    # per process; whether the first decision finds them cached depends on the
    # tests run before it on the worker (a transactional one reloads the base
    # data, which empties the cache). Both decisions start from an empty one.
    forget_departments()
    with CaptureQueriesContext(connection) as queries:
        claim_and_complete(task_id=task.pk, actor=reviewer, outcome="approve", opinion="同意")
    return len(queries)


def test_encryption_adds_no_statement_to_a_reviewers_decision(
    base_data, applicant, market_reviewer, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    sealed_case = submitted(
        applicant,
        "business_setup",
        company_name="北京加密甲有限公司",
        legal_rep_id_number=ID_NUMBER,
        shareholders=shareholders(),
    )
    assert ID_NUMBER not in raw_data(sealed_case.pk)
    sealed = _decision_statements(sealed_case, market_reviewer)
    with monkeypatch.context() as patch:
        _plain_field(patch)
        plain_case = submitted(
            applicant,
            "business_setup",
            company_name="北京明文乙有限公司",
            legal_rep_id_number=ID_NUMBER,
            shareholders=shareholders(),
        )
        assert ID_NUMBER in raw_data(plain_case.pk)
        plain = _decision_statements(plain_case, market_reviewer)
    rawsql.converters.cache_clear()
    assert sealed == plain


@pytest.mark.postgres
def test_seeded_history_is_sealed_too(base_data):
    from datetime import UTC, datetime

    from govflow.insight.seeding import seed_history

    seed_history(cases=12, seed=5, since=date(2026, 3, 2), now=datetime(2026, 6, 30, 8, 0, tzinfo=UTC))
    seeded = Case.objects.filter(reference__startswith="HIS").select_related("version")
    assert seeded.count() == 12
    for case in seeded:
        positions = version_positions(case.version)
        raw = json.loads(raw_data(case.pk))
        for name in positions.fields:
            if case.data.get(name):
                assert set(raw[name]) == {"$enc", "$h"}
                assert str(case.data[name]) not in raw_data(case.pk)


def test_development_keys_are_reported_by_check_deploy_only(settings):
    """The embedded default runs on the public development keys: every
    command would otherwise print the warning into output that other tools
    read (simulate_process --json); `check --deploy` still says it."""
    from django.core.checks import run_checks

    settings.SILENCED_SYSTEM_CHECKS = []
    assert "govflow.W301" not in {m.id for m in run_checks(include_deployment_checks=False)}
    assert "govflow.W301" in {m.id for m in run_checks(include_deployment_checks=True)}
