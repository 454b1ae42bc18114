"""Between the pure engine and the database.

`advance` runs one engine step on a case whose row the caller has locked and
stages every write the step implies in a `Changes`; `Changes.flush` then
writes them with as few statements as it can (bulk inserts, one UPDATE per
kind of change). Nothing here opens a transaction or checks permissions: the
services in `govflow.cases.services` do that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from govflow.accounts.models import Department
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine import Definition, step
from govflow.engine import runtime as rt
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit
from govflow.processes.handlers import HANDLERS, HandlerContext, HandlerFailed, is_inline
from govflow.processes.services import version_definition
from govflow.rawsql import insert_returning, pipelined, update_row, when_answered
from govflow.timers.deadlines import calendar_resumed, deadline, remaining, resumed
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from . import events as domain
from . import limits, task_status
from .bulk import cases_save_changed, timers_insert
from .models import ENDED_CASE_STATUSES, Case, CaseStatus, Task
from .rows import update_pairs
from .task_status import Decision, cancel_rows, decide_rows

SLA_TIMER_KINDS = ("sla_reminder", "sla_breach")
# The timers the case's statutory clock stops: its tasks' SLAs and its own limits.
CLOCK_TIMER_KINDS = (*SLA_TIMER_KINDS, *limits.CASE_TIMER_KINDS)
_department_ids: dict[str, int] = {}


def forget_departments() -> None:
    """Drop the code -> id cache (after departments are created or re-created)."""
    _department_ids.clear()


def department_id(code: str | None) -> int | None:
    if code is None:
        return None
    found = _department_ids.get(code)
    if found is None:
        found = Department.objects.only("pk").get(code=code).pk
        _department_ids[code] = found
    return found


@dataclass
class Changes:
    now: datetime
    cases: list[Case] = field(default_factory=list)
    case_ids: set[int] = field(default_factory=set)
    new_tasks: list[Task] = field(default_factory=list)
    decided: dict[tuple[int, str], Decision] = field(default_factory=dict)
    cancelled_tasks: list[tuple[int, str]] = field(default_factory=list)
    new_timers: list[Timer] = field(default_factory=list)
    cancelled_timers: list[tuple[int, str]] = field(default_factory=list)
    fired_timers: list[int] = field(default_factory=list)
    escalated: list[tuple[int, str]] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    audit: list[PendingAudit] = field(default_factory=list)
    pause: list[Case] = field(default_factory=list)
    # Tasks created in this transaction, by (case id, engine id): changed in
    # memory before their INSERT instead of by a later UPDATE.
    created: dict[tuple[int, str], Task] = field(default_factory=dict)
    resume: list[Case] = field(default_factory=list)
    effects: list[Any] = field(default_factory=list)
    # What happened, as typed events (govflow.cases.events): other apps
    # (webhooks, insight, the data catalogue) subscribe to them and hear of
    # them at the flush, just before the writes, and may stage rows of their
    # own (`emit`, `event`): they commit or roll back with the case.
    events: list[domain.DomainEvent] = field(default_factory=list)
    # A change set of new cases only (the seeded history, govflow.insight.
    # seeding): every row it touches is one it stages, so nothing is looked
    # up in the database, and no outbox message is staged. Such a change set
    # is written by its owner, not flushed.
    bulk: bool = False
    # Added to the data of every audit event staged (the seeded history's
    # {"seeded": True}).
    marks: dict[str, Any] = field(default_factory=dict)

    def happened(self, event: domain.DomainEvent) -> None:
        self.events.append(event)

    def event(self, action: Action, case: Case | None, *, actor_id: int | None = None, **data: Any) -> None:
        """Stage an audit event (written with the rest at the flush)."""
        object_type = data.pop("object_type", "case")
        object_id = data.pop("object_id", case.pk if case is not None else "")
        self.audit.append(
            PendingAudit(
                action=action,
                at=self.now,
                actor_id=actor_id,
                object_type=object_type,
                object_id=str(object_id),
                case_id=case.pk if case is not None else None,
                data={**data, **self.marks} if self.marks else data,
            )
        )

    def emit(self, topic: str, key: str, **payload: Any) -> None:
        if self.bulk:  # nothing of a bulk change set goes out: its deliveries would be long done
            return
        self.outbox.append(OutboxMessage(key=key, topic=topic, payload=payload, created_at=self.now))

    def flush(self) -> None:
        now = self.now
        # On PostgreSQL the statements below are pipelined: those whose
        # result is not needed at once travel together with the next one that
        # is (the audit head's lock), so a decision's writes take two round
        # trips, whatever the listeners and the engine staged.
        with pipelined():
            domain.publish(self, self.events)
            for (case_id, engine_id), decision in self.decided.items():
                decide_rows(case_id, engine_id, decision, now)
            cancel_rows(self.cancelled_tasks, now)
            update_pairs(Task, self.escalated, escalated=True)
            if self.cancelled_timers:
                update_pairs(Timer, self.cancelled_timers, status=Timer.CANCELLED, timer=True)
            if self.fired_timers:
                Timer.objects.filter(pk__in=self.fired_timers).update(status=Timer.FIRED, fired_at=now)
            cases_save_changed(self.cases, CASE_FIELDS)
            tasks_inserted = insert_returning(self.new_tasks)
            timers_insert(self.new_timers)
            if self.pause or self.resume:
                tasks_inserted()
                _sync_task_due_dates([c.pk for c in self.cases])
            outbox_inserted = insert_returning(self.outbox)
            audit_write(self.audit)
            # The keys come back with the answers to the writes: inside a
            # write service's pipelined transaction, with its COMMIT.
            when_answered(tasks_inserted)
            when_answered(lambda: dispatch_on_commit(outbox_inserted()))


CASE_FIELDS = (
    "status",
    "data",
    "state",
    "row_version",
    "updated_at",
    "completed_at",
    "clock_paused_at",
    "paused_seconds",
    "submitted_at",
    "accepted_at",
    "title",
)


def _sync_task_due_dates(case_ids: list[int]) -> None:
    """A task's due date is its SLA breach timer's and its reminder date its
    reminder timer's; copied for the inbox's sort and filters."""
    rows = list(
        Timer.objects.filter(case_id__in=case_ids, kind__in=SLA_TIMER_KINDS, task__isnull=False)
        .exclude(status__in=[Timer.CANCELLED])
        .order_by("id")
        .values_list("task_id", "kind", "due_at", "provisional")
    )
    for task_id, kind, due, provisional in rows:
        if kind == "sla_breach":
            Task.objects.filter(pk=task_id).update(due_at=due, due_provisional=provisional)
        else:
            Task.objects.filter(pk=task_id).update(remind_at=due)


def load_state(case: Case) -> dict[str, Any] | None:
    if case.state is None:
        return None
    state = dict(case.state)
    state["data"] = case.data
    return state


def store_state(case: Case, state: dict[str, Any]) -> None:
    case.data = state.pop("data")
    case.state = state
    case.row_version += 1


def advance(case: Case, event: rt.Event, changes: Changes, *, actor_id: int | None = None) -> rt.StepResult:
    """Run one engine step on a locked case and stage its consequences.

    Service tasks whose handler is registered inline (quick checks against
    local data) run here, under the case lock, and the case moves on in the
    same transaction; other handlers go through the outbox to a worker."""
    definition = version_definition(case.version)
    state = load_state(case)
    if isinstance(event, rt.Start):
        result = step(definition, None, event, changes.now)
    else:
        # Not in place: an event the engine refuses leaves the case untouched.
        result = step(definition, state, event, changes.now)
    inline_calls = stage(case, definition, result, changes, actor_id=actor_id)
    for call in inline_calls:
        _run_inline(case, call, changes)
    return result


def stage(
    case: Case,
    definition: Definition,
    result: rt.StepResult,
    changes: Changes,
    *,
    actor_id: int | None = None,
) -> list[rt.ServiceCall]:
    """Stage what one engine step did to a case on `changes`: its rows,
    audit events, outbox messages and domain events, its new state and its
    lifecycle move. Returns the service calls to run at once (inline
    handlers). `advance` calls it on a live case; the seeded history calls
    it on each step of its simulated cases (a bulk change set)."""
    inline_calls = _stage(case, definition, result, changes, actor_id)
    _announce(case, result.effects, changes)
    store_state(case, result.state)
    _sync_status(case, result.state, changes, actor_id)
    if case.pk not in changes.case_ids:
        changes.case_ids.add(case.pk)
        changes.cases.append(case)
    return inline_calls


def _run_inline(case: Case, call: rt.ServiceCall, changes: Changes) -> None:
    context = HandlerContext(case_id=case.pk, data=case.data, today=timezone.localdate(changes.now))
    try:
        output = HANDLERS[call.handler](context)
    except HandlerFailed:
        # Could not be done now: hand it to a worker, which retries with backoff.
        changes.emit("service_task", f"{case.pk}:{call.task_id}:run", case=case.pk, task=call.task_id)
        return
    changes.event(
        Action.SERVICE_TASK_COMPLETED,
        case,
        object_type="task",
        object_id=call.task_id,
        node=call.node,
        handler=call.handler,
        result=output,
    )
    advance(case, rt.ServiceDone(call.task_id, output), changes)


def _stage(
    case: Case, definition: Definition, result: rt.StepResult, ch: Changes, actor_id: int | None
) -> list[rt.ServiceCall]:
    """Turn one step's effects into staged rows, outbox messages and audit
    events on `ch`; return the service calls to run inline. Each effect type
    has one handler (`_Stager`, dispatched through `_STAGE`)."""
    stager = _Stager(case, definition, ch)
    effects = ch.effects
    for effect in result.effects:
        kind = type(effect)
        if kind is rt.NodeEntered:
            if definition.nodes[effect.node].type == "fee":
                stager.fee_due(effect.node)
            continue
        effects.append(effect)
        handler = _STAGE.get(kind)
        if handler is not None:
            handler(stager, effect)
    return stager.inline_calls


class _Stager:
    """What one engine step's effects do to the rows of one case."""

    __slots__ = ("_calendar", "case", "ch", "definition", "inline_calls", "now", "paused")

    def __init__(self, case: Case, definition: Definition, ch: Changes) -> None:
        self.case, self.definition, self.ch, self.now = case, definition, ch, ch.now
        self._calendar = None
        self.inline_calls: list[rt.ServiceCall] = []
        self.paused = case.clock_paused_at is not None

    @property
    def calendar(self):
        if self._calendar is None:
            self._calendar = calendar_get(self.definition.calendar)
        return self._calendar

    def task_created(self, effect: rt.TaskCreated) -> None:
        case, ch = self.case, self.ch
        task = Task(
            case=case,
            engine_id=effect.task_id,
            node_id=effect.node,
            kind=effect.kind,
            department_id=department_id(effect.department),
            round=effect.round,
            signer=effect.signer,
            created_at=self.now,
            notice=list(effect.notice) if effect.notice else [],
        )
        ch.created[(case.pk, effect.task_id)] = task
        ch.new_tasks.append(task)
        if effect.kind in ("review", "signature", "acceptance"):
            ch.emit(
                "notify",
                f"{case.pk}:{effect.task_id}:created",
                kind="task_created",
                case=case.pk,
                task=effect.task_id,
            )
        elif effect.kind == "correction":
            ch.emit(
                "notify",
                f"{case.pk}:{effect.task_id}:correction",
                kind="correction_requested",
                case=case.pk,
                task=effect.task_id,
            )
        elif effect.kind == "applicant":
            ch.emit(
                "notify",
                f"{case.pk}:{effect.task_id}:applicant_step",
                kind="applicant_step",
                case=case.pk,
                task=effect.task_id,
            )

    def task_completed(self, effect: rt.TaskCompleted) -> None:
        case, ch = self.case, self.ch
        key = (case.pk, effect.task_id)
        # The service that decided staged who and why; else the engine's own decision.
        decision = ch.decided.get(key) or Decision(
            outcome=effect.outcome,
            silent_consent=effect.silent_consent,
            legal_basis=effect.legal_basis or "",
        )
        fresh = ch.created.get(key)
        if fresh is not None:  # created in this change set (an inline service task): not written yet
            task_status.decide(fresh, decision, self.now)
        else:
            ch.decided[key] = decision
        if effect.silent_consent:
            ch.event(
                Action.TASK_AUTO_DECIDED,
                case,
                object_type="task",
                object_id=effect.task_id,
                node=effect.node,
                outcome=effect.outcome,
                legal_basis=effect.legal_basis,
            )

    def task_cancelled(self, effect: rt.TaskCancelled) -> None:
        fresh = self.ch.created.get((self.case.pk, effect.task_id))
        if fresh is not None:  # created and cancelled in one transaction
            task_status.cancel(fresh, self.now)
        else:
            self.ch.cancelled_tasks.append((self.case.pk, effect.task_id))

    def timer_started(self, effect: rt.TimerStarted) -> None:
        case, now, calendar = self.case, self.now, self.calendar
        timer = Timer(
            case=case,
            engine_id=effect.timer_id,
            kind=effect.kind,
            node_id=effect.node,
            task=self.ch.created.get((case.pk, effect.task_id)) if effect.task_id else None,
            created_at=now,
            legal_effect=effect.legal_effect,
            pauses=[],
        )
        if effect.task_id and timer.task is None:
            timer.task_id = (
                Task.objects.filter(case=case, engine_id=effect.task_id).values_list("pk", flat=True).first()
            )
        # A task given back by a take-back keeps its time: counted from its first start.
        start = datetime.fromisoformat(effect.since) if effect.since else now
        due = deadline(
            calendar,
            start,
            days=effect.days,
            hours=effect.hours,
            fraction=effect.fraction,
            calendar_days=effect.calendar_days,
        )
        timer.due_at, timer.provisional, timer.nominal_end = due.due_at, due.provisional, due.nominal
        if timer.task is not None and not self.paused:
            if effect.kind == "sla_breach":
                timer.task.due_at, timer.task.due_provisional = due.due_at, due.provisional
            elif effect.kind == "sla_reminder":
                timer.task.remind_at = due.due_at
        if self.paused and effect.kind in SLA_TIMER_KINDS:
            _pause(timer, calendar, now)
        self.ch.new_timers.append(timer)

    def timer_cancelled(self, effect: rt.TimerCancelled) -> None:
        case, ch = self.case, self.ch
        pending = [t for t in ch.new_timers if t.case is case and t.engine_id == effect.timer_id]
        if pending:
            pending[0].status = Timer.CANCELLED
        else:
            ch.cancelled_timers.append((case.pk, effect.timer_id))

    def clock_paused(self, effect: rt.ClockPaused) -> None:
        case, ch = self.case, self.ch
        self.paused = True
        case.clock_paused_at = self.now
        _pause_timers(case, self.calendar, self.now, ch)
        _sync_new_due_dates(case, ch)
        ch.pause.append(case)
        ch.event(Action.CLOCK_PAUSED, case, node=effect.node)

    def clock_resumed(self, effect: rt.ClockResumed) -> None:
        case, ch, now, calendar = self.case, self.ch, self.now, self.calendar
        self.paused = False
        if case.clock_paused_at is not None:
            case.paused_seconds += remaining(calendar, case.clock_paused_at, now)[0]
        case.clock_paused_at = None
        _resume_timers(case, calendar, now, ch)
        _sync_new_due_dates(case, ch)
        ch.resume.append(case)
        ch.event(Action.CLOCK_RESUMED, case, node=effect.node)

    def fee_due(self, node_id: str) -> None:
        """The case waits for a fee: the applicant is told (govflow.notices.consumers)."""
        pk = self.case.pk
        self.ch.emit("fee_due", f"{pk}:{node_id}:{self.now.isoformat()}:fee_due", case=pk, node=node_id)

    def time_excluded(self, effect: rt.TimeExcluded) -> None:
        # The applicant is told in writing (govflow.letters.exclusions).
        pk, at = self.case.pk, self.now.isoformat()
        key = f"{pk}:{effect.node}:{at}:excluded_time"
        self.ch.emit("excluded_time", key, case=pk, node=effect.node, at=at)

    def service_call(self, effect: rt.ServiceCall) -> None:
        if is_inline(effect.handler):
            self.inline_calls.append(effect)
        else:
            pk = self.case.pk
            self.ch.emit("service_task", f"{pk}:{effect.task_id}:run", case=pk, task=effect.task_id)

    def notify(self, effect: rt.Notify) -> None:
        case, ch = self.case, self.ch
        ch.emit(
            "notify",
            f"{case.pk}:{effect.task_id}:{effect.kind}",
            kind=effect.kind,
            case=case.pk,
            task=effect.task_id,
        )
        if effect.kind == "escalation":
            fresh = ch.created.get((case.pk, effect.task_id))
            if fresh is not None:
                fresh.escalated = True
            else:
                ch.escalated.append((case.pk, effect.task_id))
            ch.event(
                Action.TASK_ESCALATED,
                case,
                object_type="task",
                object_id=effect.task_id,
                node=effect.node,
            )

    def accepted(self, effect: rt.Accepted) -> None:
        """受理: the case's first acceptance moves it into review and keeps its date."""
        case, ch = self.case, self.ch
        if case.accepted_at is not None:
            return  # a later stage's acceptance: its task row and audit say it
        at = datetime.fromisoformat(effect.at)
        accept_case(
            case, ch, at, node=effect.node, deemed=effect.deemed, legal_basis=effect.legal_basis or ""
        )

    def item_ended(self, effect: rt.ItemEnded) -> None:
        """一件事: an item of the bundle ended (on the timeline with its status)."""
        self.ch.event(
            Action.BUNDLE_ITEM_ENDED, self.case, bundle=effect.bundle, item=effect.item, outcome=effect.status
        )

    def certificate_due(self, effect: rt.CertificateDue) -> None:
        pk = self.case.pk
        self.ch.emit(
            "certificate",
            f"{pk}:{effect.node}:{effect.type}:certificate",
            case=pk,
            node=effect.node,
            type=effect.type,
        )


