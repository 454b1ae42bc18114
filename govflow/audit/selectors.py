"""Reading the audit trail: the filtered events (who may read them:
govflow.accounts.permissions.is_auditor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import AuditEvent


@dataclass(frozen=True)
class TrailFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    case_reference: str = ""
    outcome: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.__dict__.items()
            if value not in (None, "")
        }


def audit_events(*, filters: TrailFilter) -> QuerySet[AuditEvent]:
    """Events matching every given filter, newest first."""
    events = AuditEvent.objects.select_related("actor", "on_behalf_of", "case").only(
        *[f.name for f in AuditEvent._meta.concrete_fields if not f.is_relation],
        "actor__username",
        "on_behalf_of__username",
        "case__reference",
    )
    if filters.since is not None:
        events = events.filter(at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(at__lte=filters.until)
    if filters.actor:
        actor_id = (
            get_user_model()
            .objects.filter(username__iexact=filters.actor)
            .values_list("pk", flat=True)
            .first()
        )
        events = events.filter(actor_id=actor_id) if actor_id is not None else events.none()
    if filters.action:
        events = events.filter(action=filters.action.upper())
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_id:
        events = events.filter(object_id=filters.object_id)
    if filters.case_reference:
        events = events.filter(case__reference=filters.case_reference.upper())
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    return events.order_by("-id")
