"""`step(definition, state, event, now) -> StepResult(state, effects)`.

The runtime is a token machine. A token sits on a node; user tasks, service
tasks, waits and corrections are wait states that hold their token until an
event moves it. Parallel and inclusive splits open a *scope* that records how
many branches were started and which join closes them; the join counts
arrivals in that scope and moves on exactly once, when all have arrived. A
call node opens a *frame* in which the sub-process runs.

State is a plain dict of JSON types (see `govflow.engine.state`), so it can be
stored as one JSON column and copied cheaply. `step` never reads the clock:
`now` is passed in and only recorded.

Data written by tasks lives in per-node namespaces (`decisions[node]`,
`results[node]`); a split clears the namespaces of every node in its block,
so a decision from an earlier round can never satisfy a condition in a later
one.
"""

from __future__ import annotations

import marshal
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import operations
from .definition import Definition, Duration, Node
from .effects import (  # noqa: F401 - re-exported: callers read effects from runtime
    Accepted,
    CaseCompleted,
    CertificateDue,
    ClockPaused,
    ClockResumed,
    DecisionTakenBack,
    Effect,
    ItemEnded,
    NodeEntered,
    Notify,
    SentBack,
    ServiceCall,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskExtended,
    TaskTransferred,
    TimeExcluded,
    TimerCancelled,
    TimerStarted,
    timer_has_legal_effect,
)
from .events import (
    AddSigner,
    CompleteTask,
    Event,
    ExtendTask,
    FireTimer,
    Objection,
    RemoveSigner,
    ReturnTask,
    ServiceDone,
    Signal,
    Start,
    SubmitApplicantTask,
    SubmitCorrection,
    TakeBack,
    TransferTask,
    Withdraw,
)
from .expressions import EvaluationError
from .kinds import KINDS
from .problems import IllegalEvent, Message, NoBranchMatched

SCHEMA_VERSION = 1


@dataclass(slots=True)
class StepResult:
    state: dict[str, Any]
    effects: list[Effect]