# Effect type -> its handler; effects not named here (CaseCompleted) are
# only kept on the change set.
_STAGE: dict[type, Any] = {
    rt.TaskCreated: _Stager.task_created,
    rt.TaskCompleted: _Stager.task_completed,
    rt.TaskCancelled: _Stager.task_cancelled,
    rt.TimerStarted: _Stager.timer_started,
    rt.TimerCancelled: _Stager.timer_cancelled,
    rt.ClockPaused: _Stager.clock_paused,
    rt.ClockResumed: _Stager.clock_resumed,
    rt.TimeExcluded: _Stager.time_excluded,
    rt.ServiceCall: _Stager.service_call,
    rt.Notify: _Stager.notify,
    rt.CertificateDue: _Stager.certificate_due,
    rt.Accepted: _Stager.accepted,
    rt.ItemEnded: _Stager.item_ended,
}


def accept_case(
    case: Case,
    ch: Changes,
    at: datetime,
    *,
    node: str | None = None,
    deemed: bool = False,
    legal_basis: str = "",
    actor_id: int | None = None,
) -> None:
    """Record the case's acceptance (受理) as of `at`: submitted -> in review,
    `accepted_at`, the audit event (an acceptance node's; acceptance on
    submission is in CASE_SUBMITTED's) and the domain event `CaseAccepted`."""
    case.accepted_at = at
    if case.status == CaseStatus.SUBMITTED:
        case.accept()
    _start_limits(case, ch, at)
    if node is not None:
        data: dict[str, Any] = {"at": at.isoformat(), "node": node, "deemed": deemed}
        if legal_basis:
            data["legal_basis"] = legal_basis
        ch.event(Action.CASE_ACCEPTED, case, actor_id=actor_id, **data)
    ch.happened(
        domain.CaseAccepted(case, at, node=node, deemed=deemed, legal_basis=legal_basis, actor_id=actor_id)
    )


