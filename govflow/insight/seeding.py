"""Past cases for demo and benchmark databases (`manage.py seed_history`).

Each seeded case is run through the real engine (`govflow.engine.step`) on
a virtual clock laid over the working-day calendar: reviewers take
realistic times (a log-normal share of their SLA, with a tail that breaches
it), some return cases for correction, applicants answer late or never,
SLA timers fire (escalation, silent consent), and the shipped templates'
gateways, joins, sub-processes and countersignatures decide which tasks
exist. Each step's effects become rows through the bridge the services use
(`govflow.cases.bridge.stage` on a bulk change set, one per case: cases
with their engine state, tasks, timers with calendar due dates and pauses,
audit events), so seeded and live rows cannot differ; this module adds only
what the services around the engine would record (the reviewer's decision,
the sweep firing a timer, the applicant's correction) and the insight
facts, and writes a batch of cases to a transaction with COPY.

Durations improve over the seeded period as the seed article reports
(business setup from about 10 working days to 1; construction approval from
about 100 to 45). Cases whose next event lies after the present stay open,
with live tasks and pending timers, so the "now" views have something to
show; the sweeper and reviewers take them over from there.

Seeded rows are marked: case references start with HIS, every audit event
carries "seeded": true, and the fact rows have seeded=True. The command is
additive (each run adds N more cases). Outbox and notification rows are not
written: their deliveries would be long done.
"""

from __future__ import annotations

import heapq
import math
import random
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from govflow.accounts import models as roles
from govflow.accounts.models import Membership
from govflow.audit.actions import Action
from govflow.audit.services import audit_write
from govflow.cases.bridge import Changes, load_state, stage
from govflow.cases.events import CaseEnded
from govflow.cases.models import Case, Task, TaskKind, TaskStatus
from govflow.cases.task_status import Decision
from govflow.engine import runtime as rt
from govflow.engine import step
from govflow.engine.simulate import example_data
from govflow.processes.handlers import HANDLERS, HandlerContext
from govflow.processes.models import ProcessTemplate
from govflow.processes.services import version_definition
from govflow.rawsql import copy_rows
from govflow.timers.calendar import CalendarYearMissing, WorkingCalendar
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get

from .facts import REVIEW_KINDS, _task_fact, _TaskRow, case_fact, facts_mark_appended
from .models import CaseFact, TaskFact
from .rollup import rollup_advance, rollup_retract

REFERENCE_PREFIX = "HIS"
SEED_APPLICANT = "history_applicant"
SLA_KINDS = ("sla_reminder", "sla_breach")
# Share of cases per service, and how much slower than at the end of the
# period reviews were at its start (seed article, section 5.4).
SERVICES = {"business_setup": 0.85, "construction_permit": 0.15}
SLOWDOWN = {"business_setup": 20.0, "construction_permit": 2.2}
REFORM_SHARE = 0.4  # the share of the seeded period the reform took
# Median share of its SLA a review takes at the end of the period, and the spread.
MEDIAN_SHARE = {"business_setup": 0.3, "construction_permit": 0.35}
SPREAD = 0.6
# How often a review refuses. 企业开办一件事: refusing the registration
# refuses the company (about one case in twenty); a later item's refusal
# (the bank declining an account) ends that item alone, the case approved.
REFUSALS: dict[str | tuple[str, str], float] = {
    "business_setup": 0.012,
    ("business_setup", "registration"): 0.05,
    "construction_permit": 0.02,
}
# Scripted results of handlers that would look at other cases.
SCRIPTED = {
    "company_name_check": lambda rng: {"available": True, "reason": ""},
    "credit_code_check": lambda rng: {"valid": True, "registered_here": rng.random() < 0.3},
}
OPINIONS = {
    "approve": ["同意。", "符合法定条件，准予办理。", "材料齐全，同意办理。"],
    "reject": ["不符合法定条件，不予办理。", "申请事项不属于本部门职责范围，不予受理。"],
    "return": ["请补正相关材料后重新提交。", "材料不完整，请按一次性告知清单补正。"],
}
TRADE_NAMES = ["华信", "中科", "恒泰", "新禾", "博远", "瑞丰", "启明", "云帆", "汇通", "睿智", "嘉和", "鼎盛"]
INDUSTRIES = ["科技", "贸易", "信息技术", "餐饮管理", "文化传媒", "建筑工程", "生物医药", "咨询"]
PROJECTS = ["综合楼", "厂房", "住宅小区", "学校教学楼", "医院门诊楼", "物流仓库", "商业中心"]


