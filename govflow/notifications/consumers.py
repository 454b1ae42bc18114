"""Outbox consumers of the notifications app (idempotent per key)."""

from __future__ import annotations

from typing import Any

from govflow.outbox.services import consumer

from .applicant import TOPIC, applicant_notice_deliver


@consumer(TOPIC)
def applicant_notice(payload: dict[str, Any], key: str) -> None:
    applicant_notice_deliver(key=key, payload=payload)
