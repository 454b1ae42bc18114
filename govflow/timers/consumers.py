"""Outbox consumer: recompute provisional deadlines after a calendar year is
loaded through the admin (the load_calendar command does it at once)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from govflow.outbox.services import consumer

from .services import RECOMPUTE_TOPIC, timers_recompute


@consumer(RECOMPUTE_TOPIC)
def recompute(payload: dict[str, Any], key: str) -> None:
    # Idempotent: a second run finds nothing left to change.
    actor_id = payload.get("actor")
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    timers_recompute(code=payload.get("calendar"), actor=actor)