class SeedError(Exception):
    pass


@dataclass
class SeedResult:
    cases: int = 0
    open_cases: int = 0
    tasks: int = 0
    timers: int = 0
    audit_events: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


@dataclass
class _Service:
    template: ProcessTemplate
    definition: Any
    calendar: WorkingCalendar
    reviewers: dict[str | None, list[int]]


@dataclass
class _Sim:
    """One case being simulated: the engine's events on a virtual clock, and
    the bulk change set the bridge stages its rows on."""

    case: Case
    service: _Service
    changes: Changes
    queue: list = field(default_factory=list)
    seq: int = 0
    current: Any = None  # the event being applied
    # Each timer's latest Timer row (by engine id), and the due date it was
    # put on the queue for with the generation that entry carries.
    timers: dict[str, Timer] = field(default_factory=dict)
    timer_gen: dict[str, int] = field(default_factory=dict)
    scheduled: dict[str, datetime] = field(default_factory=dict)
    # 审批人去重: who signs each countersign round, (node, round) -> reviewers
    signers: dict[tuple[str, int], set] = field(default_factory=dict)
    seen_timers: int = 0  # how many of the change set's timers are in `timers`

    @property
    def state(self) -> dict | None:
        return load_state(self.case)

    def push(self, at: datetime, event) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, event))

    def push_timer(self, at: datetime, timer_id: str, generation: int) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, ("timer", timer_id, generation)))

    def event(self, action: Action, at: datetime, *, actor_id=None, **data) -> None:
        """An audit event of a service the simulation stands in for (the
        bridge stages the engine's own), marked as seeded."""
        self.changes.now = at
        self.changes.event(action, self.case, actor_id=actor_id, **data)


# -- entry point -------------------------------------------------------------------


def seed_history(
    *,
    cases: int,
    seed: int | None = None,
    since: date | None = None,
    now: datetime | None = None,
    batch: int = 1000,
    progress=None,
) -> SeedResult:
    if cases < 0:
        raise SeedError("--cases must not be negative")
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    services = _services()
    calendar = next(iter(services.values())).calendar
    tz = ZoneInfo(calendar.tz)
    today = now.astimezone(tz).date()
    since = since or _default_since(calendar, today)
    last_day = today - timedelta(days=2)
    if since > last_day:
        raise SeedError(f"--since {since} leaves no time before today ({today})")
    days = _working_days(calendar, since, last_day)
    if not days:
        raise SeedError(f"no working day between {since} and {last_day} on the calendar")
    applicant = _applicant()
    result = SeedResult()
    codes = list(SERVICES)
    weights = [SERVICES[c] for c in codes]
    done = 0
    while done < cases:
        size = min(batch, cases - done)
        plans = []
        for _ in range(size):
            day = rng.choice(days)
            # In UTC like timezone.now(): the audit chain hashes instants as written.
            moment = datetime.combine(day, time(9), tzinfo=tz).astimezone(UTC)
            moment += timedelta(seconds=rng.randrange(8 * 3600))
            progress_share = (day - since).days / max((last_day - since).days, 1)
            plans.append((moment, rng.choices(codes, weights)[0], progress_share))
        plans.sort(key=lambda p: p[0])
        with transaction.atomic():
            # Facts about the past are read live until rolled up again below.
            rollup_retract(since=plans[0][0].astimezone(tz).date())
            ids = _reserve_ids(Case, size)
            sims = [
                _simulate(services[code], ids[i], moment, share, applicant, rng, now)
                for i, (moment, code, share) in enumerate(plans)
            ]
            _write(sims, result)
        done += size
        if progress:
            progress(done, cases)
    rollup_advance(now=now)
    return result


def _default_since(calendar: WorkingCalendar, today: date) -> date:
    """The first day of the earliest loaded calendar year, at most two years back."""
    first = min(calendar.years) if calendar.years else today.year
    return max(date(first, 1, 1), date(today.year - 2, 1, 1))


