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
    # A structured correction notice (govflow.engine.notices): required with
    # an acceptance's `notice`, optional with a return to a correction node.
    notice: tuple[Mapping[str, Any], ...] | None = None
    # The legal basis of a refusal to accept (不予受理).
    legal_basis: str | None = None


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
class Objection:
    """Someone of the public objects during a public notice (公示): every
    token resting on a `publicity` node (or only on `node`, when given)
    leaves the notice for the node's objection review."""

    node: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitApplicantTask:
    """The applicant completes an `applicant_task` (supplies the fields it
    asks for, confirms its statement)."""

    task_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class Withdraw:
    actor: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnTask:
    """退回: the reviewer of an open task sends the case back to `target`,
    an earlier user task it has passed; with `come_back` the target's
    approval brings it straight back to this step (回到我)."""

    task_id: str
    target: str
    actor: str | None = None
    opinion: str | None = None
    come_back: bool = False


@dataclass(frozen=True, slots=True)
class TakeBack:
    """撤回/拿回: the reviewer who decided `task_id` takes the decision back
    while nothing it set going has been acted on."""

    task_id: str
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class TransferTask:
    """转办: an open task passes to another `department` (its time limit runs on)."""

    task_id: str
    department: str
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ExtendTask:
    """延期: the time limit of an open task is extended once more, by the
    node's `extension` (行政许可法 art 42: the head of the administrative
    organ approved it; the caller checked that)."""

    task_id: str
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class AddSigner:
    """加签: `department` must approve before (`position` "before") the
    task can be decided, or after ("after") its approval counts."""

    task_id: str
    department: str
    position: str = "before"
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveSigner:
    """减签: an added signer who has not acted is removed: `signer` is the
    added signer's task id, or a department still to sign after."""

    task_id: str
    signer: str
    actor: str | None = None


Event = (
    Start
    | CompleteTask
    | SubmitCorrection
    | ServiceDone
    | FireTimer
    | Signal
    | Objection
    | SubmitApplicantTask
    | Withdraw
    | ReturnTask
    | TakeBack
    | TransferTask
    | ExtendTask
    | AddSigner
    | RemoveSigner
)
