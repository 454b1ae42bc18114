"""What happened to cases and tasks, as typed events.

The services and the bridge (`govflow.cases.bridge`) record these on the
change set (`Changes.happened`) as they stage the writes; when the change set
is flushed, inside the case's transaction and before its rows are written,
each subscriber is called once with the events of the types it subscribed
to, in the order they happened. Subscribers (webhooks, the dashboard's facts,
the data catalogue; see their AppConfig.ready) may stage rows of their own
(`changes.emit`, `changes.event`), which commit or roll back with the case.

An event is not an audit entry: the audit trail (`govflow.audit.actions`)
records who did what for the record; events tell the rest of the system what
changed, with the rows at hand, so a subscriber needs no query to find out.
A flush that records none of the types a subscriber wants does not call it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Case, Task


@dataclass(frozen=True, slots=True)
class CaseSubmitted:
    """The applicant submitted the case (accepted at once unless the template
    has an `acceptance` node: then `CaseAccepted` follows)."""

    case: Case
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseAccepted:
    """受理: the case was accepted (行政许可法 art 32) as of `at`, which is
    also `case.accepted_at`; the decision clock (art 42) and case-level
    limits run from it. `node` is the acceptance node (None: accepted on
    submission, the template has none); `deemed` when by silence (art
    32(4)), with its `legal_basis`. Told once per case."""

    case: Case
    at: datetime
    node: str | None = None
    deemed: bool = False
    legal_basis: str = ""
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseCorrectionRequested:
    """A reviewer returned the case to the applicant; its clock may pause."""

    case: Case


@dataclass(frozen=True, slots=True)
class CaseCorrected:
    """The applicant answered the correction request(s) with these fields."""

    case: Case
    fields: tuple[str, ...]
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseReviewResumed:
    """No correction is asked for any more: the case is back in review."""

    case: Case


@dataclass(frozen=True, slots=True)
class CaseEnded:
    """The case was approved, rejected or withdrawn (`outcome`). `previous`
    is the status it left (a withdrawn draft ends from "draft");
    `paused_since` a clock pause still running when it ended, which its
    `paused_seconds` does not count."""

    case: Case
    outcome: str
    previous: str
    paused_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskCreated:
    """A task row staged for insert (any kind: review, signature,
    correction, service); its status is read when subscribers run, so a task
    created and cancelled in one transaction says so."""

    case: Case
    task: Task


@dataclass(frozen=True, slots=True)
class TaskDecided:
    """A review or signature task was decided: by a reviewer (`actor_id`,
    `task` the row read under the case lock) or, with `silent_consent`, by
    its time limit running out (`legal_basis`; no actor, no row at hand)."""

    case: Case
    task_id: str
    node: str
    outcome: str
    department_id: int | None = None
    opinion: str = ""
    actor_id: int | None = None
    silent_consent: bool = False
    legal_basis: str = ""
    task: Task | None = None


@dataclass(frozen=True, slots=True)
class TaskEscalated:
    """A task passed its time limit and went to the department head."""

    case: Case
    task_id: str
    node: str


@dataclass(frozen=True, slots=True)
class ClockPaused:
    case: Case
    node: str


@dataclass(frozen=True, slots=True)
class ClockResumed:
    case: Case
    node: str


@dataclass(frozen=True, slots=True)
class CertificateDue:
    """The case reached an end that issues a certificate of `type`; the
    certificate itself is issued after commit (an outbox row)."""

    case: Case
    node: str
    type: str
    department: str


@dataclass(frozen=True, slots=True)
class TaskReturned:
    """退回: a reviewer sent the case back from `task` to the earlier step
    `target`; `cleared` the steps whose decisions no longer count, `block`
    the split whose open tasks were all cancelled (a return before it)."""

    case: Case
    task: Task
    target: str
    opinion: str
    cleared: tuple[str, ...] = ()
    block: str | None = None
    come_back: bool = False
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class DecisionTakenBack:
    """撤回: the reviewer who decided `task` took the decision back; the
    task is theirs again as `again` (a new engine task id)."""

    case: Case
    task: Task
    again: str
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class TaskTransferred:
    """转办: `task` went from one department to another."""

    case: Case
    task: Task
    from_department_id: int | None
    to_department_id: int
    reason: str = ""
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class SignerChanged:
    """加签 (`added`) or 减签: a department signs before or after `task`'s reviewer."""

    case: Case
    task: Task
    department_id: int
    position: str
    added: bool
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class TaskExtended:
    """延期 (行政许可法 art 42): `task`'s time limit moved from `due_before`
    to `due_after` (its SLA breach; None while the case clock is paused) by
    `days` working days or `hours` office hours, approved by the head of its
    department. A case-level statutory limit moves with it."""

    case: Case
    task: Task
    days: int | None
    hours: float | None
    due_before: datetime | None
    due_after: datetime | None
    reason: str = ""
    actor_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseLimitPassed:
    """The case passed a case-level limit (`limit`: "promise", the template's
    time_limit, or "statutory", its statutory_limit) due at `due_at`, still
    open (govflow.cases.limits); told once per limit."""

    case: Case
    limit: str
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class BundleItemEnded:
    """一件事: item `item` of the case's bundle `bundle` ended (`status`:
    approved, rejected, withdrawn, not_started or not_applicable) while the
    other items may still run (docs/process-language.md section 11a); `end`
    is the end node of the item's sub-process it reached (None when the
    item never ran)."""

    case: Case
    bundle: str
    item: str
    status: str
    end: str | None = None


DomainEvent = (
    CaseSubmitted
    | CaseAccepted
    | CaseCorrectionRequested
    | CaseCorrected
    | CaseReviewResumed
    | CaseEnded
    | TaskCreated
    | TaskDecided
    | TaskEscalated
    | ClockPaused
    | ClockResumed
    | CertificateDue
    | BundleItemEnded
    | TaskReturned
    | DecisionTakenBack
    | TaskTransferred
    | SignerChanged
    | TaskExtended
    | CaseLimitPassed
)

# changes (a bridge.Changes), the subscribed events in the order they happened
Handler = Callable[[Any, list[Any]], None]

_subscriptions: list[tuple[frozenset[type], Handler]] = []


def subscribe(handler: Handler, *event_types: type) -> Handler:
    """Call `handler(changes, events)` at each flush that recorded events of
    these types (AppConfig.ready). Subscribing twice changes nothing."""
    if not event_types:
        raise ValueError("subscribe to at least one event type")
    entry = (frozenset(event_types), handler)
    if entry not in _subscriptions:
        _subscriptions.append(entry)
    return handler


def unsubscribe(handler: Handler) -> None:
    """Stop calling `handler` (tests)."""
    _subscriptions[:] = [entry for entry in _subscriptions if entry[1] is not handler]


def subscriptions() -> list[tuple[frozenset[type], Handler]]:
    """Who hears of what, in the order they are called (for docs and tests)."""
    return list(_subscriptions)


def publish(changes: Any, events: Sequence[Any]) -> None:
    """Hand each subscriber its events; called by `Changes.flush`."""
    if not events:
        return
    for types, handler in _subscriptions:
        mine = [event for event in events if type(event) in types]
        if mine:
            handler(changes, mine)
