"""An approved case publishes its records, once, into datasets its own
process owns."""

import pytest

from govflow.catalog.models import Record, RecordVersion

from .conftest import credit_code_of, publish_pending

pytestmark = pytest.mark.django_db


def test_an_approved_business_setup_publishes_its_company_record(company):
    code = credit_code_of(company)

    record = Record.objects.get(dataset__code="company_register", key=code)

    assert record.version == 1
    assert record.case == company
    assert record.data["company_name"] == "北京数据共享科技有限公司"
    assert record.data["credit_code"] == code
    assert record.data["status"] == "active"
    assert record.data["legal_rep_id_number"] == "11010519491231002X"
    assert record.data["source_case"] == company.reference
    assert [v.case_id for v in record.versions.all()] == [company.pk]


def test_a_redelivered_publication_writes_nothing_twice(company):
    from govflow.catalog.publishing import records_publish
    from govflow.outbox.models import OutboxMessage

    message = OutboxMessage.objects.get(topic="catalog_publish", payload__case=company.pk)
    payload = message.payload

    again = records_publish(
        case_id=payload["case"],
        publish=payload["publish"],
        at=payload["at"],
        on=payload["date"],
        key=message.key,
    )

    assert again == []
    assert RecordVersion.objects.filter(record__dataset__code="company_register").count() == 1
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None)
    assert publish_pending() == 1  # consumed again: done, and still one version
    assert Record.objects.get(key=credit_code_of(company)).version == 1


def test_a_second_case_of_the_owning_process_adds_a_version_naming_it(users, applicant, company):
    from govflow.cases.models import Case
    from govflow.catalog.publishing import records_publish

    code = credit_code_of(company)
    # The same company's record written again by the owning process (as a
    # change registration would): the record keeps its history.
    later = Case.objects.get(pk=company.pk)
    records_publish(
        case_id=later.pk, publish=0, at="approved", on="2026-03-04", key=f"{later.pk}:amend:catalog:0"
    )

    record = Record.objects.get(key=code)
    assert record.version == 2
    assert [(v.number, v.case_id) for v in record.versions.order_by("number")] == [
        (1, company.pk),
        (2, company.pk),
    ]
    assert record.data["established_on"] == "2026-03-04"


OTHER_PROCESS = """
id: rogue_register
title: {zh: 冒用登记, en: Rogue register}
form:
  fields:
    - {id: code, type: uscc, required: true, label: {zh: 代码, en: Code}}
    - {id: name, type: text, required: true, label: {zh: 名称, en: Name}}
nodes:
  - {id: start, type: start, next: review}
  - id: review
    type: user_task
    title: {zh: 审核, en: Review}
    department: housing_construction
    outcomes: {approve: done}
  - {id: done, type: end, title: {zh: 办结, en: Done}, outcome: approved}
catalog:
  publishes:
    - dataset: company_register
      at: approved
      key: code
      fields: {credit_code: code, company_name: name}
"""


def test_records_change_only_through_their_owning_process(users, applicant, company):
    from django.contrib import admin

    from govflow.cases.services import case_create
    from govflow.incidents.models import Incident
    from govflow.outbox.models import OutboxMessage
    from govflow.processes.services import process_publish

    from .conftest import drive, submit

    code = credit_code_of(company)
    process_publish(source=OTHER_PROCESS)
    rogue = case_create(
        applicant=applicant, template_code="rogue_register", data={"code": code, "name": "改名公司"}
    )
    submit(rogue, applicant)

    drive(rogue, users)
    for _ in range(5):  # every allowed attempt
        OutboxMessage.objects.filter(topic="catalog_publish", payload__case=rogue.pk).update(
            next_attempt_at=None
        )
        publish_pending()

    record = Record.objects.get(key=code)
    assert rogue.status == "approved"
    assert record.version == 1
    assert record.data["company_name"] == "北京数据共享科技有限公司"
    message = OutboxMessage.objects.get(topic="catalog_publish", payload__case=rogue.pk)
    assert message.failed_at is not None
    assert "owned by process 'business_setup'" in message.last_error
    assert Incident.objects.filter(message=message).exists()
    # and no admin page edits records
    assert Record not in admin.site._registry
    assert RecordVersion not in admin.site._registry


def test_the_register_keeps_secret_fields_sealed_in_the_database(company):
    """The legal representative's ID number is secret in the dataset: the
    columns of records, their versions and the applicants' fact claims never
    hold it in clear, while every reader gets it back intact."""
    from django.db import connection

    from .conftest import LEGAL_REP_ID

    record = Record.objects.get(dataset__code="company_register", key=credit_code_of(company))
    assert LEGAL_REP_ID in {str(v) for v in record.data.values()}
    with connection.cursor() as cursor:
        for table, column in (
            ("catalog_record", "data"),
            ("catalog_recordversion", "data"),
            ("catalog_factclaim", "value"),
        ):
            cursor.execute(f"SELECT CAST({column} AS TEXT) FROM {table}")
            assert all(LEGAL_REP_ID not in (row[0] or "") for row in cursor.fetchall()), table
    # The public key still finds the record through the JSON column.
    assert Record.objects.filter(data__credit_code=credit_code_of(company)).count() == 1
