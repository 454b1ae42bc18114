"""Outbox consumers for letters. Each one is idempotent (by its outbox key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from govflow.outbox.services import consumer

from .exclusions import TOPIC as EXCLUDED_TIME_TOPIC
from .exclusions import excluded_time_notify


@consumer(EXCLUDED_TIME_TOPIC)
def notify_excluded_time(payload: dict[str, Any], key: str) -> None:
    """The written notice of a step excluded from the clock (art 45), queued
    by govflow.cases.bridge when a case enters such a step."""
    excluded_time_notify(
        case_id=payload["case"], node_id=payload["node"], at=datetime.fromisoformat(payload["at"]), key=key
    )