def _working_days(calendar: WorkingCalendar, start: date, end: date) -> list[date]:
    days = []
    day = start
    while day <= end:
        try:
            if calendar.is_working_day(day):
                days.append(day)
        except CalendarYearMissing as exc:
            raise SeedError(f"{exc}; choose --since within the loaded calendar years") from None
        day += timedelta(days=1)
    return days


def _services() -> dict[str, _Service]:
    services = {}
    for code in SERVICES:
        template = (
            ProcessTemplate.objects.filter(code=code, current_version__isnull=False)
            .select_related("current_version")
            .first()
        )
        if template is None:
            raise SeedError(f"the service '{code}' is not published; run `manage.py load_demo` first")
        definition = version_definition(template.current_version)
        reviewers: dict[str | None, list[int]] = {}
        for user_id, department in Membership.objects.filter(is_head=False).values_list(
            "user_id", "department__code"
        ):
            reviewers.setdefault(department, []).append(user_id)
        services[code] = _Service(template, definition, calendar_get(definition.calendar), reviewers)
    return services


def _applicant():
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=SEED_APPLICANT,
        defaults={"first_name": "历史数据申请人", "is_active": False, "email": "history@example.cn"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])

        user.groups.add(Group.objects.get_or_create(name=roles.APPLICANT)[0])
    return user


def _reserve_ids(model, count: int) -> list[int]:
    """Primary keys for rows written later in this transaction."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the caller's transaction holds the write lock.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


# -- one case -------------------------------------------------------------------------


def _form_data(service: _Service, rng: random.Random, day: date, case_id: int) -> dict[str, Any]:
    data = example_data(service.definition.form, today=day)
    fields = {spec.id: spec for spec in service.definition.form.fields}
    for spec in fields.values():
        if spec.type == "choice" and spec.choices and spec.id not in ("entity_type",):
            data[spec.id] = rng.choice(spec.choices).value
        elif spec.type == "boolean":
            data[spec.id] = rng.random() < 0.3
    if "company_name" in data:
        data["company_name"] = (
            f"北京{rng.choice(TRADE_NAMES)}{rng.choice(INDUSTRIES)}{case_id:06d}有限公司"
        )[:100]
    if "employees_count" in data:
        data["employees_count"] = 0 if rng.random() < 0.2 else rng.randint(1, 200)
    if "bank" in data and rng.random() < 0.15:
        data["bank"] = "none"
    if "project_name" in data:
        data["project_name"] = f"{rng.choice(TRADE_NAMES)}{rng.choice(PROJECTS)}项目（{case_id}）"
    if "floor_area" in data:
        data["floor_area"] = rng.choice([800, 2500, 6000, 12000, 30000])
    if "is_special_project" in data:
        data["is_special_project"] = rng.random() < 0.1
    return data


def _simulate(
    service: _Service,
    case_id: int,
    submitted: datetime,
    share: float,
    applicant,
    rng: random.Random,
    now: datetime,
) -> _Sim:
    definition = service.definition
    code = service.template.code
    data = _form_data(service, rng, timezone.localdate(submitted), case_id)
    case = Case(
        pk=case_id,
        reference=f"{REFERENCE_PREFIX}{submitted.astimezone(UTC):%Y%m%d}{case_id:08d}",
        template=service.template,
        version=service.template.current_version,
        applicant=applicant,
        data=data,
        title=str(data.get(definition.title_field or "", "") or "")[:200],
        submitted_at=submitted,
    )
    created = submitted - timedelta(minutes=rng.randint(5, 90))
    case.created_at = case.updated_at = created
    sim = _Sim(case=case, service=service, changes=Changes(now=created, bulk=True, marks={"seeded": True}))
    sim.event(Action.CASE_CREATED, created, actor_id=applicant.pk, template=code, version=case.version.number)
    sim.event(Action.CASE_SUBMITTED, submitted, actor_id=applicant.pk)
    case.submit()
    case.accept()  # accepted at once (an acceptance node's task is decided within the hour or two)
    case.accepted_at = submitted
    # The reform's gains came in the first part of the period and then held.
    slow = SLOWDOWN[code] ** (max(0.0, 1 - share / REFORM_SHARE) ** 2)
    result = step(definition, None, rt.Start(data), submitted)
    _apply(sim, result, submitted, rng, slow, now)
    if rng.random() < 0.015:  # the applicant gives up during the review
        sim.push(submitted + timedelta(days=rng.randint(1, 20)), rt.Withdraw(actor=str(applicant.pk)))
    while sim.queue and case.state["status"] == "running":
        at, _seq, item = heapq.heappop(sim.queue)
        if at > now:
            break
        event = _current(sim, item)
        if event is None:
            continue
        result = step(definition, sim.state, event, at)
        if case.clock_paused_at is not None and not _can_resume(sim, result, at):
            break  # its clocks would run into a calendar year not loaded: the case waits here
        sim.current = event
        # What the service that takes this event records besides the engine's
        # effects (the bridge stages those).
        if isinstance(event, rt.FireTimer):  # the sweep (timers_fire_due)
            timer = sim.timers[event.timer_id]
            timer.status, timer.fired_at = Timer.FIRED, at
            sim.event(
                Action.TIMER_FIRED,
                at,
                object_type="timer",
                object_id=event.timer_id,
                kind=timer.kind,
                node=timer.node_id,
                due_at=timer.due_at.isoformat(),
            )
        elif isinstance(event, rt.SubmitCorrection):  # case_answer_correction
            sim.changes.decided[(case.pk, event.task_id)] = Decision("corrected", decided_by_id=applicant.pk)
            sim.event(Action.CASE_CORRECTED, at, actor_id=applicant.pk, fields=[])
        elif isinstance(event, rt.CompleteTask):  # task_complete
            _decided(sim, event, result, at)
        _apply(sim, result, at, rng, slow, now)
    case.updated_at = max(e.at for e in sim.changes.audit)
    return sim


def _decided(sim: _Sim, event: rt.CompleteTask, result: rt.StepResult, at: datetime) -> None:
    """A reviewer's decision, recorded as task_complete records it."""
    task = sim.changes.created.get((sim.case.pk, event.task_id))
    if task is None or task.kind not in (*REVIEW_KINDS, TaskKind.ACCEPTANCE):
        return
    done = next(
        (e for e in result.effects if type(e) is rt.TaskCompleted and e.task_id == event.task_id),
        None,
    )
    if done is None or done.silent_consent:
        return
    actor = int(event.actor) if (event.actor or "").isdigit() else None
    opinion = event.opinion or ""
    sim.changes.decided[(sim.case.pk, event.task_id)] = Decision(
        done.outcome, opinion=opinion, decided_by_id=actor
    )
    sim.event(
        Action.TASK_COMPLETED,
        at,
        actor_id=actor,
        object_type="task",
        object_id=event.task_id,
        node=task.node_id,
        outcome=done.outcome,
        opinion=opinion,
        department=task.department_id,
    )


