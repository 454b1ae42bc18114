"""Opening, retrying and resolving incidents.

`incident_open` and `incidents_resolve_for_message` are called by the outbox
(govflow.outbox.services, through govflow.outbox.hooks, registered in
IncidentsConfig.ready) under the outbox row's lock; `incident_retry` is
what an admin's "retry" calls; `incident_reconcile_record` is what the daily
consistency check (govflow.incidents.tasks) calls with what it found.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from govflow.accounts.permissions import is_admin
from govflow.audit.services import PendingAudit, audit_write
from govflow.errors import Conflict, Forbidden, NotFound
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from . import hooks
from .models import UNRESOLVED_STATUSES, WORK_KINDS, Incident, IncidentKind, IncidentStatus

# What a reconcile incident keeps: the latest run's lines, each cut to this.
RECONCILE_MAX_PROBLEMS = 500
RECONCILE_MAX_LINE = 500


def _audit(action: str, incident: Incident, now: datetime, *, actor_id: int | None = None, **data) -> None:
    if incident.message_id is not None:
        data = {"message": incident.message.key, "topic": incident.topic, **data}
    else:
        data = {"kind": incident.kind, **data}
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor_id,
                object_type="incident",
                object_id=str(incident.pk),
                case_id=incident.case_id,
                data=data,
            )
        ]
    )


def incident_open(*, message: OutboxMessage, error: str, now: datetime | None = None) -> Incident:
    """Open (or re-open, after a retry that failed again) the incident of a
    row that was given up. Caller holds the outbox row lock."""
    now = now or timezone.now()
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .filter(message=message, status__in=UNRESOLVED_STATUSES)
        .select_related("message")
        .first()
    )
    if incident is None:
        kind = IncidentKind.SERVICE_TASK if message.topic == "service_task" else IncidentKind.DELIVERY
        incident = Incident.objects.create(
            kind=kind,
            message=message,
            topic=message.topic,
            attempts=message.attempts,
            error=error,
            opened_at=now,
            last_failed_at=now,
            **hooks.describe(message),
        )
    else:
        incident.status = IncidentStatus.OPEN
        incident.attempts += message.attempts
        incident.error = error
        incident.last_failed_at = now
        incident.save(update_fields=["status", "attempts", "error", "last_failed_at"])
    _audit(
        "INCIDENT_OPENED",
        incident,
        now,
        attempts=message.attempts,
        error=error[:500],
        task=incident.task_engine_id,
        handler=incident.handler,
    )
    return incident


def incidents_resolve_for_message(*, message_id: int, now: datetime | None = None) -> int:
    """The row was delivered after all: close its incident. Caller is inside
    the transaction that marks the row done."""
    now = now or timezone.now()
    incidents = list(
        Incident.objects.select_for_update(of=("self",))
        .filter(message_id=message_id, status__in=UNRESOLVED_STATUSES)
        .select_related("message")
    )
    for incident in incidents:
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = now
        incident.save(update_fields=["status", "resolved_at"])
        _audit("INCIDENT_RESOLVED", incident, now)
    return len(incidents)


@transaction.atomic
def incident_retry(*, incident_id: int, actor, now: datetime | None = None) -> Incident:
    """Give the row a fresh budget of attempts and send it to a worker again
    (never run here: a handler that kills its process must not take the web
    server with it). The incident stays `retrying` until the delivery
    succeeds (resolved) or fails on every attempt again (open)."""
    now = now or timezone.now()
    if not is_admin(actor):
        raise Forbidden("only an administrator can retry an incident")
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .filter(pk=incident_id)
        .select_related("message")
        .first()
    )
    if incident is None:
        raise NotFound("incident not found")
    if incident.status == IncidentStatus.RESOLVED:
        raise Conflict("this incident is resolved; there is nothing to retry")
    if incident.message_id is None:
        raise Conflict(
            "this incident is the daily consistency check's findings; fix what it lists "
            "and it is resolved by the next check that finds nothing"
        )
    if incident.status == IncidentStatus.RETRYING:
        raise Conflict("this incident is already being retried")
    message = OutboxMessage.objects.select_for_update().get(pk=incident.message_id)
    if message.done_at is not None:  # delivered meanwhile (e.g. by hand)
        incident.status, incident.resolved_at = IncidentStatus.RESOLVED, now
        incident.save(update_fields=["status", "resolved_at"])
        _audit("INCIDENT_RESOLVED", incident, now, actor_id=actor.pk)
        return incident
    message.attempts = 0
    message.failed_at = None
    message.next_attempt_at = None
    message.save(update_fields=["attempts", "failed_at", "next_attempt_at"])
    incident.status = IncidentStatus.RETRYING
    incident.retry_count += 1
    incident.retried_at = now
    incident.retried_by = actor
    incident.save(update_fields=["status", "retry_count", "retried_at", "retried_by"])
    _audit("INCIDENT_RETRIED", incident, now, actor_id=actor.pk, retry=incident.retry_count)
    dispatch_on_commit([message.pk])
    return incident


def _problems_text(problems: list[str]) -> str:
    lines = [line[:RECONCILE_MAX_LINE] for line in problems[:RECONCILE_MAX_PROBLEMS]]
    if len(problems) > RECONCILE_MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - RECONCILE_MAX_PROBLEMS} more (run manage.py reconcile)")
    return "\n".join(lines)


def _reconcile_summary(problems: list[str]) -> str:
    return f"{len(problems)} problem(s); the first: {problems[0][:RECONCILE_MAX_LINE]}"


def _reconcile_unresolved() -> Incident | None:
    return (
        Incident.objects.select_for_update(of=("self",))
        .filter(kind=IncidentKind.RECONCILE, status__in=UNRESOLVED_STATUSES)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def incident_reconcile_record(*, problems: list[str], now: datetime | None = None) -> Incident | None:
    """Turn one run of the consistency check into the reconcile incident an
    administrator sees: problems open it (or update the one unresolved,
    `attempts` counting the runs that found problems since it opened); no
    problems resolve it. Returns the incident touched, or None when there
    was nothing to open or resolve. `problems` must not include reconcile
    incidents themselves (incidents_unresolved leaves them out)."""
    now = now or timezone.now()
    incident = _reconcile_unresolved()
    if not problems:
        if incident is None:
            return None
        incident.status, incident.resolved_at = IncidentStatus.RESOLVED, now
        incident.save(update_fields=["status", "resolved_at"])
        _audit("INCIDENT_RESOLVED", incident, now)
        return incident
    text, summary = _problems_text(problems), _reconcile_summary(problems)
    if incident is None:
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    kind=IncidentKind.RECONCILE,
                    message=None,
                    attempts=1,
                    error=summary,
                    problems=text,
                    opened_at=now,
                    last_failed_at=now,
                )
        except IntegrityError:  # another run opened it meanwhile: update that one
            incident = _reconcile_unresolved()
            if incident is None:
                raise
        else:
            _audit("INCIDENT_OPENED", incident, now, problems=len(problems))
            return incident
    changed = incident.problems != text
    incident.status = IncidentStatus.OPEN
    incident.attempts += 1
    incident.error, incident.problems, incident.last_failed_at = summary, text, now
    incident.save(update_fields=["status", "attempts", "error", "problems", "last_failed_at"])
    if changed:
        _audit("INCIDENT_UPDATED", incident, now, problems=len(problems))
    return incident


def incidents_unresolved(*, case=None, kinds=WORK_KINDS) -> QuerySet[Incident]:
    """Open and retrying incidents, oldest first (for admins and reconcile).
    By default only work that got stuck (service tasks, deliveries): the
    reconcile incident is reconcile's own report, and listing it in the next
    run would make it report itself; pass `kinds=None` for every kind."""
    incidents = Incident.objects.filter(status__in=UNRESOLVED_STATUSES).select_related("case", "message")
    if kinds is not None:
        incidents = incidents.filter(kind__in=list(kinds))
    if case is not None:
        incidents = incidents.filter(case=case)
    return incidents.order_by("opened_at", "id")


def incident_integrity_record(
    *, topic: str, error: str, case_id: int | None = None, now: datetime | None = None
) -> Incident:
    """A stored file's read was refused (govflow.storage.open_verified): open
    the object's integrity incident, or count one more refusal on the
    unresolved one. The caller is inside a transaction."""
    now = now or timezone.now()
    unresolved = Incident.objects.filter(
        kind=IncidentKind.INTEGRITY, topic=topic, status__in=UNRESOLVED_STATUSES
    ).select_for_update()
    incident = unresolved.first()
    if incident is None:
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    kind=IncidentKind.INTEGRITY,
                    message=None,
                    case_id=case_id,
                    topic=topic,
                    attempts=1,
                    error=error,
                    opened_at=now,
                    last_failed_at=now,
                )
        except IntegrityError:  # another refusal opened it meanwhile: count on that one
            incident = unresolved.first()
            if incident is None:
                raise
        else:
            _audit("INCIDENT_OPENED", incident, now, topic=topic)
            return incident
    incident.attempts += 1
    incident.error, incident.last_failed_at = error, now
    incident.save(update_fields=["attempts", "error", "last_failed_at"])
    return incident
