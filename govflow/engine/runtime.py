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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .definition import Definition, Node
from .expressions import EvaluationError
from .problems import IllegalEvent, NoBranchMatched

SCHEMA_VERSION = 1

# -- events -----------------------------------------------------------------


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
class Withdraw:
    actor: str | None = None
    reason: str | None = None


Event = Start | CompleteTask | SubmitCorrection | ServiceDone | FireTimer | Withdraw

# -- effects ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeEntered:
    node: str


@dataclass(frozen=True, slots=True)
class TaskCreated:
    task_id: str
    node: str
    kind: str  # review | signature | correction | service
    department: str | None
    round: int
    signer: int | None = None


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
    | ServiceCall
    | Notify
    | CertificateDue
    | CaseCompleted
)


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
    if isinstance(event, Start):
        if state is not None:
            raise IllegalEvent("the case has already started", code="already_started")
        machine = _Machine(definition, new_state(), now)
        machine.state["data"] = dict(event.data)
        machine.start()
        return StepResult(machine.state, machine.effects)
    if state is None:
        raise IllegalEvent("the case has not started", code="not_started")
    version = state.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise IllegalEvent(f"state has schema version {version!r}; migrate it first", code="schema_version")
    if state["status"] != "running":
        raise IllegalEvent(f"the case has ended ({state['outcome']})", code="case_ended")
    machine = _Machine(definition, state if in_place else copy_state(state), now)
    if isinstance(event, CompleteTask):
        machine.complete_task(event)
    elif isinstance(event, FireTimer):
        machine.fire_timer(event.timer_id)
    elif isinstance(event, SubmitCorrection):
        machine.submit_correction(event)
    elif isinstance(event, ServiceDone):
        machine.service_done(event)
    elif isinstance(event, Withdraw):
        machine.finish(MAIN_FRAME, "withdrawn", None)
    else:  # pragma: no cover - the Event union is closed
        raise IllegalEvent(f"unknown event {event!r}")
    return StepResult(machine.state, machine.effects)


MAIN_FRAME = ""