def _current(sim: _Sim, item):
    """The engine event of a queue item, or None when it no longer applies
    (the task was decided otherwise, the timer cancelled or rescheduled)."""
    state = sim.case.state
    if isinstance(item, tuple):
        _kind, timer_id, generation = item
        if timer_id not in state["timers"] or sim.timer_gen.get(timer_id) != generation:
            return None
        return rt.FireTimer(timer_id)
    if isinstance(item, rt.CompleteTask | rt.SubmitCorrection) and item.task_id not in state["tasks"]:
        return None
    return item


def _can_resume(sim: _Sim, result: rt.StepResult, at: datetime) -> bool:
    """Whether the paused timers can get due dates if this step resumes the
    clock (the services would fail the same way on a missing year)."""
    if not any(type(effect) is rt.ClockResumed for effect in result.effects):
        return True
    calendar = sim.service.calendar
    try:
        for timer in sim.timers.values():
            if timer.status == Timer.PAUSED:
                calendar.add_working_seconds(at, timer.remaining_seconds or 0)
    except CalendarYearMissing:
        return False
    return True


def _review_seconds(sim: _Sim, node, rng: random.Random, slow: float) -> int:
    if node.sla is not None:
        limit = node.sla.limit
        budget = round(limit.working_days * 8 * 3600)
    else:
        budget = rng.randint(5, 20) * 8 * 3600  # expert review and the like
    share = MEDIAN_SHARE[sim.service.template.code] * slow * math.exp(rng.gauss(0, SPREAD))
    return max(300, int(budget * share))