def _start_limits(case: Case, ch: Changes, at: datetime) -> None:
    """The case's own limits (promise, statutory) start at its acceptance;
    started while its clock is stopped, they wait for it to run again."""
    definition = version_definition(case.version)
    calendar = calendar_get(definition.calendar)
    for timer in limits.limits_start(case, definition, calendar, at):
        if case.clock_paused_at is not None:
            _pause(timer, calendar, ch.now)
        ch.new_timers.append(timer)


def _pause(timer: Timer, calendar, now: datetime) -> None:
    """Stop one SLA timer's clock: keep its deadline as the office time left,
    and note the pause for a later recount (timers_recompute)."""
    left, rough = remaining(calendar, now, timer.due_at)
    timer.status, timer.due_at, timer.remaining_seconds = Timer.PAUSED, None, left
    timer.provisional = timer.provisional or rough
    timer.pauses = [*timer.pauses, [now.isoformat(), None]]


def _resume(timer: Timer, calendar, now: datetime) -> None:
    open_pause = timer.pauses[-1] if timer.pauses and isinstance(timer.pauses[-1], list) else None
    if timer.nominal_end is not None and open_pause is not None and open_pause[1] is None:
        # A period in calendar days: the whole days it had left run again.
        paused_at = datetime.fromisoformat(open_pause[0])
        due = calendar_resumed(calendar, paused_at, now, timer.nominal_end)
        timer.nominal_end = due.nominal
    else:
        due = resumed(calendar, now, timer.remaining_seconds or 0)
    timer.status, timer.due_at, timer.remaining_seconds = Timer.PENDING, due.due_at, None
    timer.provisional = timer.provisional or due.provisional
    if timer.pauses and isinstance(timer.pauses[-1], list) and timer.pauses[-1][1] is None:
        timer.pauses = [*timer.pauses[:-1], [timer.pauses[-1][0], now.isoformat()]]


