"""The events `step()` applies: what happened outside the engine (a case
started, a reviewer decided, a timer fell due ...). Each is handled by one
entry of `govflow.engine.runtime.EVENT_HANDLERS`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Start:
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompleteTask:
    task_id: str
    outcome: str
    actor: str | None = None
    opinion: str | None = None
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SubmitCorrection:
    task_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceDone:
    task_id: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FireTimer:
    timer_id: str


@dataclass(frozen=True, slots=True)
class Signal:
    """A message from another system (a fee paid, a filing made): moves on
    every token waiting for `name` at a `signal` node; `data` becomes
    `result.<node>.<key>`."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Withdraw:
    actor: str | None = None
    reason: str | None = None


Event = Start | CompleteTask | SubmitCorrection | ServiceDone | FireTimer | Signal | Withdraw
