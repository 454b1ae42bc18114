"""Dry runs of a template with no database: scripted data and decisions on a
virtual working-day clock.

Every review takes its SLA limit (the statutory worst case) unless the script
gives a duration, parallel branches run side by side, and time with the
applicant (corrections) or in steps excluded from the clock (expert review,
hearings) is not counted, as Administrative Licensing Law art 45 and art 82
prescribe. So `working_days` answers an admin's question: if every department
uses its full limit, how many working days does the case take?

Given a start date and a working-day calendar, the run is also laid on the
real calendar (`real_instant`): the case is accepted on the start date, and
the clock starts at office open on the next working day (Administrative
Licensing Law art 82), so a limit of n working days taken in full ends at
office close of the n-th working day after acceptance, as `due_at` counts. A
year the calendar lacks is counted by the plain weekday rule and the dates
that depend on it are marked provisional.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# Pure arithmetic, no Django: the caller loads the calendar and hands it in.
from govflow.timers.calendar import WorkingCalendar, tolerant
from govflow.timers.deadlines import deadline

from . import runtime as rt
from .definition import Definition, Duration
from .forms import FieldError, FieldSpec, FormSpec, resolve_date_limit, validate_form_data
from .identifiers import make_cn_id, make_uscc
from .problems import EngineError, Message
from .repeat_signers import REFUSE, Signed, approvable_automatically, repeat_signer

MAX_STEPS = 10_000
# The task-flow operations a decisions file may script (see _Run.plan_task).
SCRIPTED_OPERATIONS = (
    "return",
    "take_back",
    "transfer",
    "add_signer",
    "remove_signer",
    "extend",
    "delegate",
    "consult",
)
# Operations that may be written without an argument.
BARE_OPERATIONS = ("take_back", "extend", "remove_signer", "delegate")
# Operations asked at once: they take no time, the task's next entry does.
AT_ONCE = ("add_signer", "remove_signer", "extend", "delegate", "consult", "transfer")
# 会商: a consultation's limit in working days, as the service allows it
# (the same numbers as govflow.collab.services; tests/engine/test_simulate_operations.py checks).
DEFAULT_CONSULT_DAYS = 3
MAX_CONSULT_DAYS = 30


def is_operation(entry: Any) -> bool:
    """A scripted operation, not an outcome: `take_back`, `extend`,
    `remove_signer`, `delegate`, or any operation with an argument
    (`return:`, `transfer:`, `add_signer:`, `consult:` ...; a bare `return`
    is the outcome, a return to the applicant for correction)."""
    text = str(entry)
    return text in BARE_OPERATIONS or (":" in text and text.partition(":")[0] in SCRIPTED_OPERATIONS)


@dataclass(frozen=True)
class Consult:
    """A scripted 会商: `consult:<dept>[+<dept>...][:<limit>[:<days>|:lapse]]`."""

    departments: tuple[str, ...]
    limit: int
    answered_after: float | None  # None: no opinion comes, the limit passes


def listing(messages: list[Message], *, separator: str = ",") -> Message | str:
    """Messages one after another, each still translatable: 'a, b, c' ("a", "b" and "c"
    in turn; `separator` "," or ";")."""
    if not messages:
        return ""
    text = messages[0]
    for message in messages[1:]:
        if separator == ";":
            text = Message("{first}; {then}", first=text, then=message)
        else:
            text = Message("{first}, {then}", first=text, then=message)
    return text


def parse_consult(argument: str) -> Consult | Message:
    """The consultation a `consult:` entry asks for, or why it cannot be read."""
    parts = argument.split(":")
    departments = tuple(d.strip() for d in parts[0].split("+"))
    if not all(re.fullmatch(r"[a-z][a-z0-9_]*", d) for d in departments):
        return Message("names the departments asked as 'consult:<department>[+<department>...]'")
    if len(set(departments)) != len(departments):
        return Message("names a department twice")
    if len(parts) > 3:
        return Message("has more than a limit and an answer ('consult:<departments>:<limit>:<days>|lapse')")
    limit = DEFAULT_CONSULT_DAYS
    if len(parts) > 1:
        if not parts[1].isdigit() or not 1 <= int(parts[1]) <= MAX_CONSULT_DAYS:
            return Message(
                "gives a limit that is not a whole number of working days from 1 to {most}",
                most=MAX_CONSULT_DAYS,
            )
        limit = int(parts[1])
    answered: float | None = float(limit)  # the worst case: the opinions come at the limit
    if len(parts) > 2:
        if parts[2] == "lapse":
            answered = None
        else:
            try:
                answered = float(parts[2])
            except ValueError:
                answered = -1.0
            if not 0 <= answered <= limit:
                return Message(
                    "says the opinions come after '{days}' days: give 0 to the limit {limit}, or 'lapse'",
                    days=parts[2],
                    limit=limit,
                )
    return Consult(departments, limit, answered)


DEFAULT_TASK_DAYS = 1.0
# Steps whose pause is time with the applicant (not excluded time, art 45)
APPLICANT_KINDS = ("correction", "applicant_task", "fee", "acceptance")


def _days(value: float) -> float | int:
    days = round(value, 2)
    return int(days) if days == int(days) else days


SIMULATION_EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TASK_OUTCOMES = ("approve", "reject", "return")


class SimulationError(EngineError):
    """The run cannot go on. `nodes` names where it stopped, as (node id,
    line, column) in the template; `script` the scripted entry that caused
    it, as (section, node id, index in its list or None), so that a caller
    holding the decisions file can point at its line."""

    code = "simulation_failed"

    def __init__(
        self,
        message: str,
        *,
        nodes: tuple[tuple[str, int, int], ...] = (),
        script: tuple[str, str, int | None] | None = None,
    ) -> None:
        super().__init__(message)
        self.nodes = nodes
        self.script = script


class SimulationDataError(EngineError):
    """The scripted form data does not pass the template's form validation."""

    code = "invalid_data"

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        self.errors = errors
        super().__init__(
            listing(
                [
                    Message("{path}: {problem}", path=e.path, problem=e.message.get("en", e.code))
                    for e in errors
                ],
                separator=";",
            )
        )