_CLOCK_FIELDS = ("status", "due_at", "remaining_seconds", "provisional", "pauses", "nominal_end")


def _pause_timers(case: Case, calendar, now: datetime, ch: Changes) -> None:
    """Stop the SLA clocks and the case's limits: keep each deadline as the
    office time left."""
    stored = (
        ()
        if ch.bulk
        else Timer.objects.filter(
            case=case, status=Timer.PENDING, kind__in=CLOCK_TIMER_KINDS, due_at__isnull=False
        )
    )
    for timer in stored:
        _pause(timer, calendar, now)
        update_row(timer, _CLOCK_FIELDS)  # no row count: the write may be pipelined (case locked)
    for timer in ch.new_timers:
        if (
            timer.case is case
            and timer.kind in CLOCK_TIMER_KINDS
            and timer.status == Timer.PENDING
            and timer.due_at
        ):
            _pause(timer, calendar, now)


def _resume_timers(case: Case, calendar, now: datetime, ch: Changes) -> None:
    stored = () if ch.bulk else Timer.objects.filter(case=case, status=Timer.PAUSED)
    for timer in stored:
        _resume(timer, calendar, now)
        update_row(timer, _CLOCK_FIELDS)
    for timer in ch.new_timers:
        if timer.case is case and timer.status == Timer.PAUSED:
            _resume(timer, calendar, now)