def _choose_outcome(node, task_round: int, rng: random.Random, code: str) -> str:
    offered = set(node.outcomes) if node.outcomes else {"approve"}
    roll = rng.random()
    if "return" in offered and task_round == 1 and roll < (0.06 if code == "business_setup" else 0.12):
        return "return"
    if "reject" in offered and rng.random() < REFUSALS.get((code, node.id), REFUSALS.get(code, 0.02)):
        return "reject"
    return "approve"


def _apply(sim: _Sim, result: rt.StepResult, now: datetime, rng: random.Random, slow: float, until) -> None:
    """Stage one engine step's rows through the bridge (as the services do),
    then plan what people and the sweep do next: decisions, answers to
    correction requests, timers falling due, service calls."""
    changes = sim.changes
    changes.now = now
    stage(sim.case, sim.service.definition, result, changes)
    for timer in changes.new_timers[sim.seen_timers :]:
        sim.timers[timer.engine_id] = timer
    sim.seen_timers = len(changes.new_timers)
    for effect in result.effects:
        if type(effect) is rt.TaskCreated:
            _plan(sim, effect, now, rng, slow)
    _reschedule(sim, rng)
    for effect in result.effects:
        if type(effect) is rt.ServiceCall:
            _run_service(sim, effect, now, rng, slow, until)


def _plan(sim: _Sim, effect: rt.TaskCreated, now: datetime, rng: random.Random, slow: float) -> None:
    """When and how the people a new task waits on will answer it."""
    service = sim.service
    calendar, code = service.calendar, service.template.code
    node = service.definition.nodes[effect.node]
    if effect.kind in (TaskKind.REVIEW, TaskKind.SIGNATURE):
        outcome = _choose_outcome(node, effect.round, rng, code)
        seconds = _review_seconds(sim, node, rng, slow)
        try:
            at = calendar.add_working_seconds(now, seconds)
        except CalendarYearMissing:
            return  # beyond the loaded calendar: the case stays open here
        reviewers = service.reviewers.get(effect.department) or [None]
        signed = sim.signers.setdefault((effect.node, effect.round), set())
        if effect.kind == TaskKind.SIGNATURE:
            # a countersign's signers are different people (distinct_people)
            reviewers = [r for r in reviewers if r not in signed] or [None]
        reviewer = rng.choice(reviewers)
        if effect.kind == TaskKind.SIGNATURE and reviewer is not None:
            signed.add(reviewer)
        sim.push(
            at,
            rt.CompleteTask(
                effect.task_id,
                outcome,
                actor=str(reviewer) if reviewer is not None else None,
                opinion=rng.choice(OPINIONS[outcome]),
            ),
        )
    elif effect.kind == TaskKind.ACCEPTANCE:
        # 受理: the window accepts within the hour or two
        with suppress(CalendarYearMissing):
            at = calendar.add_working_seconds(now, rng.randint(600, 7200))
            reviewers = service.reviewers.get(effect.department) or [None]
            sim.push(at, rt.CompleteTask(effect.task_id, "accept", actor=str(rng.choice(reviewers))))
    elif effect.kind == TaskKind.CORRECTION and rng.random() < 0.85:
        # Most applicants answer within days; the others let the deadline pass.
        answer = int(8 * 3600 * rng.uniform(0.3, 4.5))
        with suppress(CalendarYearMissing):
            at = calendar.add_working_seconds(now, answer)
            sim.push(at, rt.SubmitCorrection(effect.task_id, {}))


def _reschedule(sim: _Sim, rng: random.Random) -> None:
    """Put each pending timer on the queue for its due date (the beat sweep
    runs every few seconds); a timer paused, cancelled, fired or moved
    leaves a stale entry behind, which its generation turns away."""
    for timer_id, timer in sim.timers.items():
        due = timer.due_at if timer.status == Timer.PENDING else None
        if sim.scheduled.get(timer_id) == due:
            continue
        generation = sim.timer_gen[timer_id] = sim.timer_gen.get(timer_id, 0) + 1
        if due is None:
            sim.scheduled.pop(timer_id, None)
            continue
        sim.scheduled[timer_id] = due
        sim.push_timer(due + timedelta(seconds=rng.uniform(0.5, 6)), timer_id, generation)