@dataclass
class Script:
    data: dict[str, Any] | None = None
    decisions: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)  # node -> result, or a list used in turn
    corrections: dict[str, Any] = field(default_factory=dict)
    # 容缺 / 告知承诺: {"materials": "supplied" | "missing",
    # "verification": "confirmed" | "false"} (docs/process-language.md).
    commitments: dict[str, str] = field(default_factory=dict)
    # 审批人去重: who takes each node's tasks (a name, or a list used in turn
    # by its tasks); a node not named is taken by a person of its own.
    signers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Simulation:
    outcome: str
    trace: list[str]
    certificates: list[dict[str, str]]
    working_days: float
    decisions: list[dict[str, Any]]
    time_limit_days: float | None
    dates: CalendarDates | None = None
    # 法定时限 beside the promise (time_limit, 承诺时限), both compared with
    # working_days; the days not counted, by why; the excluded steps' lengths
    statutory_limit_days: float | None = None
    not_counted: dict[str, float] = field(default_factory=dict)
    excluded_steps: list[dict[str, Any]] = field(default_factory=list)
    commitments: dict[str, Any] | None = None  # what the script said of 容缺 / 告知承诺, and its effect
    # 受理: where and on which working day the case was accepted, and whether by silence
    accepted: dict[str, Any] | None = None
    # 一件事: a line per item of the bundle, and the outcome that sums them up
    items: list[dict[str, Any]] | None = None
    bundle_outcome: str | None = None

    def as_json(self) -> dict[str, Any]:
        days = round(self.working_days, 2)
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "trace": self.trace,
            "certificates": self.certificates,
            "working_days": int(days) if days == int(days) else days,
            "time_limit_days": self.time_limit_days,
            "within_time_limit": None if self.time_limit_days is None else days <= self.time_limit_days,
            "statutory_limit_days": self.statutory_limit_days,
            "within_statutory_limit": (
                None if self.statutory_limit_days is None else days <= self.statutory_limit_days
            ),
            "not_counted_days": self.not_counted,
            "excluded_steps": self.excluded_steps,
            "decisions": self.decisions,
        }
        if self.dates is not None:
            out["decisions"] = [
                {**decision, "date": on.isoformat(), "provisional": provisional}
                for decision, (on, provisional) in zip(self.decisions, self.dates.decisions, strict=True)
            ]
            out.update(self.dates.as_json())
        if self.commitments is not None:
            out["commitments"] = self.commitments
        if self.accepted is not None:
            out["accepted"] = self.accepted
        if self.items is not None:
            out["bundle_outcome"] = self.bundle_outcome
            out["items"] = self.items
        return out


@dataclass(frozen=True)
class Deadline:
    """When a timer the run started falls due on the real calendar (local date)."""

    node: str
    kind: str
    due: date
    provisional: bool


@dataclass(frozen=True)
class CalendarDates:
    """A run laid on the real calendar: see `real_instant`."""

    start: date
    end_date: date
    decisions: list[tuple[date, bool]]  # (date, provisional) of each decision, in order
    deadlines: list[Deadline]
    provisional_years: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end_date": self.end_date.isoformat(),
            "deadlines": [
                {"node": d.node, "kind": d.kind, "due": d.due.isoformat(), "provisional": d.provisional}
                for d in self.deadlines
            ],
            "provisional_dates": bool(self.provisional_years),
            "provisional_years": list(self.provisional_years),
        }