def _sync_new_due_dates(case: Case, ch: Changes) -> None:
    """The due and reminder dates of the tasks staged in this change set,
    from their SLA timers after a pause or resumption (stored tasks are
    synced by the flush, `_sync_task_due_dates`)."""
    for timer in ch.new_timers:
        # A staged task is not saved yet: its timer holds the object, not a key.
        if timer.case is not case or timer.kind not in SLA_TIMER_KINDS or timer.task_id is not None:
            continue
        task = timer.task
        if task is None or timer.status == Timer.CANCELLED:
            continue
        if timer.kind == "sla_breach":
            task.due_at, task.due_provisional = timer.due_at, timer.provisional
        else:
            task.remind_at = timer.due_at


def _announce(case: Case, effects: list[Any], ch: Changes) -> None:
    """The domain events of an engine step's effects (what `_stage` wrote
    down as rows, told to subscribers)."""
    for effect in effects:
        kind = type(effect)
        if kind is rt.TaskCreated:
            ch.happened(domain.TaskCreated(case, ch.created[(case.pk, effect.task_id)]))
        elif kind is rt.TaskCompleted:
            # A reviewer's decision is told by the service, which knows who
            # and why; here only those the engine took itself.
            if effect.silent_consent:
                ch.happened(
                    domain.TaskDecided(
                        case,
                        effect.task_id,
                        effect.node,
                        effect.outcome,
                        silent_consent=True,
                        legal_basis=effect.legal_basis or "",
                    )
                )
        elif kind is rt.Notify:
            if effect.kind == "escalation":
                ch.happened(domain.TaskEscalated(case, effect.task_id, effect.node))
        elif kind is rt.CertificateDue:
            ch.happened(domain.CertificateDue(case, effect.node, effect.type, effect.department))
        elif kind is rt.ItemEnded:
            ch.happened(domain.BundleItemEnded(case, effect.bundle, effect.item, effect.status, effect.end))
        elif kind is rt.ClockPaused:
            ch.happened(domain.ClockPaused(case, effect.node))
        elif kind is rt.ClockResumed:
            ch.happened(domain.ClockResumed(case, effect.node))


