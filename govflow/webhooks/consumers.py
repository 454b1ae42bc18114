"""Outbox consumer: one delivery attempt per row (see delivery.py).

A receiver that is down is not the outbox's failure: the attempt records it
on the Delivery, which has its own, longer retry schedule; the row is done.
Only an unexpected error (the database going away) propagates, for the
outbox to retry."""

from govflow.outbox.services import consumer

from .delivery import delivery_attempt
from .events import TOPIC


@consumer(TOPIC)
def deliver(payload: dict, key: str) -> None:
    delivery_attempt(delivery_id=int(payload["delivery"]), attempt=int(payload.get("attempt", 1)))
