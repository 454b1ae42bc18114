"""Outbox consumer: publish an approved case's facts into the catalogue.

The row's payload names the case, the template's publication entry and where
the case got to (`approved` or an end that issues certificates); the row's
key makes each record version's idempotency key, so a redelivered row
writes nothing twice."""

from __future__ import annotations

from typing import Any

from govflow.outbox.services import consumer

from .publishing import TOPIC, records_publish


@consumer(TOPIC)
def publish_records(payload: dict[str, Any], key: str) -> None:
    records_publish(
        case_id=int(payload["case"]),
        publish=int(payload["publish"]),
        at=str(payload["at"]),
        on=str(payload["date"]),
        key=key,
    )
