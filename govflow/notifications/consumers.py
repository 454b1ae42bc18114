"""Outbox consumers of the notifications app (idempotent per key)."""

from __future__ import annotations

from typing import Any

from govflow.outbox.services import consumer

from . import sms
from .applicant import TOPIC, applicant_notice_deliver


@consumer(TOPIC)
def applicant_notice(payload: dict[str, Any], key: str) -> None:
    applicant_notice_deliver(key=key, payload=payload)


@consumer(sms.TOPIC)
def send_sms(payload: dict[str, Any], key: str) -> None:
    # SmsNotSent propagates: the outbox retries the message with backoff.
    sms.sms_deliver(payload)
