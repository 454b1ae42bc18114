"""Turning what happened into CloudEvents and staging their deliveries.

Two producers feed `stage_events`: the case services, through the case
events `case_events` subscribes to (`govflow.cases.events`, in
WebhooksConfig.ready), and any other app through `govflow.webhooks.services.publish_event` (certificates).
Both run inside the producer's transaction, so a delivery exists exactly when
the change that caused it committed.

What an endpoint is told follows the web's rules: a department's endpoint
hears only of cases its department has (or had) a task on, and secret form
fields are left out (their ids listed under `withheld`) unless the endpoint
is cleared for secrets; a cleared department endpoint gets the secret fields
the template clears for that department, a cleared system endpoint all of
them. Every secret value sent is recorded in the audit trail.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit
from govflow.cache import cache_delete, cache_get, cache_set
from govflow.cases.events import (
    BundleItemEnded,
    CaseEnded,
    CaseLimitPassed,
    CaseSubmitted,
    DecisionTakenBack,
    SignerChanged,
    TaskCreated,
    TaskDecided,
    TaskExtended,
    TaskReturned,
    TaskTransferred,
)
from govflow.cases.models import LIVE_TASK_STATUSES, Task, TaskKind
from govflow.processes.services import version_definition

from .disclosure import form_for_endpoint
from .models import Delivery, Endpoint

# While an attempt is queued or under way (its outbox row in flight, its POST
# running) the redrive job leaves the delivery alone; longer than the HTTP
# timeout and the outbox's dispatch delay.
ATTEMPT_LEASE = timedelta(minutes=2)

TOPIC = "webhook"
SPECVERSION = "1.0"
TYPE_PREFIX = "cn.govflow."
SECRETS_SENT = Action.WEBHOOK_SECRET_FIELDS_SENT
# What the case subscriber hears of (WebhooksConfig.ready).
CASE_EVENTS = (
    CaseSubmitted,
    TaskDecided,
    TaskCreated,
    CaseEnded,
    TaskReturned,
    DecisionTakenBack,
    TaskTransferred,
    SignerChanged,
    TaskExtended,
    CaseLimitPassed,
    BundleItemEnded,
)
# The operations that move a case (issue 19): event type -> its webhook kind
# and the block it carries.
FLOW_EVENTS = {
    TaskReturned: lambda e: (
        "task.returned",
        {
            "task": e.task.engine_id,
            "node": e.task.node_id,
            "target": e.target,
            "opinion": e.opinion,
            "cleared": list(e.cleared),
            "come_back": e.come_back,
        },
    ),
    DecisionTakenBack: lambda e: (
        "decision.taken_back",
        {"task": e.task.engine_id, "node": e.task.node_id, "again": e.again},
    ),
    TaskTransferred: lambda e: (
        "task.transferred",
        {"task": e.task.engine_id, "node": e.task.node_id, "reason": e.reason},
    ),
    SignerChanged: lambda e: (
        "task.signer_added" if e.added else "task.signer_removed",
        {"task": e.task.engine_id, "node": e.task.node_id, "position": e.position},
    ),
    TaskExtended: lambda e: (
        "task.extended",
        {
            "task": e.task.engine_id,
            "node": e.task.node_id,
            "days": e.days,
            "hours": e.hours,
            "due_before": e.due_before.isoformat() if e.due_before else None,
            "due_after": e.due_after.isoformat() if e.due_after else None,
            "reason": e.reason,
        },
    ),
    # A case passed its promise or statutory limit (govflow.cases.limits).
    CaseLimitPassed: lambda e: (
        "case.limit_passed",
        {"limit": e.limit, "due_at": e.due_at.isoformat() if e.due_at else None},
    ),
}

Emit = Callable[..., None]


@dataclass
class Event:
    kind: str
    subject: str
    data: dict[str, Any]
    time: datetime
    case_id: int | None = None
    # The case, when the payload should carry its form data (case events).
    case: Any = None
    # Departments concerned besides those with a task on the case (a task
    # created in this very transaction, a certificate's issuing department).
    departments: frozenset[int] = frozenset()
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def source() -> str:
    return str(getattr(settings, "GOVFLOW_WEBHOOK_SOURCE", "urn:govflow"))


def give_up_after() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "GOVFLOW_WEBHOOK_GIVE_UP_SECONDS", 24 * 3600)))


def cloudevent(event: Event, data: Mapping[str, Any]) -> str:
    """The structured-mode CloudEvents 1.0 JSON body."""
    body = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": source(),
        "type": TYPE_PREFIX + event.kind,
        "subject": event.subject,
        "time": event.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


# -- staging -------------------------------------------------------------------


ACTIVE_KINDS_KEY = "govflow:webhooks:active-kinds"
ACTIVE_KINDS_TTL = 30  # seconds; saves and deletes of endpoints clear it at once


def active_kinds() -> frozenset[str]:
    """The event kinds some active endpoint wants, from the cache. Every case
    change asks this; without the cache it was a query per decision, and
    most deployments have few endpoints that change rarely. Registering or
    changing an endpoint clears the entry (signals in apps.py); with a cache
    that is not shared between processes (the embedded default) a worker may
    go on using the old set for up to ACTIVE_KINDS_TTL seconds. While the
    cache is down the set is read from the database (govflow.cache)."""
    kinds = cache_get(ACTIVE_KINDS_KEY, use="webhooks.active_kinds")
    if kinds is None:
        kinds = frozenset(
            kind
            for endpoint_kinds in Endpoint.objects.filter(is_active=True).values_list("kinds", flat=True)
            for kind in (endpoint_kinds or ())
        )
        cache_set(ACTIVE_KINDS_KEY, kinds, ACTIVE_KINDS_TTL, use="webhooks.active_kinds")
    return kinds


def forget_active_kinds(**_kwargs) -> None:
    # With the cache down the entry cannot be removed; it expires within
    # ACTIVE_KINDS_TTL (a cache that restarted empty holds none anyway).
    cache_delete(ACTIVE_KINDS_KEY, use="webhooks.active_kinds")


def subscribed_endpoints(kinds: Iterable[str]) -> list[Endpoint]:
    wanted = set(kinds) & active_kinds()
    if not wanted:
        return []
    endpoints = Endpoint.objects.filter(is_active=True).select_related("department").order_by("pk")
    return [endpoint for endpoint in endpoints if wanted & set(endpoint.kinds or ())]


def stage_events(
    events: list[Event],
    *,
    now: datetime,
    emit: Emit,
    pending_departments: Mapping[int, set[int]] | None = None,
    endpoints: list[Endpoint] | None = None,
) -> list[PendingAudit]:
    """Create a Delivery for each (event, endpoint that should hear of it)
    and an outbox row that makes a worker attempt it after commit. Returns
    the audit events for secret fields sent (the caller writes them with its
    own). `pending_departments` adds departments of tasks not yet inserted.
    The retry schedule runs on the wall clock, whatever time the change
    carries (a sweep that ran late, a test's fixed clock)."""
    if endpoints is None:
        endpoints = subscribed_endpoints(event.kind for event in events)
    if not endpoints:
        return []
    involved: dict[int, set[int]] = {}
    if any(endpoint.department_id for endpoint in endpoints):
        involved = _departments_on_cases({e.case_id for e in events if e.case_id is not None})
        for case_id, departments in (pending_departments or {}).items():
            involved.setdefault(case_id, set()).update(departments)
    deliveries: list[Delivery] = []
    audits: list[PendingAudit] = []
    queued_at = timezone.now()
    give_up_at = queued_at + give_up_after()
    for event in events:
        for endpoint in endpoints:
            if event.kind not in endpoint.kinds:
                continue
            if endpoint.department_id is not None:
                concerned = involved.get(event.case_id, set()) if event.case_id is not None else set()
                if endpoint.department_id not in concerned | event.departments:
                    continue
            data = dict(event.data)
            revealed: list[str] = []
            if event.case is not None:
                form, withheld, revealed = form_for_endpoint(event.case, endpoint)
                data["form"], data["withheld"] = form, withheld
                if revealed:
                    audits.append(
                        PendingAudit(
                            action=SECRETS_SENT,
                            at=now,
                            object_type="webhook_endpoint",
                            object_id=str(endpoint.pk),
                            case_id=event.case_id,
                            data={"fields": revealed, "event": event.id, "kind": event.kind},
                        )
                    )
            deliveries.append(
                Delivery(
                    endpoint=endpoint,
                    event_id=event.id,
                    kind=event.kind,
                    subject=event.subject[:200],
                    case_id=event.case_id,
                    body=cloudevent(event, data),
                    carries_secrets=bool(revealed),
                    created_at=queued_at,
                    # The outbox row below makes the first attempt; the
                    # redrive job steps in only if it has not within the lease.
                    next_attempt_at=queued_at + ATTEMPT_LEASE,
                    give_up_at=give_up_at,
                )
            )
    for delivery in Delivery.objects.bulk_create(deliveries):
        emit(TOPIC, f"webhook:{delivery.pk}:1", delivery=delivery.pk, attempt=1)
    return audits


def _departments_on_cases(case_ids: set[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    if not case_ids:
        return found
    rows = (
        Task.objects.filter(case_id__in=case_ids, department__isnull=False)
        .values_list("case_id", "department_id")
        .distinct()
    )
    for case_id, department_id in rows:
        found.setdefault(case_id, set()).add(department_id)
    return found


# -- case events from the bridge -----------------------------------------------


def case_events(changes, events: list[CaseSubmitted | TaskDecided | TaskCreated | CaseEnded]) -> None:
    """Subscriber to CASE_EVENTS: stage the webhook events of a change set
    (called inside the case's transaction, before the rows are written)."""
    raw, pending = _raw_events(events)
    if not raw:
        return
    # One query on the (small) endpoint table; none when nothing happened
    # that anyone could subscribe to.
    endpoints = subscribed_endpoints({kind for kind, _case, _extra in raw})
    if not endpoints:
        return
    audits = stage_events(
        _events(raw, changes.now),
        now=changes.now,
        emit=changes.emit,
        pending_departments=pending,
        endpoints=endpoints,
    )
    changes.audit.extend(audits)


def _raw_events(events) -> tuple[list[tuple[str, Any, dict[str, Any]]], dict[int, set[int]]]:
    """(kind, case, data) of each webhook event, in a sensible order
    (submission and decisions, tasks opened, the case's end), and the
    departments of the tasks being created, by case."""
    first: list[tuple[str, Any, dict[str, Any]]] = []
    created: list[tuple[str, Any, dict[str, Any]]] = []
    last: list[tuple[str, Any, dict[str, Any]]] = []
    pending_departments: dict[int, set[int]] = {}
    for event in events:
        kind = type(event)
        if kind is CaseSubmitted:
            first.append(("case.submitted", event.case, {}))
        elif kind is TaskDecided:
            first.append(("decision.made", event.case, {"decision": _decision_block(event)}))
        elif kind in FLOW_EVENTS:
            name, block = FLOW_EVENTS[kind](event)
            first.append((name, event.case, {"operation": block}))
            for department in _flow_departments(event):
                pending_departments.setdefault(event.case.pk, set()).add(department)
        elif kind is BundleItemEnded:
            # 一件事: an item ended while the others may run on
            first.append(("case.item_ended", event.case, {"item": _item_block(event)}))
        elif kind is TaskCreated:
            task = event.task
            if task.department_id is not None:
                pending_departments.setdefault(task.case_id, set()).add(task.department_id)
            if task.kind in (TaskKind.REVIEW, TaskKind.SIGNATURE) and task.status in LIVE_TASK_STATUSES:
                created.append(("task.created", event.case, {"task": _task_block(task)}))
        elif event.previous != "draft":  # CaseEnded; a withdrawn draft was never announced
            last.append((f"case.{event.outcome}", event.case, {}))
    return first + created + last, pending_departments


def _flow_departments(event) -> set[int]:
    """The departments an operation concerns (a transfer's receiver, an
    added signer's), told even before they have a task row on the case."""
    if isinstance(event, TaskTransferred):
        return {event.to_department_id}
    if isinstance(event, SignerChanged):
        return {event.department_id}
    return set()


def _decision_block(event: TaskDecided) -> dict[str, Any]:
    # The department of a decision by silent consent is looked up later
    # (_fill_auto_decided_departments), for all of them at once.
    block = {
        "task": event.task_id,
        "node": event.node,
        "department": None if event.silent_consent else event.department_id,
        "outcome": event.outcome,
        "opinion": event.opinion or "",
        "silent_consent": event.silent_consent,
    }
    if event.silent_consent:
        block["legal_basis"] = event.legal_basis or ""
    return block


def _item_block(event: BundleItemEnded) -> dict[str, Any]:
    """The item as the template names it: its process, title and department
    (a code), how it ended and at which end (None when it never ran)."""
    definition = version_definition(event.case.version)
    bundle = definition.nodes.get(event.bundle)
    spec = next((i for i in (bundle.items if bundle else ()) if i.id == event.item), None)
    process = definition.processes.get(event.item)
    return {
        "bundle": event.bundle,
        "item": event.item,
        "title": dict(process.title) if process is not None and process.title else None,
        "department": spec.department if spec is not None else None,
        "status": event.status,
        "end": event.end,
    }


def _task_block(task) -> dict[str, Any]:
    return {
        "id": task.engine_id,
        "node": task.node_id,
        "kind": str(task.kind),
        "department": task.department_id,
        "round": task.round,
        "due_at": task.due_at,
        "due_provisional": task.due_provisional,
    }


def _events(raw: list[tuple[str, Any, dict[str, Any]]], now: datetime) -> list[Event]:
    auto_decided = [
        (case, extra["decision"]["task"])
        for _kind, case, extra in raw
        if "decision" in extra and extra["decision"]["silent_consent"]
    ]
    if auto_decided:
        _fill_auto_decided_departments(raw, auto_decided)
    codes = _department_codes(raw)
    events = []
    for kind, case, extra in raw:
        data = {"case": case_block(case), "service": service_block(case), **extra}
        departments: frozenset[int] = frozenset()
        for key in ("task", "decision"):
            if key in extra:
                department_id = extra[key]["department"]
                extra[key]["department"] = codes.get(department_id)
                if key == "task" and department_id is not None:
                    departments = frozenset({department_id})
        events.append(
            Event(
                kind=kind,
                subject=case.reference,
                data=data,
                time=now,
                case_id=case.pk,
                case=case,
                departments=departments,
            )
        )
    return events


def _fill_auto_decided_departments(raw, auto_decided) -> None:
    rows = Task.objects.filter(
        case_id__in={case.pk for case, _task in auto_decided},
        engine_id__in={task for _case, task in auto_decided},
    ).values_list("case_id", "engine_id", "department_id")
    found = {(case_id, engine_id): department_id for case_id, engine_id, department_id in rows}
    for _kind, case, extra in raw:
        decision = extra.get("decision")
        if decision is not None and decision["silent_consent"]:
            decision["department"] = found.get((case.pk, decision["task"]))


def _department_codes(raw) -> dict[int, str]:
    ids = {
        extra[key]["department"]
        for _kind, _case, extra in raw
        for key in ("task", "decision")
        if key in extra and extra[key]["department"] is not None
    }
    if not ids:
        return {}
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "code"))


def case_block(case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference,
        "title": case.title,
        "status": str(case.status),
        "submitted_at": case.submitted_at,
        "completed_at": case.completed_at,
    }


def service_block(case) -> dict[str, Any]:
    definition = version_definition(case.version)
    return {"code": definition.id, "version": case.version.number, "title": dict(definition.title)}
