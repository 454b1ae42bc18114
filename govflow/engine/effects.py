"""The effects `step()` returns: what the caller must do or record (create a
task, start a timer, issue a certificate ...). Plain frozen dataclasses; the
node kinds (`govflow.engine.kinds`) produce them."""

from __future__ import annotations

from dataclasses import dataclass

from .definition import Node


@dataclass(frozen=True, slots=True)
class NodeEntered:
    node: str


@dataclass(frozen=True, slots=True)
class TaskCreated:
    task_id: str
    node: str
    kind: str  # review | signature | correction | service | acceptance
    department: str | None
    round: int
    signer: int | None = None
    # A correction task's structured notice: what the applicant may change
    # (govflow.engine.notices); None when the return gave none.
    notice: tuple[dict[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class TaskCompleted:
    task_id: str
    node: str
    outcome: str
    silent_consent: bool = False
    legal_basis: str | None = None


@dataclass(frozen=True, slots=True)
class TaskCancelled:
    task_id: str
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimerStarted:
    timer_id: str
    kind: str  # sla_reminder | sla_breach | wait | correction_deadline
    node: str
    task_id: str | None
    days: int | None
    hours: float | None
    fraction: float = 1.0  # reminders fire at this fraction of the limit
    # Whether firing changes the case without a person: a decision by silent
    # consent or automatic rejection, a deemed withdrawal, the end of a
    # notice period. Such a timer must not fire on a provisional date (one
    # counted on a calendar year whose notice is not loaded yet); reminders
    # and escalations only tell people, and may.
    legal_effect: bool = False
    # The limit counts from this moment (ISO) rather than from now: a task
    # given back after a take-back keeps the time it had (its SLA continues).
    since: str | None = None
    # A limit in calendar days instead (days and hours are then None).
    calendar_days: int | None = None


def timer_has_legal_effect(node: Node, kind: str) -> bool:
    """Whether a timer of this kind on this node decides something when it
    fires (see TimerStarted.legal_effect)."""
    if kind == "sla_reminder":
        return False
    if kind == "sla_breach":
        return node.sla is not None and node.sla.on_breach != "escalate"
    return True  # wait (a notice period ends), correction_deadline (deemed withdrawal)


@dataclass(frozen=True, slots=True)
class TimerCancelled:
    timer_id: str


@dataclass(frozen=True, slots=True)
class ClockPaused:
    node: str


@dataclass(frozen=True, slots=True)
class ClockResumed:
    node: str


@dataclass(frozen=True, slots=True)
class TimeExcluded:
    """A step excluded from the statutory clock (art 45) began: the
    applicant is told in writing (`scope`: "branch" or "case")."""

    node: str
    scope: str


@dataclass(frozen=True, slots=True)
class ServiceCall:
    task_id: str
    node: str
    handler: str


@dataclass(frozen=True, slots=True)
class Notify:
    kind: str  # reminder | escalation
    node: str
    task_id: str
    department: str | None


@dataclass(frozen=True, slots=True)
class CertificateDue:
    node: str
    type: str
    department: str


@dataclass(frozen=True, slots=True)
class SentBack:
    """退回: task `task_id` at `node` sent the case back to `target`; the
    decisions of `cleared` were dropped, and with `block` (a split) every
    open task of that block was cancelled."""

    task_id: str
    node: str
    target: str
    cleared: tuple[str, ...]
    block: str | None
    come_back: bool


@dataclass(frozen=True, slots=True)
class DecisionTakenBack:
    """撤回: the decision of `task_id` was taken back; `again` is the task
    that replaces it (open, with the time the first one had)."""

    task_id: str
    node: str
    again: str


@dataclass(frozen=True, slots=True)
class TaskTransferred:
    """转办: the task went from one department to another (`via`: queue or head)."""

    task_id: str
    node: str
    from_department: str | None
    to_department: str
    via: str


@dataclass(frozen=True, slots=True)
class TaskExtended:
    """延期: the task's time limit (its SLA timers) moves later by `days`
    working days or `hours` office hours; `count` extensions of the node so far."""

    task_id: str
    node: str
    days: int | None
    hours: float | None
    count: int


@dataclass(frozen=True, slots=True)
class Accepted:
    """受理: the application was accepted at `node` (by task `task_id`), in
    law as of `at` (ISO); `deemed` when by silence (art 32(4)), with its
    legal basis. The case's first acceptance starts the decision clock."""

    node: str
    task_id: str
    at: str
    deemed: bool = False
    legal_basis: str | None = None


@dataclass(frozen=True, slots=True)
class ItemEnded:
    """一件事: item `item` of bundle `bundle` ended (`status`: approved,
    rejected, withdrawn, not_started or not_applicable); `end` is the end
    node its sub-process reached (None when it never ran)."""

    bundle: str
    item: str
    status: str
    end: str | None = None


@dataclass(frozen=True, slots=True)
class CaseCompleted:
    outcome: str
    node: str | None


Effect = (
    NodeEntered
    | TaskCreated
    | TaskCompleted
    | TaskCancelled
    | TimerStarted
    | TimerCancelled
    | ClockPaused
    | ClockResumed
    | TimeExcluded
    | ServiceCall
    | Notify
    | CertificateDue
    | SentBack
    | DecisionTakenBack
    | TaskTransferred
    | TaskExtended
    | Accepted
    | ItemEnded
    | CaseCompleted
)