class _Machine:
    __slots__ = ("definition", "effects", "nodes", "now", "queue", "state")

    def __init__(self, definition: Definition, state: dict[str, Any], now: datetime) -> None:
        self.definition = definition
        self.nodes = definition.nodes
        self.state = state
        self.now = now.isoformat()
        self.effects: list[Effect] = []
        self.queue: deque[str] = deque()

    # ids ------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.state["seq"] += 1
        return f"{prefix}{self.state['seq']}"

    # driving tokens ---------------------------------------------------------

    def start(self) -> None:
        token = self.new_token(self.definition.start, [], MAIN_FRAME)
        self.queue.append(token)
        self.run()

    def new_token(self, node: str, scopes: list[str], frame: str) -> str:
        token_id = self.new_id("k")
        self.state["tokens"][token_id] = {"node": node, "scopes": scopes, "frame": frame}
        return token_id

    def move(self, token_id: str, target: str) -> None:
        self.state["tokens"][token_id]["node"] = target
        self.queue.append(token_id)

    def run(self) -> None:
        tokens = self.state["tokens"]
        while self.queue:
            token_id = self.queue.popleft()
            token = tokens.get(token_id)
            if token is None:  # consumed by a join or cancelled by a terminating end
                continue
            node = self.nodes[token["node"]]
            self.effects.append(NodeEntered(node.id))
            getattr(self, "enter_" + node.type)(token_id, token, node)
            if self.state["status"] != "running":
                self.queue.clear()

    def enter_start(self, token_id: str, token: dict, node: Node) -> None:
        self.move(token_id, node.next[0])

    def enter_user_task(self, token_id: str, token: dict, node: Node) -> None:
        state = self.state
        rounds = state["rounds"]
        rounds[node.id] = round_ = rounds.get(node.id, 0) + 1
        state["decisions"].pop(node.id, None)
        if node.clock_excluded:
            self.pause(node.id)
        sign = node.countersign
        if sign is None:
            token["tasks"] = [self.create_task(token_id, node, "review", node.department, round_, None)]
            return
        token["signatures"] = []
        if sign.mode == "sequential":
            token["tasks"] = [self.create_task(token_id, node, "signature", sign.signers[0], round_, 0)]
        else:
            token["tasks"] = [
                self.create_task(token_id, node, "signature", dept, round_, index)
                for index, dept in enumerate(sign.signers)
            ]

    def create_task(
        self, token_id: str, node: Node, kind: str, department: str | None, round_: int, signer: int | None
    ) -> str:
        task_id = self.new_id("t")
        self.state["tasks"][task_id] = {
            "node": node.id,
            "token": token_id,
            "kind": kind,
            "department": department,
            "round": round_,
            "signer": signer,
            "escalated": False,
            "created": self.now,
        }
        self.effects.append(TaskCreated(task_id, node.id, kind, department, round_, signer))
        sla = node.sla
        if sla is not None and kind in ("review", "signature"):
            limit = sla.limit
            if sla.remind_at is not None:
                self.start_timer(
                    "sla_reminder", node, token_id, task_id, limit.days, limit.hours, sla.remind_at
                )
            self.start_timer("sla_breach", node, token_id, task_id, limit.days, limit.hours, 1.0)
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
    ) -> str:
        timer_id = self.new_id("m")
        self.state["timers"][timer_id] = {"kind": kind, "node": node.id, "token": token_id, "task": task_id}
        self.effects.append(
            TimerStarted(
                timer_id, kind, node.id, task_id, days, hours, fraction, timer_has_legal_effect(node, kind)
            )
        )
        return timer_id

    def enter_service_task(self, token_id: str, token: dict, node: Node) -> None:
        self.state["results"].pop(node.id, None)
        round_ = self.state["rounds"][node.id] = self.state["rounds"].get(node.id, 0) + 1
        task_id = self.create_task(token_id, node, "service", None, round_, None)
        token["tasks"] = [task_id]
        self.effects.append(ServiceCall(task_id, node.id, node.handler or ""))

    def enter_wait(self, token_id: str, token: dict, node: Node) -> None:
        duration = node.duration
        assert duration is not None
        self.start_timer("wait", node, token_id, None, duration.days, duration.hours, 1.0)

    def enter_correction(self, token_id: str, token: dict, node: Node) -> None:
        round_ = self.state["rounds"][node.id] = self.state["rounds"].get(node.id, 0) + 1
        task_id = self.create_task(token_id, node, "correction", None, round_, None)
        token["tasks"] = [task_id]
        if node.duration is not None:
            self.start_timer(
                "correction_deadline", node, token_id, task_id, node.duration.days, node.duration.hours, 1.0
            )
        self.pause(node.id)

    def enter_call(self, token_id: str, token: dict, node: Node) -> None:
        frame_id = self.new_id("f")
        process = node.calls or ""
        self.state["frames"][frame_id] = {"call": node.id, "token": token_id, "process": process}
        child = self.new_token(self.definition.processes[process].start, [], frame_id)
        self.queue.append(child)

    def enter_parallel(self, token_id: str, token: dict, node: Node) -> None:
        if node.is_join:
            self.arrive(token_id, token, node)
        elif node.is_split:
            self.split(token_id, token, node, node.next)
        else:
            self.move(token_id, node.next[0])

    def enter_inclusive(self, token_id: str, token: dict, node: Node) -> None:
        if node.is_join:
            self.arrive(token_id, token, node)
        elif node.is_split:
            context = self.context()
            chosen = [
                b.target for b in node.branches if not b.default and self.holds(node, b.condition, context)
            ]
            if not chosen:
                chosen = [b.target for b in node.branches if b.default]
            if not chosen:
                raise NoBranchMatched(
                    f"no condition of gateway '{node.id}' holds and it has no default branch"
                )
            self.split(token_id, token, node, chosen)
        else:
            self.move(token_id, node.next[0])

    def enter_exclusive(self, token_id: str, token: dict, node: Node) -> None:
        if not node.is_split:
            self.move(token_id, node.next[0])
            return
        context = self.context()
        default = None
        for branch in node.branches:
            if branch.default:
                default = branch.target
            elif self.holds(node, branch.condition, context):
                self.move(token_id, branch.target)
                return
        if default is None:
            raise NoBranchMatched(f"no condition of gateway '{node.id}' holds and it has no default branch")
        self.move(token_id, default)

    def holds(self, node: Node, condition: Any, context: dict) -> bool:
        try:
            return condition.test(context)
        except EvaluationError as exc:
            raise NoBranchMatched(
                f"condition '{condition.source}' of gateway '{node.id}' cannot be evaluated: {exc.message}"
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
        for target in targets:
            self.queue.append(self.new_token(target, list(scopes), token["frame"]))

    def arrive(self, token_id: str, token: dict, node: Node) -> None:
        state = self.state
        scopes = token["scopes"]
        scope_id = scopes[-1] if scopes else None
        scope = state["scopes"].get(scope_id) if scope_id else None
        if scope is None or scope["join"] != node.id:
            # Validation makes this unreachable; refuse rather than guess.
            raise IllegalEvent(f"a token reached join '{node.id}' outside its block", code="unbalanced_join")
        del state["tokens"][token_id]
        scope["arrived"] += 1
        if scope["arrived"] == scope["expected"]:
            del state["scopes"][scope_id]
            self.queue.append(self.new_token(node.next[0], scopes[:-1], token["frame"]))

    def enter_end(self, token_id: str, token: dict, node: Node) -> None:
        state = self.state
        outcome = node.outcome or "approved"
        for cert in node.certificates:
            state["certificates"].append({"type": cert.type, "department": cert.department, "node": node.id})
            self.effects.append(CertificateDue(node.id, cert.type, cert.department))
        frame = token["frame"]
        del state["tokens"][token_id]
        if node.terminate or not any(t["frame"] == frame for t in state["tokens"].values()):
            self.finish(frame, outcome, node.id)

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
            state["status"] = "completed"
            state["outcome"] = outcome
            state["scopes"].clear()
            self.effects.append(CaseCompleted(outcome, node_id))
            return
        # A sub-process ended: its caller moves on by the outcome.
        self.resume_caller(caller, outcome)

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

    def resume_caller(self, caller: dict, outcome: str) -> None:
        token_id = caller["token"]
        node = self.nodes[caller["call"]]
        self.state["decisions"][node.id] = {"outcome": outcome, "at": self.now}
        target = node.outcomes.get(outcome)
        if target is None:
            # No flow for this outcome: the whole calling process ends with it.
            frame = self.state["tokens"][token_id]["frame"]
            self.finish(frame, outcome, node.id)
            return
        self.move(token_id, target)

    def drop_token(self, token_id: str, reason: str) -> None:
        state = self.state
        token = state["tokens"].pop(token_id)
        tasks = [t for t in token.get("tasks", ()) if t in state["tasks"]]
        node = self.nodes[token["node"]]
        if tasks and (node.type == "correction" or node.clock_excluded):
            self.resume(node.id)
        for task_id in tasks:
            self.cancel_task(task_id, reason)
        for timer_id in [m for m, t in state["timers"].items() if t["token"] == token_id]:
            del state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))
        for scope_id in token["scopes"]:
            state["scopes"].pop(scope_id, None)

    def cancel_task(self, task_id: str, reason: str) -> None:
        task = self.state["tasks"].pop(task_id, None)
        if task is None:
            return
        self.effects.append(TaskCancelled(task_id, task["node"], reason))
        for timer_id in [m for m, t in self.state["timers"].items() if t["task"] == task_id]:
            del self.state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))

    # pause accounting -------------------------------------------------------

    def pause(self, node_id: str) -> None:
        self.state["paused"] += 1
        if self.state["paused"] == 1:
            self.effects.append(ClockPaused(node_id))

    def resume(self, node_id: str) -> None:
        if self.state["paused"] > 0:
            self.state["paused"] -= 1
            if self.state["paused"] == 0:
                self.effects.append(ClockResumed(node_id))

    # events -----------------------------------------------------------------

    def open_task(self, task_id: str, kinds: tuple[str, ...]) -> dict:
        task = self.state["tasks"].get(task_id)
        if task is None:
            raise IllegalEvent(f"task '{task_id}' is not open", code="task_not_open")
        if task["kind"] not in kinds:
            raise IllegalEvent(f"task '{task_id}' is a {task['kind']} task", code="wrong_task_kind")
        return task

    def complete_task(self, event: CompleteTask) -> None:
        task = self.open_task(event.task_id, ("review", "signature"))
        node = self.nodes[task["node"]]
        if event.outcome not in node.outcomes:
            raise IllegalEvent(
                f"outcome '{event.outcome}' is not offered at '{node.id}' "
                f"(offered: {', '.join(node.outcomes)})",
                code="outcome_not_offered",
            )
        self.decide(event.task_id, task, node, event.outcome, event.actor, event.opinion, event.data, None)
        self.run()

    def decide(
        self,
        task_id: str,
        task: dict,
        node: Node,
        outcome: str,
        actor: str | None,
        opinion: str | None,
        data: Mapping[str, Any] | None,
        legal_basis: str | None,
    ) -> None:
        state = self.state
        del state["tasks"][task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == task_id]:
            del state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))
        silent = legal_basis is not None
        self.effects.append(TaskCompleted(task_id, node.id, outcome, silent, legal_basis))
        token_id = task["token"]
        token = state["tokens"][token_id]
        token["tasks"].remove(task_id)
        decision = {
            "outcome": outcome,
            "round": task["round"],
            "by": actor,
            "opinion": opinion,
            "at": self.now,
        }
        if silent:
            decision["silent_consent"] = True
            decision["legal_basis"] = legal_basis
        if data:
            state["results"][node.id] = dict(data)
        sign = node.countersign
        if sign is None:
            final = outcome
        else:
            signatures = token["signatures"]
            signatures.append({"signer": task["signer"], "department": task["department"], **decision})
            final = self.countersign_outcome(token_id, token, node, outcome)
            if final is None:
                return
            decision["signatures"] = signatures
        state["decisions"][node.id] = decision
        for other in list(token["tasks"]):
            self.cancel_task(other, "decided")
        token.pop("tasks", None)
        token.pop("signatures", None)
        if node.clock_excluded:
            self.resume(node.id)
        self.move(token_id, node.outcomes[final])

    def countersign_outcome(self, token_id: str, token: dict, node: Node, outcome: str) -> str | None:
        sign = node.countersign
        assert sign is not None
        if sign.mode == "any" or outcome != "approve":
            return outcome
        done = len(token["signatures"])
        if done == len(sign.signers):
            return "approve"
        if sign.mode == "sequential":
            round_ = self.state["rounds"][node.id]
            token["tasks"].append(
                self.create_task(token_id, node, "signature", sign.signers[done], round_, done)
            )
        return None

    def fire_timer(self, timer_id: str) -> None:
        timer = self.state["timers"].pop(timer_id, None)
        if timer is None:
            raise IllegalEvent(f"timer '{timer_id}' is not pending", code="timer_not_pending")
        node = self.nodes[timer["node"]]
        kind = timer["kind"]
        if kind == "wait":
            self.move(timer["token"], node.next[0])
        elif kind == "correction_deadline":
            task_id = timer["task"]
            self.state["tasks"].pop(task_id, None)
            self.effects.append(TaskCancelled(task_id, node.id, "deadline_missed"))
            self.state["tokens"][timer["token"]].pop("tasks", None)
            self.resume(node.id)
            self.move(timer["token"], node.on_timeout or "")
        elif kind == "sla_reminder":
            task = self.state["tasks"][timer["task"]]
            self.effects.append(Notify("reminder", node.id, timer["task"], task["department"]))
        elif kind == "sla_breach":
            task_id = timer["task"]
            task = self.state["tasks"][task_id]
            sla = node.sla
            assert sla is not None
            if sla.on_breach == "escalate":
                task["escalated"] = True
                self.effects.append(Notify("escalation", node.id, task_id, task["department"]))
            else:
                self.decide(task_id, task, node, sla.on_breach, None, None, None, sla.legal_basis or "")
        self.run()

    def submit_correction(self, event: SubmitCorrection) -> None:
        task = self.open_task(event.task_id, ("correction",))
        node = self.nodes[task["node"]]
        state = self.state
        del state["tasks"][event.task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == event.task_id]:
            del state["timers"][timer_id]
            self.effects.append(TimerCancelled(timer_id))
        self.effects.append(TaskCompleted(event.task_id, node.id, "corrected"))
        state["data"].update(event.data)
        token = state["tokens"][task["token"]]
        token.pop("tasks", None)
        self.resume(node.id)
        self.move(task["token"], node.next[0])
        self.run()

    def service_done(self, event: ServiceDone) -> None:
        task = self.open_task(event.task_id, ("service",))
        node = self.nodes[task["node"]]
        state = self.state
        del state["tasks"][event.task_id]
        self.effects.append(TaskCompleted(event.task_id, node.id, "done"))
        state["results"][node.id] = dict(event.data)
        token = state["tokens"][task["token"]]
        token.pop("tasks", None)
        self.move(task["token"], node.next[0])
        self.run()


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
    return any(task["kind"] == "correction" for task in state["tasks"].values())


def active_nodes(state: Mapping[str, Any]) -> list[str]:
    return sorted({token["node"] for token in state["tokens"].values()})