def simulate(
    definition: Definition,
    script: Script,
    *,
    today: date | None = None,
    start: datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> Simulation:
    """Run `definition` with `script` on the abstract working-day clock.

    With `start` (an aware instant: the case is accepted then) and
    `calendar`, the result also carries real dates (`Simulation.dates`);
    `today` (the date form rules such as "not in the past" compare with)
    defaults to the local date of `start`. `calendar` is ignored without
    `start`.
    """
    if start is not None:
        if calendar is None:
            raise ValueError("a start needs a working-day calendar to count on")
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start must be timezone-aware, got {start!r}")
    today = today or (_local_date(calendar, start) if start and calendar else SIMULATION_EPOCH.date())
    data = script.data if script.data is not None else example_data(definition.form, today=today)
    checked = validate_form_data(definition.form, data, today=today)
    if not checked.ok:
        raise SimulationDataError(checked.errors)
    run = _Run(definition, script, checked.cleaned)
    result = run.run()
    if start is not None and calendar is not None:
        result.dates = run.calendar_dates(calendar, start)
    return result


def office_day_seconds(calendar: WorkingCalendar) -> int:
    """Length of one office day of `calendar`, in seconds (one abstract working day)."""
    opens = datetime.combine(date.min, calendar.office_open)
    return (datetime.combine(date.min, calendar.office_close) - opens) // timedelta(seconds=1)


def real_instant(calendar: WorkingCalendar, start: datetime, clock: float) -> datetime:
    """The real instant (UTC) of abstract clock value `clock` (working days)
    for a case accepted at `start`.

    The clock starts at office open of the first working day after the local
    date of `start`, and runs only in office hours on working days: so a
    whole number n of days ends at office close of the n-th working day after
    acceptance, which is `calendar.due_at(start, days=n)`. Clock 0 is the
    acceptance itself: what happens before any working time has passed (an
    automatic check, an immediate refusal) happens at `start`. Raises
    CalendarYearMissing like the calendar does (see `tolerant`).
    """
    seconds = round(clock * office_day_seconds(calendar))
    if seconds <= 0:
        return start.astimezone(UTC)
    zone = ZoneInfo(calendar.tz)
    first = calendar.add_working_days(_local_date(calendar, start), 1)
    origin = datetime.combine(first, calendar.office_open, tzinfo=zone)
    return calendar.add_working_seconds(origin, seconds)


def extension_days(days: int | None, hours: float | None) -> float:
    """An extension (延期) in working days (an office day of 8 hours)."""
    return float(days) if days is not None else (hours or 0) / 8.0


def clock_of(moment: str) -> float:
    """The virtual clock (working days) of an engine timestamp of a dry run."""
    return (datetime.fromisoformat(moment) - SIMULATION_EPOCH) / timedelta(days=1)


def _local_date(calendar: WorkingCalendar, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(calendar.tz)).date()


class _Run:
    def __init__(self, definition: Definition, script: Script, data: dict[str, Any]) -> None:
        self.definition = definition
        self.script = script
        self.data = data
        self.clock = 0.0
        self.paused_since: float | None = None
        self.paused_total = 0.0
        # Days not counted, by why: with the applicant, or excluded (art 45)
        self.paused_reason = "excluded"
        self.paused_by: dict[str, float] = {"excluded": 0.0, "applicant": 0.0}
        # Steps excluded from the clock: entered at (clock), and how long each took
        self.excluded_open: dict[str, float] = {}
        self.excluded_steps: list[dict[str, Any]] = []
        self.queue: list[tuple[float, int, str, str]] = []
        self.seq = 0
        self.used: dict[str, int] = {}
        # task id -> the scripted decision it was given: (node, index in the list or None)
        self.scripted: dict[str, tuple[str, int | None]] = {}
        self.trace: list[str] = []
        self.certificates: list[dict[str, str]] = []
        self.decided: list[dict[str, Any]] = []
        self.timeouts: dict[str, str] = {}  # task id -> breach/deadline timer id
        self.pending_outcome: dict[str, str] = {}
        self.decided_at: list[float] = []  # the exact clock of each entry of `decided`
        # Each timer started: its node and kind, the clock when it started,
        # and the limit it was started with (counted as the live system does).
        self.timers_due: list[tuple[str, str, float, rt.TimerStarted]] = []
        # signal nodes scripted to time out without a deadline: (node, script origin)
        self.stuck_signals: list[tuple[str, tuple[str, int | None] | None]] = []
        # 延期: the clock each breach timer falls due at, the extensions each
        # timer got (as the live system moves it) and each task's extra days.
        self.timer_due: dict[str, float] = {}
        self.timer_extensions: dict[str, list[rt.TaskExtended]] = {}
        self.extra_days: dict[str, float] = {}
        self.reminders: dict[str, str] = {}  # task id -> its SLA reminder timer id
        self.terminated = False  # 容缺: ended for materials not supplied
        self.accepted: dict[str, Any] | None = None  # 受理: the case's first acceptance
        self.item_days: dict[str, dict[str, Any]] = {}  # 一件事: item -> started_day, ended_day
        # task id -> the clock it was created at (委派 and 会商 do not stop its time)
        self.created_at: dict[str, float] = {}
        # task id -> what a scripted delegation or consultation waits for
        self.asked: dict[str, tuple[str, str]] = {}
        self.taking_back: dict[str, str] = {}  # task id -> its node, for a take-back still to come
        # task id -> its 'timeout' entry (no decision is scheduled: its breach timer decides)
        self.timing_out: dict[str, str] = {}
        # tasks whose scripted decision waits for the signers added before them (加签)
        self.awaiting_signers: set[str] = set()
        # tasks a take-back gave back, planned with the extensions they kept
        self.given_extensions: set[str] = set()
        # 审批人去重: who takes each task, the decisions made by whom (in
        # order), and the tasks approved automatically (task id -> the step
        # their person decided before)
        self.person: dict[str, str] = {}
        self.named: set[str] = set()  # tasks whose person the script names
        self.decided_by: list[Signed] = []
        self.repeats: dict[str, str] = {}
        self.last_person: dict[str, str] = {}  # node -> who took its last task
        # node -> entries given back by tasks a take-back cancelled before they were decided
        self.given_back: dict[str, list[tuple[Any, tuple[str, int | None] | None]]] = {}
        self.deciding: Any = None  # the scripted entry being decided (an engine refusal points at it)

    def now(self) -> datetime:
        return SIMULATION_EPOCH + timedelta(days=self.clock)

    def schedule(self, delay: float, kind: str, ident: str) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (self.clock + delay, self.seq, kind, ident))

    def next_decision(self, node_id: str) -> Any:
        return self.scripted_decision(node_id)[0]

    def scripted_decision(self, node_id: str) -> tuple[Any, tuple[str, int | None] | None]:
        """The next decision for `node_id` and where the script gives it
        ((node, index in its list or None); None for the default approval)."""
        if self.given_back.get(node_id):
            return self.given_back[node_id].pop(0)
        if node_id not in self.script.decisions:
            return "approve", None
        value = self.script.decisions[node_id]
        if isinstance(value, list):
            index = self.used.get(node_id, 0)
            self.used[node_id] = index + 1
            return (value[index], (node_id, index)) if index < len(value) else ("approve", None)
        self.used[node_id] = self.used.get(node_id, 0) + 1
        return value, (node_id, None)

    def where(self, *node_ids: str) -> tuple[Message | str, tuple[tuple[str, int, int], ...]]:
        """'a' (template line 12), 'b' (template line 30), and the same as positions."""
        nodes = [self.definition.nodes[n] for n in dict.fromkeys(node_ids) if n in self.definition.nodes]
        text = listing([Message("'{node}' (template line {line})", node=n.id, line=n.line) for n in nodes])
        return text, tuple((n.id, n.line, n.col) for n in nodes)

    def script_error(
        self, message: Message, origin: tuple[str, int | None] | None, node_id: str
    ) -> SimulationError:
        text, nodes = self.where(node_id)
        script = ("decisions", *origin) if origin is not None else None
        return SimulationError(
            Message("{problem}, at {where}", problem=message, where=text), nodes=nodes, script=script
        )

    def apply(self, result: rt.StepResult) -> dict[str, Any]:
        node_sla = self.definition.nodes
        for effect in result.effects:
            if isinstance(effect, rt.NodeEntered):
                self.trace.append(effect.node)
                entered = node_sla[effect.node]
                if entered.type in ("signal", "fee"):
                    self.expect_signal(entered)
                elif entered.type == "publicity":
                    self.expect_objection(entered)
            elif isinstance(effect, rt.CertificateDue):
                self.certificates.append(
                    {"type": effect.type, "department": effect.department, "node": effect.node}
                )
            elif isinstance(effect, rt.ClockPaused):
                self.paused_since = self.clock
                node = node_sla.get(effect.node)
                self.paused_reason = (
                    "applicant" if node is not None and node.type in APPLICANT_KINDS else "excluded"
                )
            elif isinstance(effect, rt.ClockResumed):
                self.end_pause()
            elif isinstance(effect, rt.TimeExcluded):
                self.excluded_open[effect.node] = self.clock
            elif isinstance(effect, rt.TaskCompleted) and effect.node in self.excluded_open:
                started = self.excluded_open.pop(effect.node)
                self.excluded_steps.append({"node": effect.node, "days": _days(self.clock - started)})
            elif isinstance(effect, rt.TaskCompleted) and effect.silent_consent:
                self.decided_at.append(self.clock)
                self.decided.append(
                    {
                        "node": effect.node,
                        "outcome": effect.outcome,
                        "day": round(self.clock, 3),
                        "silent_consent": True,
                        "legal_basis": effect.legal_basis,
                    }
                )
            elif isinstance(effect, rt.ServiceCall):
                self.schedule(0.0, "service", effect.task_id)
            elif isinstance(effect, rt.TaskCreated) and effect.kind in ("review", "signature"):
                task = result.state["tasks"][effect.task_id]
                created = min(clock_of(task["created"]), self.clock)
                self.created_at[effect.task_id] = created
                if self.repeat_signer(effect.task_id, task):
                    continue  # approved at once in the name of who decided an earlier step
                if created < self.clock:
                    # given back by a take-back: its time limit runs on from when it first
                    # was created, with the extensions it had, as the live system keeps it
                    self.given_extensions.add(effect.task_id)
                    self.extra_days[effect.task_id] = sum(
                        extension_days(e.get("days"), e.get("hours")) for e in task.get("extensions", ())
                    )
                    self.plan_task(effect.task_id, effect.node, since=created)
                else:
                    self.plan_task(effect.task_id, effect.node)
            elif isinstance(effect, rt.TaskCreated) and effect.kind == "acceptance":
                self.plan_acceptance(effect.task_id, effect.node)
            elif isinstance(effect, rt.Accepted) and self.accepted is None:
                self.accepted = {"node": effect.node, "day": round(self.clock, 3), "deemed": effect.deemed}
            elif isinstance(effect, rt.TaskTransferred):
                # the receiving department decides next, within the task's time: its limit
                # runs on from when the task was created, as the live task's breach timer does
                self.plan_task(effect.task_id, effect.node, since=self.created_at[effect.task_id])
            elif isinstance(effect, rt.TaskCreated) and effect.kind in ("correction", "applicant"):
                outcome, origin = self.scripted_decision(effect.node)
                if origin is not None:
                    self.scripted[effect.task_id] = origin
                if outcome != "timeout":
                    self.schedule(
                        float(self.script.durations.get(effect.node, 0.0)),
                        "correct" if effect.kind == "correction" else "applicant",
                        effect.task_id,
                    )
            elif isinstance(effect, rt.TimerStarted):
                limit = Duration(effect.days, effect.hours, effect.calendar_days).working_days
                # a limit counts from `since` when given (a task given back by a take-back)
                began = min(clock_of(effect.since), self.clock) if effect.since is not None else self.clock
                self.timers_due.append((effect.node, effect.kind, began, effect))
                if effect.kind == "sla_reminder" and effect.task_id:
                    self.reminders[effect.task_id] = effect.timer_id
                if effect.kind in ("wait", "signal_deadline", "fee_deadline", "notice"):
                    if effect.since is not None:
                        # a notice resumed after an objection: it ends when first published
                        limit = max(0.0, began + float(limit) - self.clock)
                    self.schedule(float(limit), "timer", effect.timer_id)
                elif (
                    effect.kind
                    in ("sla_breach", "correction_deadline", "applicant_deadline", "acceptance_deadline")
                    and effect.task_id
                ):
                    self.timeouts[effect.task_id] = effect.timer_id
                    self.timer_due[effect.timer_id] = began + float(limit)
                    self.schedule(max(0.0, began + float(limit) - self.clock), "timer", effect.timer_id)
            elif isinstance(effect, rt.TaskExtended):
                self.extended(effect)
            elif (
                isinstance(effect, rt.TaskCancelled)
                and effect.reason in ("taken_back", "signer_removed")
                and (effect.task_id in self.pending_outcome or effect.task_id in self.timing_out)
            ):
                # A task the taken-back decision created never was, a signer removed never
                # acted: its entry (a decision, or a 'timeout') goes to the next task of the node.
                outcome = self.pending_outcome.pop(effect.task_id, None)
                outcome = outcome or self.timing_out.pop(effect.task_id)
                self.awaiting_signers.discard(effect.task_id)
                entry = (outcome, self.scripted.get(effect.task_id))
                self.given_back.setdefault(effect.node, []).append(entry)
        if "bundles" in result.state:
            self.note_items(result.state)
        return result.state

    def repeat_signer(self, task_id: str, task: dict[str, Any]) -> bool:
        """审批人去重: name the task's person (the script's `signers`) and,
        where the template's `repeat_signer` approves the task at once in
        their name, schedule that approval (True). A refusal fails the run
        at the script's `signers` entry."""
        node = self.definition.nodes[task["node"]]
        named = self.script.signers.get(node.id)
        origin: tuple[str, int | None] | None = None
        if task.get("created") != self.now().isoformat() and node.id in self.last_person:
            # given back by a take-back: the same person, and not a repeat
            self.person[task_id] = self.last_person[node.id]
            if node.id in self.script.signers:
                self.named.add(task_id)
            return False
        if isinstance(named, list):
            index = self.used.get("signer:" + node.id, 0)
            self.used["signer:" + node.id] = index + 1
            person = named[index] if index < len(named) else None
            origin = (node.id, index) if person is not None else None
        else:
            person = named
            origin = (node.id, None) if named is not None else None
        if person is None:
            # by default each step (and each signature) has a person of its own
            signer = f"#{task['signer']}" if task["kind"] == "signature" else ""
            self.person[task_id] = self.last_person[node.id] = f"{node.id}{signer}"
            return False
        self.person[task_id] = self.last_person[node.id] = person
        self.named.add(task_id)
        if task.get("added"):
            return False  # an added signer is asked on purpose
        sign = node.countersign
        repeat = repeat_signer(
            self.definition.repeat_signer,
            node=node.id,
            person=person,
            decided=self.decided_by,
            last=self.decided_by[-1] if self.decided_by else None,
            can_approve=approvable_automatically(self.definition, node),
            distinct_signature=(
                task["kind"] == "signature"
                and sign is not None
                and sign.distinct_people
                and sign.signers.count(task["department"]) > 1
            ),
        )
        if repeat is None:
            return False
        if repeat.action == REFUSE:
            text, nodes = self.where(node.id)
            raise SimulationError(
                Message(
                    "the scripted signer '{person}' of '{node}' has already decided '{earlier}', and "
                    "the template's repeat_signer ({rule}) wants a different person there (审批人去重), "
                    "at {where}",
                    person=person,
                    node=node.id,
                    earlier=repeat.earlier,
                    rule=self.definition.repeat_signer,
                    where=text,
                ),
                nodes=nodes,
                script=("signers", *origin) if origin is not None else None,
            )
        self.repeats[task_id] = repeat.earlier
        self.pending_outcome[task_id] = "approve"
        self.schedule(0.0, "decide", task_id)
        return True

    def note_items(self, state: dict[str, Any]) -> None:
        """一件事: the counted working day each item of the bundle started and ended."""
        counted = self.clock - self.paused_total
        if self.paused_since is not None:
            counted -= self.clock - self.paused_since
        for record in state["bundles"].values():
            for item_id, line in record["items"].items():
                days = self.item_days.setdefault(item_id, {})
                if line["status"] != "waiting" and "started_day" not in days and "started" in line:
                    days["started_day"] = _days(counted)
                if line["status"] not in ("waiting", "running") and "ended_day" not in days:
                    days["ended_day"] = _days(counted)

    def items_report(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
        """Each item's line (department, how it ended, its days) and the bundle's outcome."""
        bundle = self.definition.bundle()
        record = state.get("bundles", {}).get(bundle.id) if bundle is not None else None
        if bundle is None or record is None:
            return None, None
        lines = []
        for item in bundle.items:
            line = record["items"][item.id]
            lines.append(
                {
                    "item": item.id,
                    "department": item.department,
                    "status": line["status"],
                    "certificates": [
                        c["type"] for c in self.certificates if c["node"] in self.item_ends(item.id)
                    ],
                    **self.item_days.get(item.id, {}),
                }
            )
        return lines, record.get("outcome")

    def item_ends(self, process: str) -> set[str]:
        return {n.id for n in self.definition.nodes.values() if n.process == process and n.type == "end"}

    def extended(self, effect: rt.TaskExtended) -> None:
        """延期: the task's breach falls due later by the extension, and its
        next scripted decision may take that much longer."""
        days = extension_days(effect.days, effect.hours)
        if effect.task_id not in self.given_extensions:  # else counted when it was planned
            self.extra_days[effect.task_id] = self.extra_days.get(effect.task_id, 0.0) + days
        reminder = self.reminders.get(effect.task_id)
        if reminder is not None:
            self.timer_extensions.setdefault(reminder, []).append(effect)
        timer_id = self.timeouts.get(effect.task_id)
        if timer_id is None or timer_id not in self.timer_due:
            return
        self.timer_due[timer_id] += days
        self.timer_extensions.setdefault(timer_id, []).append(effect)
        self.schedule(self.timer_due[timer_id] - self.clock, "timer", timer_id)

    def end_pause(self) -> None:
        if self.paused_since is not None:
            self.paused_total += self.clock - self.paused_since
            self.paused_by[self.paused_reason] += self.clock - self.paused_since
        self.paused_since = None

    def plan_task(
        self, task_id: str, node_id: str, *, after_signers: bool = False, since: float | None = None
    ) -> None:
        """Schedule the scripted decision of a review or signature task: an
        outcome, `timeout`, or an operation (issue 19; docs/process-language.md,
        section 16): `return:<node>` (with `:come_back`), `take_back[:<outcome>]`
        (decide, then take it back at once; the task's next entry decides it
        again), `transfer:<department>` (at once; the next entry decides it there
        when the task's time is up),
        `add_signer:<department>:<before|after>` (the task takes the next
        entry, the added signer's task the one after), `remove_signer` (on an
        added signer's entry: removed before acting) or
        `remove_signer:<department>` (the reviewer removes a signer they
        added), `delegate[:<days>]` (委派: the colleague's opinion comes back,
        then the next entry decides), `consult:<departments>[:<limit>[:<days>
        | lapse]]` (会商: the next entry decides once the opinions are in or
        the limit has passed). With `since` (the clock the task was created
        at), the time already spent on the task counts: its time runs on.
        With `after_signers` (a signer added before, 加签) a decision waits
        until the added signers have signed, and comes when the task's own
        time is up if that is later (its time limit runs on meanwhile, as
        the live system's breach timer does)."""
        node = self.definition.nodes[node_id]
        outcome, origin = self.scripted_decision(node_id)
        if origin is not None:
            self.scripted[task_id] = origin
        if outcome == "timeout":
            if node.sla is None:
                raise self.script_error(
                    Message(
                        "the scripted decision 'timeout' cannot happen: '{node}' has no SLA", node=node_id
                    ),
                    origin,
                    node_id,
                )
            self.timing_out[task_id] = outcome
            return  # the breach timer (started with the task) will decide
        operation, _, argument = str(outcome).partition(":")
        if is_operation(outcome) or outcome in ("transfer", "add_signer", "consult"):
            if operation not in BARE_OPERATIONS and not argument:
                unnamed = (
                    Message("the scripted 'return' for '{node}' names no step ('return:...')", node=node_id)
                    if operation == "return"
                    else Message(
                        "the scripted '{operation}' for '{node}' names no department ('{operation}:...')",
                        operation=operation,
                        node=node_id,
                    )
                )
                raise self.script_error(
                    unnamed,
                    origin,
                    node_id,
                )
            self.check_operation(operation, argument, node, origin)
        elif outcome not in node.outcomes:
            raise self.script_error(
                Message(
                    "decision '{outcome}' for '{node}' is not offered there (offered: {offered})",
                    outcome=outcome,
                    node=node_id,
                    offered=", ".join(node.outcomes),
                ),
                origin,
                node_id,
            )
        self.pending_outcome[task_id] = outcome
        if is_operation(outcome) and operation in AT_ONCE:
            # asked (and approved) at once; the next entry takes the time
            self.schedule(0.0, "decide", task_id)
            return
        if after_signers:
            self.awaiting_signers.add(task_id)  # scheduled once they have signed ("signed")
            return
        days = self.task_days(task_id, node)
        if since is not None:
            days = max(0.0, days - (self.clock - since))
        self.schedule(days, "decide", task_id)

    def task_days(self, task_id: str, node) -> float:
        """The working days a decision of the task takes (its duration, its
        SLA as extended, or one day)."""
        if node.id in self.script.durations:
            return float(self.script.durations[node.id])
        if node.sla is not None:
            return node.sla.limit.working_days + self.extra_days.get(task_id, 0.0)
        return DEFAULT_TASK_DAYS

    def check_operation(
        self, operation: str, argument: str, node, origin: tuple[str, int | None] | None
    ) -> None:
        """Refuse a scripted operation that cannot be read (the engine refuses
        one it does not allow when it happens)."""
        problem = None
        if operation == "take_back" and argument and argument not in node.outcomes:
            problem = Message(
                "the scripted 'take_back:{argument}' for '{node}' takes back a decision not offered "
                "there (offered: {offered})",
                argument=argument,
                node=node.id,
                offered=", ".join(node.outcomes),
            )
        elif operation == "delegate" and argument:
            try:
                days = float(argument)
            except ValueError:
                days = -1.0
            if days < 0:
                problem = Message(
                    "the scripted 'delegate:{argument}' for '{node}' gives no number of working days",
                    argument=argument,
                    node=node.id,
                )
        elif operation == "consult":
            read = parse_consult(argument)
            if isinstance(read, Message):
                problem = Message(
                    "the scripted 'consult:{argument}' for '{node}' {problem}",
                    argument=argument,
                    node=node.id,
                    problem=read,
                )
        elif operation == "add_signer" and argument.partition(":")[2] not in ("", "before", "after"):
            problem = Message(
                "the scripted 'add_signer:{argument}' for '{node}' adds a signer 'before' or 'after'",
                argument=argument,
                node=node.id,
            )
        if problem is not None:
            raise self.script_error(problem, origin, node.id)

    def plan_acceptance(self, task_id: str, node_id: str) -> None:
        """Schedule the scripted decision of an acceptance (受理) task:
        `accept` (the default), `refuse` (不予受理), `notice` (一次性告知; it
        lists the fields the script's `corrections` for the notice's
        correction node change, else the form's first field) or `silence`
        (no decision: the limit runs out and the application counts as
        accepted, art 32(4)). It takes the script's duration for the node
        (0 by default: accepted at the window)."""
        node = self.definition.nodes[node_id]
        outcome, origin = self.scripted_decision(node_id)
        if origin is not None:
            self.scripted[task_id] = origin
        if outcome == "approve":
            outcome = "accept"  # the default when the script says nothing
        if outcome in ("silence", "timeout"):
            return  # the acceptance_deadline timer decides
        if outcome not in node.outcomes:
            raise self.script_error(
                Message(
                    "decision '{outcome}' for '{node}' is not offered there "
                    "(offered: {offered}, or 'silence')",
                    outcome=outcome,
                    node=node_id,
                    offered=", ".join(node.outcomes),
                ),
                origin,
                node_id,
            )
        self.pending_outcome[task_id] = outcome
        self.schedule(float(self.script.durations.get(node_id, 0.0)), "decide", task_id)

    def acceptance_event(self, ident: str, task: dict[str, Any], outcome: str) -> rt.Event:
        node = self.definition.nodes[task["node"]]
        if outcome == "refuse":
            return rt.CompleteTask(
                ident, outcome, actor="simulation", opinion="simulated refusal", legal_basis="simulated basis"
            )
        if outcome == "notice":
            target = node.outcomes["notice"]
            changes = self.script.corrections.get(target, {})
            if isinstance(changes, list):
                changes = (
                    changes[min(self.used.get("correction:" + target, 0), len(changes) - 1)]
                    if changes
                    else {}
                )
            fields = {spec.id for spec in self.definition.form.fields}
            listed = [key for key in (changes or {}) if key in fields]
            if listed:
                items = tuple({"kind": "field", "id": key, "reason": "simulated notice"} for key in listed)
            elif self.definition.form.fields:
                items = ({"kind": "field", "id": self.definition.form.fields[0].id, "reason": "simulated"},)
            else:
                slot = self.definition.form.attachments[0].id if self.definition.form.attachments else ""
                items = ({"kind": "material", "id": slot, "reason": "simulated notice"},)
            return rt.CompleteTask(ident, outcome, actor="simulation", notice=items)
        return rt.CompleteTask(ident, outcome, actor="simulation", opinion="simulated decision")

    def operation_event(
        self, ident: str, task: dict[str, Any], outcome: str, state: dict[str, Any]
    ) -> rt.Event | None:
        """The engine event of a scripted operation (see plan_task)."""
        operation, _, argument = outcome.partition(":")
        self.decided_at.append(self.clock)
        self.decided.append({"node": task["node"], "outcome": outcome, "day": round(self.clock, 3)})
        if operation == "return":
            target, _, option = argument.partition(":")
            return rt.ReturnTask(
                ident, target, actor="simulation", opinion="simulated return", come_back=option == "come_back"
            )
        if operation == "take_back":
            self.taking_back[ident] = task["node"]
            self.schedule(0.0, "take_back", ident)
            return rt.CompleteTask(
                ident, argument or "approve", actor=signer_of(task), opinion="simulated decision"
            )
        if operation == "transfer":
            return rt.TransferTask(ident, argument, actor="simulation")
        if operation == "extend":
            # the extension's effect moves the breach; the task's next entry decides
            self.schedule(0.0, "replan", ident)
            return rt.ExtendTask(ident, actor="simulation")
        if operation == "remove_signer":
            if not argument:  # a head removes this added signer before they act
                self.signed(task)
                return rt.RemoveSigner(ident, ident, actor="simulation")
            signer = argument
            if argument not in task.get("after", ()):
                added = [
                    other_id
                    for other_id, other in sorted(state["tasks"].items())
                    if (other.get("added") or {}).get("for") == ident and other["department"] == argument
                ]
                signer = added[0] if added else argument
            self.schedule(0.0, "resume", ident)  # the reviewer's next entry decides, its time running on
            return rt.RemoveSigner(ident, signer, actor="simulation")
        if operation == "delegate":
            days = float(argument) if argument else self.task_days(ident, self.definition.nodes[task["node"]])
            self.asked[ident] = ("delegate_answered", "")
            self.schedule(days, "answered", ident)
            return None
        if operation == "consult":
            consult = parse_consult(argument)
            assert isinstance(consult, Consult)  # checked when planned
            departments = "+".join(consult.departments)
            if consult.answered_after is None:
                self.asked[ident] = ("consult_lapsed", departments)
                self.schedule(float(consult.limit), "answered", ident)
            else:
                self.asked[ident] = ("consult_answered", departments)
                self.schedule(consult.answered_after, "answered", ident)
            return None
        department, _, position = argument.partition(":")
        # the added signer decides first (before): the task's decision waits for it, its
        # time running on; or after the task's own approval
        self.plan_task(ident, task["node"], after_signers=(position or "before") == "before")
        return rt.AddSigner(ident, department, position or "before", actor="simulation")

    def signed(self, task: dict[str, Any]) -> None:
        """An added signer's task ends (signed, or removed before acting):
        the task it was added before may decide, once no other is pending."""
        added = task.get("added")
        if added is not None and added["position"] == "before":
            self.schedule(0.0, "signed", added["for"])

    def expect_signal(self, node) -> None:
        """A `signal` node: the message arrives after the script's duration
        for the node (0 by default) with its `results` entry as data, unless
        the script says `timeout` (then only the node's deadline moves on)."""
        outcome, origin = self.scripted_decision(node.id)
        if outcome == "timeout":
            if node.duration is None:
                self.stuck_signals.append((node.id, origin))
            return
        if outcome == "unpaid" and node.type == "fee":
            if node.duration is None:
                self.stuck_signals.append((node.id, origin))
            return
        if outcome not in ("approve", "arrive") and not (outcome == "paid" and node.type == "fee"):
            raise self.script_error(
                Message(
                    "decision '{outcome}' for '{node}' is not offered there "
                    "(a fee node takes 'paid', the default, or 'unpaid')",
                    outcome=outcome,
                    node=node.id,
                )
                if node.type == "fee"
                else Message(
                    "decision '{outcome}' for '{node}' is not offered there "
                    "(a {type} node takes 'arrive', the default, or 'timeout')",
                    outcome=outcome,
                    node=node.id,
                    type=node.type,
                ),
                origin,
                node.id,
            )
        self.schedule(float(self.script.durations.get(node.id, 0.0)), "signal", node.id)

    def expect_objection(self, node) -> None:
        """A `publicity` node: the notice runs out (`none`, the default),
        or someone objects (`objection`) after the script's duration for the
        node (1 working day by default; an objection due after the notice
        has ended is not filed)."""
        outcome, origin = self.scripted_decision(node.id)
        if outcome in ("approve", "none"):
            return
        if outcome != "objection":
            raise self.script_error(
                Message(
                    "decision '{outcome}' for '{node}' is not offered there (a publicity node takes "
                    "'none', the default, or 'objection')",
                    outcome=outcome,
                    node=node.id,
                ),
                origin,
                node.id,
            )
        self.schedule(float(self.script.durations.get(node.id, 1.0)), "objection", node.id)

    def run(self) -> Simulation:
        try:
            state = self.apply(rt.step(self.definition, None, rt.Start(self.data), self.now()))
        except EngineError as exc:  # e.g. no branch of a gateway right after the start matches
            raise self.engine_error(exc) from exc
        makeup = material_days(self.definition)
        if self.script.commitments.get("materials") == "missing" and makeup is not None:
            self.schedule(makeup, "lapse", "materials")
        steps = 0
        while state["status"] == "running":
            if not self.queue:
                raise self.stuck(state)
            steps += 1
            if steps > MAX_STEPS:
                raise self.endless(state)
            when, _, kind, ident = heapq.heappop(self.queue)
            self.clock = max(self.clock, when)
            event = self.event_for(kind, ident, state)
            if event is None:
                continue
            try:
                state = self.apply(rt.step(self.definition, state, event, self.now(), in_place=True))
            except EngineError as exc:
                scripted = kind == "take_back" or (kind == "decide" and is_operation(self.deciding))
                raise self.engine_error(exc, self.scripted.get(ident) if scripted else None) from exc
        for ident, node_id in self.taking_back.items():
            raise self.script_error(
                Message(
                    "the scripted 'take_back' cannot happen: the decision ended the case, "
                    "and a decision that ended the case cannot be taken back"
                ),
                self.scripted.get(ident),
                node_id,
            )
        self.end_pause()
        items, bundle_outcome = self.items_report(state)
        return Simulation(
            items=items,
            bundle_outcome=bundle_outcome,
            outcome=state["outcome"],
            trace=self.trace,
            certificates=self.certificates,
            working_days=self.clock - self.paused_total,
            decisions=self.decided,
            time_limit_days=self.definition.time_limit.working_days if self.definition.time_limit else None,
            statutory_limit_days=(
                self.definition.statutory_limit.working_days if self.definition.statutory_limit else None
            ),
            not_counted={reason: _days(days) for reason, days in self.paused_by.items()},
            excluded_steps=self.excluded_steps,
            commitments=self.commitments_report(state),
            accepted=self.accepted,
        )

    def commitments_report(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """What the scripted 容缺 / 告知承诺 did: the materials' make-up
        period and whether they terminated the case; the verification after
        an approval and what a false finding revokes."""
        said = self.script.commitments
        if not said:
            return None
        report: dict[str, Any] = {}
        makeup = material_days(self.definition)
        if makeup is not None:
            missing = said.get("materials") == "missing"
            report["materials"] = {
                "slots": list(self.definition.deferrable_slots()),
                "working_days": makeup,
                "supplied": not missing,
                "terminated": missing and self.terminated,
            }
        spec = self.definition.verification
        if spec is not None and state["outcome"] == "approved":
            finding = said.get("verification", "confirmed")
            report["verification"] = {
                "department": spec.department,
                "working_days": spec.days,
                "finding": finding,
                "certificates_revoked": [c["type"] for c in self.certificates] if finding == "false" else [],
                "credit_record": finding == "false",
            }
        return report

    def engine_error(self, exc: EngineError, origin: tuple[str, int | None] | None = None) -> SimulationError:
        """The engine's refusal as a failed run; `origin` is the scripted
        entry whose event it refused (an operation the engine does not allow)."""
        if isinstance(exc, SimulationError):
            return exc
        script = ("decisions", *origin) if origin is not None else None
        # The engine names the gateway or node in quotes; add where it stands.
        named = [n for n in re.findall(r"'([a-z][a-z0-9_]*)'", exc.message) if n in self.definition.nodes]
        if not named:
            return SimulationError(exc.message, script=script)
        text, nodes = self.where(named[0])
        return SimulationError(
            Message("{problem} (at {where})", problem=exc.message, where=text), nodes=nodes, script=script
        )

    def stuck(self, state: dict[str, Any]) -> SimulationError:
        """Nothing is scheduled and the case runs: say where it waits, and why."""
        tasks = sorted(state["tasks"].items(), key=lambda item: int(item[0][1:]))
        waiting = [task["node"] for _, task in tasks] or rt.active_nodes(state)
        text, nodes = self.where(*waiting)
        reasons: list[str] = []
        cause: tuple[str, int | None] | None = None
        for task_id, task in tasks:
            node = self.definition.nodes[task["node"]]
            origin = self.scripted.get(task_id)
            if task["kind"] in ("review", "signature") and node.sla is not None:
                reasons.append(
                    Message(
                        "the scripted 'timeout' lets the SLA of '{node}' pass, and its on_breach "
                        "'{on_breach}' decides nothing",
                        node=node.id,
                        on_breach=node.sla.on_breach,
                    )
                )
            elif task["kind"] in ("correction", "applicant") and node.duration is None:
                reasons.append(
                    Message(
                        "the scripted 'timeout' waits for a deadline '{node}' does not have", node=node.id
                    )
                )
            else:
                continue
            cause = cause or origin
        active = set(rt.active_nodes(state))
        for node_id, origin in self.stuck_signals:
            if node_id in active:
                reasons.append(
                    Message(
                        "the scripted 'timeout' waits for a deadline '{node}' does not have", node=node_id
                    )
                )
                cause = cause or origin
        return SimulationError(
            Message(
                "the case is stuck: nothing is left to happen at {where}: {reasons}",
                where=text,
                reasons=listing(reasons, separator=";"),
            )
            if reasons
            else Message("the case is stuck: nothing is left to happen at {where}", where=text),
            nodes=nodes,
            script=("decisions", *cause) if cause is not None else None,
        )

    def endless(self, state: dict[str, Any]) -> SimulationError:
        """Too many steps: say where the case is, and which scripted decision
        keeps it going round (one given as a single value is used every round)."""
        text, nodes = self.where(*(task["node"] for task in state["tasks"].values()))
        repeated = [
            n for n, v in self.script.decisions.items() if not isinstance(v, list) and self.used.get(n, 0) > 1
        ]
        busiest = max(repeated, key=lambda n: self.used[n], default=None)
        where = text or Message("no task")
        return SimulationError(
            Message(
                "the simulation did not end after {steps} steps (an endless loop?), at {where}; "
                "the scripted decision '{outcome}' for '{node}' is used every round",
                steps=MAX_STEPS,
                where=where,
                outcome=self.script.decisions[busiest],
                node=busiest,
            )
            if busiest is not None
            else Message(
                "the simulation did not end after {steps} steps (an endless loop?), at {where}",
                steps=MAX_STEPS,
                where=where,
            ),
            nodes=nodes,
            script=("decisions", busiest, None) if busiest is not None else None,
        )

    def event_for(self, kind: str, ident: str, state: dict[str, Any]) -> rt.Event | None:
        if kind == "timer":
            if self.clock < self.timer_due.get(ident, self.clock):
                return None  # moved later by an extension; its new entry is queued
            return rt.FireTimer(ident) if ident in state["timers"] else None
        if kind == "signal":
            if ident not in rt.active_nodes(state):  # the deadline came first
                return None
            node = self.definition.nodes[ident]
            data = self.script.results.get(ident, {})
            if isinstance(data, list):
                index = self.used.get("result:" + ident, 0)
                self.used["result:" + ident] = index + 1
                data = data[min(index, len(data) - 1)] if data else {}
            return rt.Signal(node.settings.get("signal", ""), dict(data))
        if kind == "take_back":
            self.taking_back.pop(ident, None)
            return rt.TakeBack(ident, actor="simulation")
        if kind == "lapse":
            # 容缺: the materials were not supplied by their deadline; the case is terminated.
            self.terminated = True
            self.decided_at.append(self.clock)
            self.decided.append({"node": "materials", "outcome": "terminated", "day": round(self.clock, 3)})
            return rt.Withdraw(actor="simulation", reason="容缺 materials not supplied by the deadline")
        if kind == "objection":
            if ident not in rt.active_nodes(state):  # the notice ended first
                return None
            self.decided_at.append(self.clock)
            self.decided.append({"node": ident, "outcome": "objection", "day": round(self.clock, 3)})
            return rt.Objection(ident)
        if kind == "replan":
            task = state["tasks"].get(ident)
            if task is not None:
                self.plan_task(ident, task["node"])
            return None
        task = state["tasks"].get(ident)
        if task is None:  # cancelled meanwhile (a terminating end, a countersign decided)
            return None
        if kind == "resume":  # after 减签: the reviewer's next entry, the task's time running on
            self.plan_task(ident, task["node"], since=self.created_at.get(ident, self.clock))
            return None
        if kind == "signed":  # 加签 before: the added signers are done, the decision may come
            if task.get("waiting") or ident not in self.awaiting_signers:
                return None  # another added signer is still to sign
            self.awaiting_signers.discard(ident)
            node = self.definition.nodes[task["node"]]
            since = self.created_at.get(ident, self.clock)
            self.schedule(max(0.0, self.task_days(ident, node) - (self.clock - since)), "decide", ident)
            return None
        if kind == "answered":  # 委派 / 会商: the opinions are in, or the limit has passed
            what, departments = self.asked.pop(ident)
            entry = {"node": task["node"], "outcome": what, "day": round(self.clock, 3)}
            if departments:
                entry["departments"] = departments.split("+")
            self.decided_at.append(self.clock)
            self.decided.append(entry)
            self.plan_task(ident, task["node"], since=self.created_at.get(ident, self.clock))
            return None
        if kind == "decide":
            outcome = self.deciding = self.pending_outcome.pop(ident)
            if is_operation(outcome):
                return self.operation_event(ident, task, outcome, state)
            self.decided_at.append(self.clock)
            entry = {"node": task["node"], "outcome": outcome, "day": round(self.clock, 3)}
            if ident in self.repeats:
                entry["repeat_signer"] = self.repeats.pop(ident)
            self.decided.append(entry)
            self.signed(task)
            if task["kind"] == "acceptance":
                return self.acceptance_event(ident, task, outcome)
            person = self.person.get(ident)
            if person is not None:
                self.decided_by.append(Signed(task["node"], person))
            actor = f"person:{person}" if ident in self.named else signer_of(task)
            return rt.CompleteTask(ident, outcome, actor=actor, opinion="simulated decision")
        if kind == "correct":
            changes = self.script.corrections.get(task["node"], {})
            if isinstance(changes, list):
                index = self.used.get("correction:" + task["node"], 0)
                self.used["correction:" + task["node"]] = index + 1
                changes = changes[index] if index < len(changes) else {}
            return rt.SubmitCorrection(ident, dict(changes or {}), actor="applicant")
        if kind == "applicant":
            supplied = self.script.corrections.get(task["node"], {})
            if isinstance(supplied, list):
                index = self.used.get("applicant:" + task["node"], 0)
                self.used["applicant:" + task["node"]] = index + 1
                supplied = supplied[index] if index < len(supplied) else {}
            return rt.SubmitApplicantTask(ident, dict(supplied or {}), confirmed=True, actor="applicant")
        if kind == "service":
            result = self.script.results.get(task["node"], {})
            if isinstance(result, list):
                index = self.used.get("result:" + task["node"], 0)
                self.used["result:" + task["node"]] = index + 1
                result = result[min(index, len(result) - 1)] if result else {}
            return rt.ServiceDone(ident, dict(result))
        raise SimulationError(Message("unknown simulation event {kind}", kind=kind))  # pragma: no cover

    def calendar_dates(self, calendar: WorkingCalendar, start: datetime) -> CalendarDates:
        """The finished run's clock values as local dates on `calendar`;
        years it lacks are counted by the weekday rule and marked provisional."""
        clocks = [*self.decided_at, *(started for _, _, started, _ in self.timers_due), self.clock]

        def local_dates(working: WorkingCalendar) -> list[date]:
            instants = [real_instant(working, start, clock) for clock in clocks]
            # A timer's due date as the case bridge computes it from the
            # moment the timer started (govflow.timers.deadlines).
            for index, (_, _, _, effect) in enumerate(self.timers_due, start=len(self.decided_at)):
                instants[index] = deadline(
                    working,
                    instants[index],
                    days=effect.days,
                    hours=effect.hours,
                    fraction=effect.fraction,
                    calendar_days=effect.calendar_days,
                ).due_at
                for moved in self.timer_extensions.get(effect.timer_id, ()):
                    instants[index] = deadline(
                        working, instants[index], days=moved.days, hours=moved.hours
                    ).due_at
            return [_local_date(working, instant) for instant in instants]

        dates, used = tolerant(calendar, local_dates)
        first = _local_date(used, start)

        def provisional(day: date) -> bool:
            return not used.is_exact(first, day)

        decided, due, end = dates[: len(self.decided_at)], dates[len(self.decided_at) : -1], dates[-1]
        last = max(dates)
        return CalendarDates(
            start=first,
            end_date=end,
            decisions=[(day, provisional(day)) for day in decided],
            deadlines=[
                Deadline(node=node, kind=kind, due=day, provisional=provisional(day))
                for (node, kind, _, _), day in zip(self.timers_due, due, strict=True)
            ],
            provisional_years=tuple(
                sorted(year for year in used.provisional_years if first.year <= year <= last.year)
            ),
        )


# -- example data -----------------------------------------------------------


def example_data(form: FormSpec, *, today: date) -> dict[str, Any]:
    """Plausible, valid data for every field of a form (used by --approve-all
    and by the admin's dry run when no data is given)."""
    return {spec.id: example_value(spec, today=today, index=i) for i, spec in enumerate(form.fields)}


def example_value(spec: FieldSpec, *, today: date, index: int = 0) -> Any:
    kind = spec.type
    if kind == "table":
        rows = max(spec.min_rows or 1, 1)
        return [
            {col.id: example_value(col, today=today, index=index + row) for col in spec.columns}
            for row in range(rows)
        ]
    if kind == "choice":
        return spec.choices[0].value if spec.choices else ""
    if kind == "multichoice":
        return [spec.choices[0].value] if spec.choices else []
    if kind == "boolean":
        return False
    if kind == "number":
        low = spec.min if spec.min is not None else 1
        high = spec.max if spec.max is not None else max(low, 100)
        return int(min(max(low, 1), high))
    if kind == "decimal":
        low = Decimal(spec.min) if spec.min is not None else Decimal("1")
        high = Decimal(spec.max) if spec.max is not None else max(low, Decimal("100000"))
        value = min(max(low, Decimal("100000")), high)
        return str(value.quantize(Decimal(1).scaleb(-(spec.decimals if spec.decimals is not None else 2))))
    if kind == "date":
        low = resolve_date_limit(spec.min, today) if spec.min is not None else None
        high = resolve_date_limit(spec.max, today) if spec.max is not None else None
        value = today
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        return value.isoformat()
    if kind == "cn_id_number":
        return make_cn_id("110105", date(1980, 1, 1) + timedelta(days=97 * index), 11 + 2 * index)
    if kind == "uscc":
        return make_uscc(f"91110105MA0{index:02d}ABC1"[:17].ljust(17, "0"))
    if kind == "phone":
        return f"1380013{index:04d}"[:11]
    if kind == "email":
        return f"applicant{index}@example.cn"
    example = {"address": "北京市东城区示例路1号", "textarea": "示例说明"}.get(kind, "示例")
    if spec.min_length and len(example) < spec.min_length:
        example = example * (spec.min_length // len(example) + 1)
    if spec.max_length:
        example = example[: spec.max_length]
    return example


def signer_of(task: dict[str, Any]) -> str:
    """Who decides a task in a dry run: one simulated reviewer, and a
    different person for each signature of a countersign (审批人去重)."""
    return "simulation" if task["kind"] != "signature" else f"simulation:signer{task['signer']}"


def material_days(definition: Definition) -> float | None:
    """容缺: the working days within which the deferrable documents follow
    of the acceptance (the shortest slot's deadline, never beyond the
    statutory_limit, else the time_limit); None when the template has none."""
    cap = definition.statutory_limit or definition.time_limit
    limits = [
        min(d.working_days for d in (spec.deadline, cap) if d is not None)
        for spec in definition.form.attachments
        if spec.deferrable
    ]
    return min(limits) if limits else None


def script_from_mapping(raw: Mapping[str, Any]) -> Script:
    """Build a Script from a parsed decisions file (already shape-checked)."""
    return Script(
        data=dict(raw["data"]) if raw.get("data") is not None else None,
        decisions=dict(raw.get("decisions") or {}),
        durations={k: float(v) for k, v in (raw.get("durations") or {}).items()},
        results={
            k: list(v) if isinstance(v, list) else dict(v) for k, v in (raw.get("results") or {}).items()
        },
        corrections=dict(raw.get("corrections") or {}),
        commitments={str(k): str(v).lower() for k, v in (raw.get("commitments") or {}).items()},
        signers={
            str(k): [str(x) for x in v] if isinstance(v, list) else str(v)
            for k, v in (raw.get("signers") or {}).items()
        },
    )
