"""Consistency checks across cases, tasks, timers, the outbox, incidents and
the audit trail: the oracle every fault test ends with. Read-only."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.audit.models import AuditEvent
from govflow.audit.verification import audit_verify
from govflow.engine.problems import Message
from govflow.incidents.models import WORK_KINDS, IncidentKind
from govflow.incidents.services import incidents_unresolved
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import consumers
from govflow.timers.models import Timer

from . import hooks
from .limits import CASE_TIMER_KINDS
from .models import OPEN_CASE_STATUSES, Case, Task, TaskStatus

STALE_OUTBOX = timedelta(minutes=1)
OVERDUE_TIMER = timedelta(minutes=5)


def reconcile(*, now: datetime | None = None) -> list[str]:
    """One line per inconsistency, in English; each is a Message, so the
    reconcile command says it in the operator's language (engine_text)."""
    now = now or timezone.now()
    problems: list[str] = []
    live_tasks = Task.objects.filter(case=OuterRef("pk"), status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    # A case's own limits (govflow.cases.limits) do not move it on.
    live_timers = Timer.objects.filter(case=OuterRef("pk"), status__in=[Timer.PENDING, Timer.PAUSED]).exclude(
        kind__in=list(CASE_TIMER_KINDS)
    )
    stuck = (
        Case.objects.filter(status__in=OPEN_CASE_STATUSES)
        .annotate(has_task=Exists(live_tasks), has_timer=Exists(live_timers))
        .filter(has_task=False, has_timer=False)
        .values_list("reference", flat=True)
    )
    problems += [Message("case {case}: open but has no live task or timer", case=ref) for ref in stuck]

    for case in Case.objects.filter(status__in=OPEN_CASE_STATUSES).only("pk", "reference", "state"):
        engine_tasks = set((case.state or {}).get("tasks", {}))
        rows = set(
            Task.objects.filter(case=case, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).values_list(
                "engine_id", flat=True
            )
        )
        if engine_tasks != rows:
            problems.append(
                Message(
                    "case {case}: engine tasks {engine} but live task rows {rows}",
                    case=case.reference,
                    engine=sorted(engine_tasks),
                    rows=sorted(rows),
                )
            )

    # Rows given up are reported once, as their incident, below.
    stale = OutboxMessage.objects.filter(
        done_at__isnull=True, failed_at__isnull=True, created_at__lt=now - STALE_OUTBOX
    )
    for message in stale.filter(topic__in=list(consumers()))[:100]:
        problems.append(
            Message(
                "outbox {key}: not delivered after {attempts} attempt(s) ({error})",
                key=message.key,
                attempts=message.attempts,
                error=message.last_error[:120],
            )
            if message.last_error
            else Message(
                "outbox {key}: not delivered after {attempts} attempt(s)",
                key=message.key,
                attempts=message.attempts,
            )
        )
    for message in stale.exclude(topic__in=list(consumers()))[:100]:
        problems.append(
            Message("outbox {key}: no consumer handles topic '{topic}'", key=message.key, topic=message.topic)
        )

    audited = AuditEvent.objects.filter(
        case=OuterRef("case"),
        object_id=OuterRef("engine_id"),
        action__in=[
            Action.TASK_COMPLETED,
            Action.TASK_AUTO_DECIDED,
            Action.TASK_REPEAT_SIGNER_APPROVED,
            Action.SERVICE_TASK_COMPLETED,
            Action.CASE_CORRECTED,
        ],
    )
    unaudited = (
        Task.objects.filter(status=TaskStatus.COMPLETED)
        .exclude(kind="correction")
        .annotate(audited=Exists(audited))
        .filter(audited=False)
        .select_related("case")[:100]
    )
    problems += [
        Message(
            "task {task} of case {case}: completed without its audit event",
            task=t.engine_id,
            case=t.case.reference,
        )
        for t in unaudited
    ]

    undated = Timer.objects.filter(Q(status=Timer.PENDING, due_at__isnull=True)).select_related("case")
    for timer in undated[:100]:
        problems.append(
            Message(
                "timer {timer} of case {case}: no due date ({problem})",
                timer=timer.engine_id,
                case=timer.case.reference,
                problem=timer.problem,
            )
        )

    # Stuck work only: the daily run's own incident (kind reconcile) holds
    # these very lines and must not report itself.
    for incident in incidents_unresolved(kinds=WORK_KINDS)[:100]:
        key = incident.message.key if incident.message is not None else "(none)"
        where = (
            Message("case {case}", case=incident.case.reference)
            if incident.case is not None
            else Message("outbox {key}", key=key)
        )
        if incident.kind == IncidentKind.SERVICE_TASK:
            what = Message(
                "service task {task} ({node}, handler {handler})",
                task=incident.task_engine_id,
                node=incident.node_id,
                handler=incident.handler,
            )
        else:
            what = Message("'{topic}' message {key}", topic=incident.topic, key=key)
        problems.append(
            Message(
                "{where}: stuck on incident #{number} ({status}): {what} failed after "
                "{attempts} attempt(s): {error}",
                where=where,
                number=incident.pk,
                status=incident.status,
                what=what,
                attempts=incident.attempts,
                error=incident.error[:120],
            )
        )

    overdue = Timer.objects.filter(status=Timer.PENDING, due_at__lt=now - OVERDUE_TIMER)
    held = overdue.filter(provisional=True, legal_effect=True)
    for timer in held.select_related("case").order_by("due_at", "id")[:100]:
        year = timezone.localtime(timer.due_at).year
        problems.append(
            Message(
                "timer {timer} of case {case}: due at {due} by a provisional date; its legal effect waits "
                "for the {year} working-day calendar (load the State Council notice with load_calendar)",
                timer=timer.engine_id,
                case=timer.case.reference,
                due=timer.due_at.isoformat(),
                year=year,
            )
        )
    overdue = overdue.exclude(provisional=True, legal_effect=True).select_related("case")
    for timer in overdue.order_by("due_at", "id")[:100]:
        problems.append(
            Message(
                "timer {timer} of case {case}: due at {due} but not fired ({why})",
                timer=timer.engine_id,
                case=timer.case.reference,
                due=timer.due_at.isoformat(),
                why=timer.problem or Message("is beat running?"),
            )
        )

    # The apps above cases check their own rows (certificates: reserved, never issued).
    problems += hooks.reconcile_problems(now)

    broken = audit_verify()
    if broken is not None:
        problems.append(broken.describe())
    return problems