def _sync_status(case: Case, state: dict[str, Any], ch: Changes, actor_id: int | None) -> None:
    # A pause still running at the end is not in paused_seconds; told to
    # subscribers (the dashboard's facts) as the clock stops.
    paused_since = case.clock_paused_at
    before = sync_case_status(case, state, ch.now)
    if before is None:
        return
    status, previous = str(case.status), str(before)
    ch.event(Action.for_status(status), case, actor_id=actor_id, **{"from": previous})
    if status in ENDED_CASE_STATUSES:
        limits.limits_cancel(case, ch)
        ch.happened(domain.CaseEnded(case, status, previous, paused_since))
    elif status == CaseStatus.AWAITING_CORRECTION:
        ch.happened(domain.CaseCorrectionRequested(case))
    elif status == CaseStatus.IN_REVIEW and previous == CaseStatus.AWAITING_CORRECTION:
        ch.happened(domain.CaseReviewResumed(case))


def sync_case_status(case: Case, state: dict[str, Any], now: datetime) -> str | None:
    """Move the case's status to where the engine's state says it is (an
    ended case also gets its end time, and its clock stops). Returns the
    status before when it changed, else None."""
    before = case.status
    if state["status"] == "completed":
        outcome = state["outcome"]
        {"approved": case.approve, "rejected": case.reject, "withdrawn": case.withdraw}[outcome]()
        case.completed_at = now
        case.clock_paused_at = None
    else:
        waiting = any(task["kind"] == "correction" for task in state["tasks"].values())
        if waiting and case.status in (CaseStatus.IN_REVIEW, CaseStatus.SUBMITTED):
            case.request_correction()
        elif not waiting and case.status == CaseStatus.AWAITING_CORRECTION:
            # Corrected before acceptance (一次性告知): back to the accepting department.
            if case.accepted_at is None:
                case.resume_acceptance()
            else:
                case.resume_review()
    return before if case.status != before else None
