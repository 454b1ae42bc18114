"""Who hears that an outbox row was given up or delivered after all.

The outbox knows nothing of what is done about a row it gave up on;
govflow.incidents opens an incident for it and closes it when the row gets
through, and registers for that in its AppConfig.ready. This keeps the
outbox below the apps that use it (no import cycle between the outbox and
the incidents: pyproject.toml, "No import cycles between govflow's apps").
Listeners run in the caller's transaction, under the outbox row's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

GivenUp = Callable[..., Any]  # (*, message, error, now)
Delivered = Callable[..., Any]  # (*, message_id, now)

_given_up: list[GivenUp] = []
_delivered: list[Delivered] = []


def on_given_up(listener: GivenUp) -> GivenUp:
    if listener not in _given_up:
        _given_up.append(listener)
    return listener


def on_delivered(listener: Delivered) -> Delivered:
    if listener not in _delivered:
        _delivered.append(listener)
    return listener


def given_up(*, message, error: str, now: datetime) -> None:
    for listener in list(_given_up):
        listener(message=message, error=error, now=now)


def delivered(*, message_id: int, now: datetime) -> None:
    for listener in list(_delivered):
        listener(message_id=message_id, now=now)