def new_state() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "status": "running",
        "outcome": None,
        "data": {},
        "seq": 0,
        "tokens": {},
        "scopes": {},
        "frames": {},
        "tasks": {},
        "timers": {},
        "decisions": {},
        "results": {},
        "rounds": {},
        "paused": 0,
        "certificates": [],
    }


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy; marshal is several times faster than copy.deepcopy for
    plain JSON-typed data."""
    return marshal.loads(marshal.dumps(state))


def step(
    definition: Definition,
    state: dict[str, Any] | None,
    event: Event,
    now: datetime,
    *,
    in_place: bool = False,
) -> StepResult:
    """Apply one event and return the new state and the effects.

    The input state is left untouched, also when the event is refused
    (IllegalEvent, NoBranchMatched). With in_place=True the input state is
    consumed instead, to skip the copy: callers that use it must discard the
    state when step() raises."""
    if type(event) is Start:
        if state is not None:
            raise IllegalEvent(Message("the case has already started"), code="already_started")
        machine = _Machine(definition, new_state(), now)
        machine.state["data"] = dict(event.data)
        machine.start()
        machine.settle_clock()
        return StepResult(machine.state, machine.effects)
    if state is None:
        raise IllegalEvent(Message("the case has not started"), code="not_started")
    version = state.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise IllegalEvent(
            Message("state has schema version {version}; migrate it first", version=repr(version)),
            code="schema_version",
        )
    if state["status"] != "running":
        raise IllegalEvent(
            Message("the case has ended ({outcome})", outcome=state["outcome"]), code="case_ended"
        )
    machine = _Machine(definition, state if in_place else copy_state(state), now)
    handler = EVENT_HANDLERS.get(type(event))
    if handler is None:
        raise IllegalEvent(Message("unknown event {event}", event=repr(event)), code="unknown_event")
    handler(machine, event)
    machine.settle_clock()
    return StepResult(machine.state, machine.effects)


MAIN_FRAME = ""


class _Machine:
    __slots__ = ("clock_node", "definition", "effects", "nodes", "notice", "now", "queue", "state", "trail")

    def __init__(self, definition: Definition, state: dict[str, Any], now: datetime) -> None:
        self.definition = definition
        self.nodes = definition.nodes
        self.state = state
        self.now = now.isoformat()
        self.effects: list[Effect] = []
        self.queue: deque[str] = deque()
        # What a reviewer's decision set going (tokens, tasks, scopes, join
        # arrivals, rounds), so that it can be taken back (operations.py).
        self.trail: dict[str, Any] | None = None
        # A structured correction notice a decision in this step gave, for
        # the correction task it creates (govflow.engine.notices).
        self.notice: list[dict[str, str]] | None = None
        # The step whose pause or resumption last touched the clock (named
        # by the ClockPaused / ClockResumed that settle_clock emits).
        self.clock_node = ""

    # ids ------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.state["seq"] += 1
        return f"{prefix}{self.state['seq']}"

    # driving tokens ---------------------------------------------------------

    def start(self) -> None:
        token = self.new_token(self.definition.start, [], MAIN_FRAME)
        self.queue.append(token)
        self.run()

    def next_round(self, node_id: str) -> int:
        """Count one more visit to a node: decisions and tasks carry the round."""
        rounds = self.state["rounds"]
        if self.trail is not None:
            self.trail["rounds"].setdefault(node_id, rounds.get(node_id, 0))
        rounds[node_id] = round_ = rounds.get(node_id, 0) + 1
        return round_

    def new_token(self, node: str, scopes: list[str], frame: str) -> str:
        token_id = self.new_id("k")
        self.state["tokens"][token_id] = {"node": node, "scopes": scopes, "frame": frame}
        if self.trail is not None:
            self.trail["tokens"].append(token_id)
        return token_id

    def move(self, token_id: str, target: str) -> None:
        self.state["tokens"][token_id]["node"] = target
        self.queue.append(token_id)

    def run(self) -> None:
        tokens = self.state["tokens"]
        kinds = KINDS
        while self.queue:
            token_id = self.queue.popleft()
            token = tokens.get(token_id)
            if token is None:  # consumed by a join or cancelled by a terminating end
                continue
            node = self.nodes[token["node"]]
            self.effects.append(NodeEntered(node.id))
            kinds[node.type].enter(self, token_id, token, node)
            if self.state["status"] != "running":
                self.queue.clear()

    def create_task(
        self,
        token_id: str,
        node: Node,
        kind: str,
        department: str | None,
        round_: int,
        signer: int | None,
        since: str | None = None,
        notice: list[dict[str, str]] | None = None,
    ) -> str:
        """A new open task; `since` (a take-back giving a task back) keeps
        the moment its time limit counts from; `notice` is a correction
        task's structured notice (what the applicant may change)."""
        task_id = self.new_id("t")
        self.state["tasks"][task_id] = {
            "node": node.id,
            "token": token_id,
            "kind": kind,
            "department": department,
            "round": round_,
            "signer": signer,
            "escalated": False,
            "created": since or self.now,
        }
        if notice is not None:
            self.state["tasks"][task_id]["notice"] = notice
        if self.trail is not None:
            self.trail["tasks"].append(task_id)
        self.effects.append(
            TaskCreated(task_id, node.id, kind, department, round_, signer, tuple(notice) if notice else None)
        )
        sla = node.sla
        if sla is not None and kind in ("review", "signature"):
            limit = sla.limit
            if sla.remind_at is not None:
                self.start_timer_for("sla_reminder", node, token_id, task_id, limit, sla.remind_at, since)
            self.start_timer_for("sla_breach", node, token_id, task_id, limit, 1.0, since)
        return task_id

    def start_timer(
        self,
        kind: str,
        node: Node,
        token_id: str,
        task_id: str | None,
        days: int | None,
        hours: float | None,
        fraction: float,
        since: str | None = None,
        calendar_days: int | None = None,
    ) -> str:
        timer_id = self.new_id("m")
        self.state["timers"][timer_id] = {"kind": kind, "node": node.id, "token": token_id, "task": task_id}
        self.effects.append(
            TimerStarted(
                timer_id,
                kind,
                node.id,
                task_id,
                days,
                hours,
                fraction,
                timer_has_legal_effect(node, kind),
                since,
                calendar_days,
            )
        )
        return timer_id

    def start_timer_for(
        self,
        kind: str,
        node: Node,
        token_id: str,
        task_id: str | None,
        duration: Duration,
        fraction: float = 1.0,
        since: str | None = None,
    ) -> str:
        """start_timer with the limit given as a Duration (any unit)."""
        return self.start_timer(
            kind,
            node,
            token_id,
            task_id,
            duration.days,
            duration.hours,
            fraction,
            since,
            duration.calendar_days,
        )

    def holds(self, node: Node, condition: Any, context: dict) -> bool:
        try:
            return condition.test(context)
        except EvaluationError as exc:
            raise NoBranchMatched(
                Message(
                    "condition '{condition}' of gateway '{node}' cannot be evaluated: {reason}",
                    condition=condition.source,
                    node=node.id,
                    reason=exc.message,
                )
            ) from exc

    def context(self) -> dict[str, Any]:
        state = self.state
        context = dict(state["data"])
        definition = self.definition
        for field_id in definition.decimal_fields:
            context[field_id] = _number(context.get(field_id))
        for table_id, columns in definition.decimal_columns.items():
            rows = context.get(table_id)
            if isinstance(rows, list):
                context[table_id] = [
                    {**row, **{c: _number(row.get(c)) for c in columns}} if isinstance(row, dict) else row
                    for row in rows
                ]
        context["decision"] = {k: v["outcome"] for k, v in state["decisions"].items()}
        context["result"] = state["results"]
        return context

    def split(self, token_id: str, token: dict, node: Node, targets: list[str] | tuple[str, ...]) -> None:
        state = self.state
        decisions, results = state["decisions"], state["results"]
        for member in node.block:
            decisions.pop(member, None)
            results.pop(member, None)
        del state["tokens"][token_id]
        scopes = token["scopes"]
        if node.join is not None:
            scope_id = self.new_id("s")
            state["scopes"][scope_id] = {"join": node.join, "expected": len(targets), "arrived": 0}
            scopes = [*scopes, scope_id]
            if self.trail is not None:
                self.trail["scopes"].append(scope_id)
        for target in targets:
            self.queue.append(self.new_token(target, list(scopes), token["frame"]))

    def arrive(self, token_id: str, token: dict, node: Node) -> None:
        state = self.state
        scopes = token["scopes"]
        scope_id = scopes[-1] if scopes else None
        scope = state["scopes"].get(scope_id) if scope_id else None
        if scope is None or scope["join"] != node.id:
            # Validation makes this unreachable; refuse rather than guess.
            raise IllegalEvent(
                Message("a token reached join '{node}' outside its block", node=node.id),
                code="unbalanced_join",
            )
        del state["tokens"][token_id]
        if self.trail is not None:
            self.trail["arrivals"].append([scope_id, dict(scope)])
        scope["arrived"] += 1
        if scope["arrived"] == scope["expected"]:
            del state["scopes"][scope_id]
            self.queue.append(self.new_token(node.next[0], scopes[:-1], token["frame"]))

    def finish(self, frame: str, outcome: str, node_id: str | None) -> None:
        """End `frame` (the main process, or a sub-process) with `outcome`,
        cancelling everything still running in it and in frames it called."""
        state = self.state
        caller = state["frames"].get(frame) if frame else None
        frames = self.frames_within(frame)
        doomed = [tid for tid, t in state["tokens"].items() if t["frame"] in frames]
        for tid in doomed:
            self.drop_token(tid, "withdrawn" if outcome == "withdrawn" else "ended")
        for fid in frames:
            state["frames"].pop(fid, None)
        if caller is None:
            if "bundles" in state:
                KINDS["bundle"].case_ended(self, outcome)
            state["status"] = "completed"
            state["outcome"] = outcome
            state["scopes"].clear()
            state.pop("undo", None)
            self.effects.append(CaseCompleted(outcome, node_id))
            return
        # A sub-process ended: its caller moves on by the outcome (and
        # knows the end it reached, for a bundle's item).
        node = self.nodes[caller["call"]]
        KINDS[node.type].subprocess_ended(self, {**caller, "end": node_id}, node, outcome)

    def frames_within(self, frame: str) -> set[str]:
        frames = {frame}
        changed = True
        while changed:
            changed = False
            for fid, info in self.state["frames"].items():
                parent = self.state["tokens"].get(info["token"], {}).get("frame")
                if fid not in frames and parent in frames:
                    frames.add(fid)
                    changed = True
        return frames

    def drop_token(self, token_id: str, reason: str) -> None:
        token = self.discard_token(token_id, reason)
        for scope_id in token["scopes"]:
            self.state["scopes"].pop(scope_id, None)

    def discard_token(self, token_id: str, reason: str) -> dict[str, Any]:
        """Remove a token with its tasks and timers (resuming the clock a
        task of it held), leaving its scopes to the caller."""
        state = self.state
        token = state["tokens"].pop(token_id)
        tasks = [t for t in token.get("tasks", ()) if t in state["tasks"]]
        node = self.nodes[token["node"]]
        if (tasks or token.get("holding")) and KINDS[node.type].holds_clock(node):
            self.resume(node.id, token)
        for task_id in tasks:
            self.cancel_task(task_id, reason)
        for timer_id in [m for m, t in state["timers"].items() if t["token"] == token_id]:
            del state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))
        return token

    def cancel_task(self, task_id: str, reason: str) -> None:
        task = self.state["tasks"].pop(task_id, None)
        if task is None:
            return
        self.effects.append(TaskCancelled(task_id, task["node"], reason))
        for timer_id in [m for m, t in self.state["timers"].items() if t["task"] == task_id]:
            del self.state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))

    # pause accounting -------------------------------------------------------

    def pause(self, node_id: str, token: dict | None = None) -> None:
        """A step that stops the clock began. A branch-scoped excluded step
        (given its token) marks only its token; any other stops every SLA of
        the case (pauses nest)."""
        node = self.nodes.get(node_id)
        self.clock_node = node_id
        if token is not None and node is not None and node.clock_scope == "branch":
            token["excluded"] = True
            return
        self.state["paused"] += 1
        if self.state["paused"] == 1 and not self.state.get("held"):
            self.effects.append(ClockPaused(node_id))

    def resume(self, node_id: str, token: dict | None = None) -> None:
        self.clock_node = node_id
        if token is not None and token.pop("excluded", False):
            return
        if self.state["paused"] > 0:
            self.state["paused"] -= 1
            if self.state["paused"] == 0 and not self.state.get("held"):
                self.effects.append(ClockResumed(node_id))

    def settle_clock(self) -> None:
        """After an event: the statutory clock also stops while every live
        branch is stopped (in a branch-scoped excluded step, or with the
        applicant), and runs again when one of them moves on (art 45: only
        the excluded time of the whole case is not counted)."""
        state = self.state
        if state["status"] != "running":
            # The last branch left its excluded step and the case ended: the
            # excluded time up to now is not counted either.
            if state.pop("held", None) and state["paused"] == 0:
                self.effects.append(ClockResumed(self.clock_node))
            return
        held = self.all_branches_held()
        if held == bool(state.get("held")):
            return
        if held:
            state["held"] = True
        else:
            state.pop("held", None)
        if state["paused"] == 0:
            self.effects.append(ClockPaused(self.clock_node) if held else ClockResumed(self.clock_node))

    def all_branches_held(self) -> bool:
        tokens = self.state["tokens"].values()
        for token in tokens:
            if token.get("excluded"):
                break
        else:
            return False  # only case-wide pauses: the pause counter says it all
        nodes, live = self.nodes, []
        for token in tokens:
            node = nodes[token["node"]]
            if node.type in ("call", "bundle"):
                continue  # its sub-processes' tokens stand for it
            live.append((token, node))
        if not any(token.get("excluded") for token, _ in live):
            return False  # only a call's or bundle's token is excluded: its sub-process's tokens say
        return all(
            token.get("excluded")
            or ((token.get("tasks") or token.get("holding")) and KINDS[node.type].holds_clock(node))
            for token, node in live
        )

    # events -----------------------------------------------------------------

    def on_task_event(self, event: CompleteTask | SubmitCorrection | ServiceDone) -> None:
        """An event aimed at one open task, answered by the kind of its node."""
        task = self.state["tasks"].get(event.task_id)
        if task is None:
            raise IllegalEvent(Message("task '{task}' is not open", task=event.task_id), code="task_not_open")
        node = self.nodes[task["node"]]
        react = KINDS[node.type].reactions.get(type(event))
        if react is None:
            raise IllegalEvent(
                Message("task '{task}' is a {kind} task", task=event.task_id, kind=task["kind"]),
                code="wrong_task_kind",
            )
        if type(event) is CompleteTask and task["kind"] != "acceptance":
            # (an acceptance decision is told to the applicant in writing: no take-back)
            self.trail = operations.begin_trail(self, event.task_id, task)
        react(self, event, task, node)
        self.run()
        if self.trail is not None:
            operations.keep_trail(self, event.task_id)

    def on_fire_timer(self, event: FireTimer) -> None:
        timer = self.state["timers"].pop(event.timer_id, None)
        if timer is None:
            raise IllegalEvent(
                Message("timer '{timer}' is not pending", timer=event.timer_id), code="timer_not_pending"
            )
        node = self.nodes[timer["node"]]
        KINDS[node.type].on_timer(self, timer, node)
        self.run()

    def on_signal(self, event: Signal) -> None:
        """A message from outside: every token resting on a node that waits
        for it moves on (in token order); none waiting is an IllegalEvent."""
        nodes, tokens = self.nodes, self.state["tokens"]
        waiting = [
            (token_id, nodes[token["node"]])
            for token_id, token in tokens.items()
            if KINDS[nodes[token["node"]].type].receives(nodes[token["node"]], event.name)
        ]
        if not waiting:
            raise IllegalEvent(
                Message("the case is not waiting for the message '{name}'", name=event.name),
                code="not_waiting_for_signal",
            )
        for token_id, node in waiting:
            KINDS[node.type].received(self, token_id, node, event.data)
        self.run()

    def on_objection(self, event: Objection) -> None:
        """An objection from the public: every token resting on a node that
        takes objections (a public notice; `event.node` if named) leaves it
        for the objection review; none in a notice is an IllegalEvent."""
        nodes, tokens = self.nodes, self.state["tokens"]
        noticed = [
            (token_id, nodes[token["node"]])
            for token_id, token in tokens.items()
            if KINDS[nodes[token["node"]].type].takes_objections(nodes[token["node"]])
            and (event.node is None or token["node"] == event.node)
        ]
        if not noticed:
            raise IllegalEvent(Message("the case is not in a public notice"), code="not_in_public_notice")
        for token_id, node in noticed:
            KINDS[node.type].objected(self, token_id, node)
        self.run()

    def on_withdraw(self, event: Withdraw) -> None:
        self.finish(MAIN_FRAME, "withdrawn", None)

    def on_take_back(self, event: TakeBack) -> None:
        operations.take_back(self, event)
        self.run()


# Event class -> how the machine answers it (Start, which has no state yet,
# is handled by step() itself).
EVENT_HANDLERS: dict[type, Callable[[_Machine, Any], None]] = {
    CompleteTask: _Machine.on_task_event,
    SubmitCorrection: _Machine.on_task_event,
    ServiceDone: _Machine.on_task_event,
    FireTimer: _Machine.on_fire_timer,
    ReturnTask: _Machine.on_task_event,
    TransferTask: _Machine.on_task_event,
    ExtendTask: _Machine.on_task_event,
    AddSigner: _Machine.on_task_event,
    RemoveSigner: _Machine.on_task_event,
    TakeBack: _Machine.on_take_back,
    Signal: _Machine.on_signal,
    Objection: _Machine.on_objection,
    SubmitApplicantTask: _Machine.on_task_event,
    Withdraw: _Machine.on_withdraw,
}


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def open_tasks(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(state["tasks"])


def is_waiting_on_applicant(state: Mapping[str, Any]) -> bool:
    return any(task["kind"] in ("correction", "applicant") for task in state["tasks"].values())


def active_nodes(state: Mapping[str, Any]) -> list[str]:
    return sorted({token["node"] for token in state["tokens"].values()})
