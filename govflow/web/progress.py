"""A case's progress in plain language (办理进度), for the applicant's case
page and the public lookup.

Every step the case has passed and every step still to come, with its
departments and a date: the real date of what is done, the deadline of what
is open, and for the rest the expected date of a dry run of the template
laid on the real working-day calendar (govflow.engine.simulate) from the
submission, with the case's own data and the results of its automatic
checks so far. Steps to come move later by as many working days as the case
is behind that plan. Only public facts: no form data, no names, no opinions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from govflow.accounts.models import Department
from govflow.cases.models import Case, CaseStatus, Task, TaskKind, TaskStatus
from govflow.engine import runtime as rt
from govflow.engine.definition import Definition
from govflow.engine.problems import EngineError
from govflow.engine.simulate import Script, simulate
from govflow.processes.services import version_definition
from govflow.timers.calendar import CalendarYearMissing, WorkingCalendar
from govflow.timers.services import calendar_get

log = logging.getLogger(__name__)

# The kinds of node the applicant sees as a step (gateways, joins, calls
# and starts are how the template is drawn, not steps).
STEP_NODE_TYPES = (
    "user_task",
    "service_task",
    "correction",
    "wait",
    "signal",
    "publicity",
    "applicant_task",
    "fee",
)

STATE_LABELS = {
    "submitted": _("submitted"),
    "done": _("done"),
    "passed": _("passed"),
    "deemed_passed": _("deemed passed on timeout"),
    "not_passed": _("not passed"),
    "returned": _("returned for correction"),
    "sent_back": _("sent back to an earlier step"),
    "taken_back": _("decision taken back by the reviewer"),
    "corrected": _("corrected"),
    "not_corrected": _("not corrected in time"),
    "in_progress": _("in progress"),
    "with_applicant": _("waiting for the applicant's correction"),
    "applicant_step": _("waiting for the applicant"),
    "no_longer_needed": _("no longer needed"),
    "upcoming": _("to come"),
    "approved": _("approved"),
    "rejected": _("not approved"),
    "withdrawn": _("withdrawn"),
    "finishing": _("to be finished"),
}

KIND_LABELS = {
    "submission": _("application"),
    "acceptance": _("acceptance"),
    "review": _("department review"),
    "signature": _("countersignature"),
    "automatic": _("automatic check"),
    "correction": _("correction by the applicant"),
    "applicant": _("step by the applicant"),
    "waiting": _("waiting period"),
    "end": _("result"),
}


@dataclass(frozen=True)
class ProgressStep:
    node_id: str
    title: str
    kind: str  # a key of KIND_LABELS
    departments: tuple[str, ...]
    state: str  # a key of STATE_LABELS
    on: date | None = None
    expected: bool = False  # `on` is a forecast (预计) or a deadline, not a fact
    provisional: bool = False  # counted over a calendar year not loaded yet
    round: int = 1

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def is_done(self) -> bool:
        return not self.expected and self.state not in (
            "in_progress",
            "with_applicant",
            "applicant_step",
            "upcoming",
        )


@dataclass(frozen=True)
class CaseProgress:
    reference: str
    service_title: str
    status: str
    submitted_on: date | None
    finished_on: date | None
    expected_end: date | None
    time_limit_days: float | None
    steps: list[ProgressStep] = field(default_factory=list)
    departments: tuple[str, ...] = ()  # every department the case passes, in order

    @property
    def is_open(self) -> bool:
        return self.status in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CORRECTION)

    @property
    def status_label(self) -> str:
        return str(CaseStatus(self.status).label)


@dataclass(frozen=True)
class _Planned:
    node_id: str
    on: date
    provisional: bool


def case_progress(*, case: Case, language: str, now: datetime) -> CaseProgress:
    """The progress of `case` as the applicant and the public lookup show
    it. The caller has checked that the reader may see the case."""
    lang = "en" if language.startswith("en") else "zh"
    definition = version_definition(case.version)
    calendar = calendar_get(definition.calendar)
    zone = ZoneInfo(calendar.tz)
    today = now.astimezone(zone).date()
    tasks = list(Task.objects.filter(case=case).order_by("created_at", "id"))
    names = _department_names(definition, tasks, lang)

    def local(moment: datetime | None) -> date | None:
        return moment.astimezone(zone).date() if moment else None

    steps: list[ProgressStep] = []
    if case.submitted_at:
        steps.append(
            ProgressStep(
                "",
                str(_("Application submitted")),
                "submission",
                (),
                "submitted",
                local(case.submitted_at),
            )
        )
    rounds: dict[str, int] = {}
    for task in tasks:
        if task.kind == TaskKind.SIGNATURE:
            number = task.round
        else:
            number = rounds[task.node_id] = rounds.get(task.node_id, 0) + 1
        steps.append(_task_step(definition, task, names, lang, local, number))

    plan, end = _plan(case, definition, calendar) if case.submitted_at else ([], None)
    expected_end = None
    if case.is_open:
        lag = _lag(plan, tasks, calendar, local)
        upcoming = _upcoming(case, definition, plan, tasks)
        for planned in upcoming:
            node = definition.nodes[planned.node_id]
            on = _shifted(calendar, planned.on, lag, today)
            steps.append(
                ProgressStep(
                    node.id,
                    node.label(lang),
                    _node_kind(node),
                    _node_departments(node, names),
                    "upcoming",
                    on,
                    expected=True,
                    provisional=planned.provisional,
                )
            )
        live_dues = [s.on for s in steps if s.expected and s.on]
        candidates = [*live_dues]
        if end is not None:
            candidates.append(_shifted(calendar, end.on, lag, today))
        expected_end = max(candidates) if candidates else None
        steps.append(
            ProgressStep(
                "",
                str(_("Result")),
                "end",
                (),
                "finishing",
                expected_end,
                expected=True,
                provisional=bool(end and end.provisional),
            )
        )
    elif case.status in (CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN):
        steps.append(
            ProgressStep("", str(_("Result")), "end", (), str(case.status), local(case.completed_at))
        )

    order: dict[str, None] = {}
    for step in steps:
        for name in step.departments:
            order.setdefault(name, None)
    return CaseProgress(
        reference=case.reference,
        service_title=case.template.title(lang),
        status=str(case.status),
        submitted_on=local(case.submitted_at),
        finished_on=local(case.completed_at),
        expected_end=expected_end,
        time_limit_days=definition.time_limit.working_days if definition.time_limit else None,
        steps=steps,
        departments=tuple(order),
    )


def _department_names(definition: Definition, tasks: list[Task], lang: str) -> dict[str, str]:
    codes = {task.department_id for task in tasks if task.department_id}
    codes_by_node: set[str] = set()
    for node in definition.nodes.values():
        if node.department:
            codes_by_node.add(node.department)
        if node.countersign is not None:
            codes_by_node.update(node.countersign.signers)
    departments = Department.objects.filter(pk__in=codes) | Department.objects.filter(code__in=codes_by_node)
    names: dict[str, str] = {}
    for department in departments:
        names[department.code] = department.name(lang)
        names[f"pk:{department.pk}"] = department.name(lang)
    return names


def _node_kind(node) -> str:
    if node.type == "user_task":
        return "signature" if node.countersign is not None else "review"
    return {
        "service_task": "automatic",
        "correction": "correction",
        "applicant_task": "applicant",
        "acceptance": "acceptance",
    }.get(node.type, "waiting")


def _node_departments(node, names: dict[str, str]) -> tuple[str, ...]:
    codes = node.countersign.signers if node.countersign is not None else (node.department,)
    return tuple(dict.fromkeys(names.get(code, code) for code in codes if code))


def _task_step(definition, task: Task, names, lang, local, number: int) -> ProgressStep:
    node = definition.nodes.get(task.node_id)
    title = node.label(lang) if node is not None else task.node_id
    department = names.get(f"pk:{task.department_id}", "") if task.department_id else ""
    kind = {
        TaskKind.REVIEW: "review",
        TaskKind.SIGNATURE: "signature",
        TaskKind.CORRECTION: "correction",
        TaskKind.SERVICE: "automatic",
        TaskKind.APPLICANT: "applicant",
        TaskKind.ACCEPTANCE: "acceptance",
    }[TaskKind(task.kind)]
    departments = (department,) if department else ()
    if task.is_live:
        state = {TaskKind.CORRECTION: "with_applicant", TaskKind.APPLICANT: "applicant_step"}.get(
            TaskKind(task.kind), "in_progress"
        )
        return ProgressStep(
            task.node_id,
            title,
            kind,
            departments,
            state,
            local(task.due_at),
            expected=task.due_at is not None,
            provisional=task.due_provisional,
            round=number,
        )
    if task.status == TaskStatus.CANCELLED:
        state = "no_longer_needed"
    elif task.status == TaskStatus.EXPIRED:
        state = "not_corrected" if task.kind == TaskKind.CORRECTION else "no_longer_needed"
    elif task.kind == TaskKind.CORRECTION:
        state = "corrected"
    elif task.kind in (TaskKind.SERVICE, TaskKind.APPLICANT):
        state = "done"
    elif task.outcome in ("return", "notice"):  # a return, or the acceptance's 一次性告知
        state = "returned"
    elif task.outcome in ("returned", "taken_back"):  # 退回 to an earlier step, 撤回
        state = "sent_back" if task.outcome == "returned" else "taken_back"
    elif task.outcome in ("reject", "refuse"):  # refuse: 不予受理
        state = "not_passed"
    elif task.silent_consent:
        state = "deemed_passed"
    else:
        state = "passed"
    return ProgressStep(task.node_id, title, kind, departments, state, local(task.completed_at), round=number)


def _plan(
    case: Case, definition: Definition, calendar: WorkingCalendar
) -> tuple[list[_Planned], _Planned | None]:
    """The steps of a dry run from the submission, each with its expected
    date, and the expected end; empty when the run cannot be made (the case
    then shows what has happened only)."""
    state = case.state or {}
    script = Script(data=dict(case.data or {}), results=dict(state.get("results") or {}))
    try:
        run = simulate(definition, script, start=case.submitted_at, calendar=calendar)
    except (EngineError, ValueError, CalendarYearMissing) as exc:
        log.info("no progress plan for case %s: %s", case.reference, exc)
        return [], None
    if run.dates is None:  # pragma: no cover - a start was given
        return [], None
    decided: dict[str, tuple[date, bool]] = {}
    for decision, (on, provisional) in zip(run.decisions, run.dates.decisions, strict=True):
        previous = decided.get(decision["node"])
        if previous is None or on > previous[0]:
            decided[decision["node"]] = (on, provisional)
    running = (run.dates.start, False)
    plan: list[_Planned] = []
    seen: set[str] = set()
    for node_id in run.trace:
        node = definition.nodes[node_id]
        if node_id in decided:
            running = max(running, decided[node_id])
        if node.type not in STEP_NODE_TYPES or node_id in seen:
            continue
        seen.add(node_id)
        on, provisional = decided.get(node_id, running)
        plan.append(_Planned(node_id, on, provisional))
    end = _Planned("", run.dates.end_date, bool(run.dates.provisional_years))
    return plan, end


def _upcoming(case: Case, definition: Definition, plan: list[_Planned], tasks: list[Task]) -> list[_Planned]:
    """The planned steps the case has yet to reach: those after the first
    step it is at now, with no task so far."""
    with_tasks = {task.node_id for task in tasks}
    active = set(rt.active_nodes(case.state)) if case.state else set()
    active |= {task.node_id for task in tasks if task.is_live}
    positions = {planned.node_id: index for index, planned in enumerate(plan)}
    at = [positions[node] for node in active if node in positions]
    if at:
        anchor = min(at)
    else:
        reached = [positions[node] for node in with_tasks if node in positions]
        anchor = max(reached) if reached else -1
    return [
        planned
        for index, planned in enumerate(plan)
        if index > anchor and planned.node_id not in with_tasks and planned.node_id not in active
    ]


def _lag(plan: list[_Planned], tasks: list[Task], calendar: WorkingCalendar, local) -> int:
    """Working days the case is behind its plan: how much later than
    planned its open steps fall due."""
    planned = {p.node_id: p.on for p in plan}
    lag = 0
    for task in tasks:
        if task.is_live and task.due_at and task.node_id in planned:
            try:
                lag = max(lag, calendar.working_days_between(planned[task.node_id], local(task.due_at)))
            except CalendarYearMissing:
                continue
    return lag


def _shifted(calendar: WorkingCalendar, on: date, lag: int, today: date) -> date:
    try:
        moved = calendar.add_working_days(on, lag) if lag > 0 else on
    except CalendarYearMissing:
        moved = on
    return max(moved, today)