def _run_service(sim: _Sim, call: rt.ServiceCall, now: datetime, rng, slow, until) -> None:
    state = sim.state
    if call.task_id not in state.get("tasks", {}):
        return
    scripted = SCRIPTED.get(call.handler)
    if scripted is not None:
        output = scripted(rng)
    else:
        context = HandlerContext(case_id=sim.case.pk, data=sim.case.data, today=timezone.localdate(now))
        output = HANDLERS[call.handler](context)
    sim.event(
        Action.SERVICE_TASK_COMPLETED,
        now,
        object_type="task",
        object_id=call.task_id,
        node=call.node,
        handler=call.handler,
        result=output,
    )
    result = step(sim.service.definition, state, rt.ServiceDone(call.task_id, output), now)
    _apply(sim, result, now, rng, slow, until)


# -- writing -------------------------------------------------------------------------------


@contextmanager
def _historical_timestamps():
    """Let bulk_create keep the cases' own created_at/updated_at (auto_now
    fields would stamp the present moment)."""
    fields = [Case._meta.get_field("created_at"), Case._meta.get_field("updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _insert(model, rows: list) -> None:
    """Insert new rows. On PostgreSQL with COPY (several times faster than
    INSERT for hundreds of thousands of rows), each value prepared by its
    field as save() would; elsewhere with bulk_create."""
    if not rows:
        return
    if rows[0].pk is None:
        for row, pk in zip(rows, _reserve_ids(model, len(rows)), strict=True):
            row.pk = pk
    if connection.vendor != "postgresql":
        with _historical_timestamps():
            model.objects.bulk_create(rows, batch_size=500)
        return
    copy_rows(rows)


def _write(sims: list[_Sim], result: SeedResult) -> None:
    """Write the batch's bulk change sets: cases, tasks, timers and audit
    events as the bridge staged them (outbox messages and domain events are
    dropped: their deliveries would be long done), and the insight facts."""
    breaches = []
    for sim in sims:
        # Read while each timer still holds its unsaved task object.
        breaches.append(
            {
                timer.task.engine_id: (timer.due_at, timer.remaining_seconds)
                for timer in sim.changes.new_timers
                if timer.kind == "sla_breach" and timer.task_id is None and timer.task is not None
            }
        )
    tasks = [task for sim in sims for task in sim.changes.new_tasks]
    for task, pk in zip(tasks, _reserve_ids(Task, len(tasks)), strict=True):
        task.pk = task.id = pk
    timers = [timer for sim in sims for timer in sim.changes.new_timers]
    for timer in timers:
        if timer.task_id is None and timer.task is not None:
            timer.task_id = timer.task.pk
    _insert(Case, [sim.case for sim in sims])
    _insert(Task, tasks)
    _insert(Timer, timers)
    events = sorted((e for sim in sims for e in sim.changes.audit), key=lambda e: e.at)
    chain = audit_write(events)
    case_facts, task_facts = [], []
    for sim, breach in zip(sims, breaches, strict=True):
        service = sim.service
        ended = next((e for e in sim.changes.events if type(e) is CaseEnded), None)
        case_facts.append(
            case_fact(
                service.calendar,
                service.definition,
                sim.case,
                paused_since=ended.paused_since if ended is not None else None,
                seeded=True,
            )
        )
        for task in sim.changes.new_tasks:
            if (
                task.status != TaskStatus.COMPLETED
                or task.kind not in REVIEW_KINDS
                or task.department_id is None
            ):
                continue
            fact = _task_fact(
                service.calendar,
                service.definition,
                service.template.pk,
                _TaskRow(task.pk, sim.case.pk, task.node_id, task.department_id, task.created_at),
                completed_at=task.completed_at,
                outcome=task.outcome,
                silent_consent=task.silent_consent,
                escalated=task.escalated,
                breach=breach.get(task.engine_id),
            )
            if fact is not None:
                fact.seeded = True
                task_facts.append(fact)
        result.by_outcome[str(sim.case.status)] = result.by_outcome.get(str(sim.case.status), 0) + 1
        result.open_cases += sim.case.is_open
    _insert(CaseFact, case_facts)
    _insert(TaskFact, task_facts)
    if chain is not None:
        # these events' facts are written: the projector need not read them
        facts_mark_appended(chain, len(events), events[-1].at, now=timezone.now())
    result.cases += len(sims)
    result.tasks += len(tasks)
    result.timers += len(timers)
    result.audit_events += len(events)
