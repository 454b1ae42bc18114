"""Whole-value encryption of the rows that copy personal data: webhook
deliveries (the exact body sent to an endpoint cleared for secret fields)
and API answers kept for Idempotency-Key replays."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from govflow.api.models import IdempotencyRecord
from govflow.webhooks.models import Delivery

pytestmark = pytest.mark.django_db
ID_NUMBER = "11010519491231002X"


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        (value,) = cursor.fetchone()
    return value if isinstance(value, str) else str(value)


def test_an_idempotency_answer_is_kept_sealed_and_replayed_intact(applicant):
    answer = {"reference": "ABCD2345", "data": {"legal_rep_id_number": ID_NUMBER}, "when": timezone.now()}
    record = IdempotencyRecord.objects.create(
        user=applicant,
        key="k1",
        endpoint="cases-create",
        fingerprint="f",
        status_code=201,
        response=answer,
        created_at=timezone.now(),
    )
    assert ID_NUMBER not in _raw("api_idempotencyrecord", "response", record.pk)
    again = IdempotencyRecord.objects.get(pk=record.pk)
    assert again.response["data"]["legal_rep_id_number"] == ID_NUMBER
    assert isinstance(again.response["when"], str)  # stored as the JSON column would: ISO 8601


def test_a_webhook_body_is_kept_sealed_and_sent_byte_for_byte(process_admin):
    from govflow.webhooks.services import endpoint_register

    endpoint, _secret = endpoint_register(
        actor=process_admin,
        name="exchange",
        url="https://example.gov.cn/hook",
        kinds=["case.submitted"],
        system="data exchange",
        cleared_for_secrets=True,
    )
    body = json.dumps({"data": {"legal_rep_id_number": ID_NUMBER}, "specversion": "1.0"})
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        kind="case.submitted",
        body=body,
        carries_secrets=True,
        created_at=now,
        give_up_at=now + timedelta(days=1),
    )
    assert ID_NUMBER not in _raw("webhooks_delivery", "body", delivery.pk)
    assert Delivery.objects.get(pk=delivery.pk).body == body


def test_rotate_data_key_reseals_the_other_sealed_columns_too(applicant, settings):
    from django.core.management import call_command

    from govflow.security.crypto import generate_key, keyring

    record = IdempotencyRecord.objects.create(
        user=applicant,
        key="k2",
        endpoint="cases-create",
        fingerprint="f",
        status_code=201,
        response={"id_number": ID_NUMBER},
        created_at=timezone.now(),
    )
    old_id = keyring().current.id
    assert f".{old_id}." in _raw("api_idempotencyrecord", "response", record.pk)
    new_key = generate_key()
    settings.GOVFLOW_DATA_KEYS = [new_key, *settings.GOVFLOW_DATA_KEYS]
    new_id = keyring().current.id
    call_command("rotate_data_key", stdout=io.StringIO())
    raw = _raw("api_idempotencyrecord", "response", record.pk)
    assert f".{new_id}." in raw
    assert f".{old_id}." not in raw
    settings.GOVFLOW_DATA_KEYS = [new_key]  # the old key removed
    assert IdempotencyRecord.objects.get(pk=record.pk).response == {"id_number": ID_NUMBER}
