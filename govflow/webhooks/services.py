"""Webhook use cases: publishing an event, and the admin's endpoint work.

`publish_event` is for other apps (certificates) inside their own
transaction; case events reach the same staging through the bridge's flush
listener (events.case_events). Endpoint changes and retries are admin-only
and written to the audit trail; a secret never goes into the trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.accounts.permissions import is_admin
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import Case
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .delivery import ATTEMPT_LEASE, has_credentials, is_web_url, new_secret, queue_attempt
from .events import Event, stage_events
from .models import KIND_CODES, Delivery, DeliveryStatus, Endpoint
from .targets import url_problem

MAX_URL = 500
# After a rotation the old secret still signs (a second v1) for this long.
ROTATION_GRACE = timedelta(hours=24)


def publish_event(kind: str, *, case_id: int | None, subject: str, data: dict) -> None:
    """Stage a delivery of a `kind` event for every active endpoint that
    subscribes to it (and, for a department's endpoint, is concerned: its
    department has or had a task on the case, or `data["department"]` names
    it). Call inside the transaction that makes the event true: the
    deliveries commit or roll back with it and go out after commit.
    `data` must hold JSON values (dates and decimals are turned into text)
    and no secret form fields."""
    if kind not in KIND_CODES:
        raise ValueError(f"unknown webhook event kind '{kind}'")
    now = timezone.now()
    payload: dict[str, Any] = dict(data)
    departments: frozenset[int] = frozenset()
    department_code = payload.get("department")
    if isinstance(department_code, str):
        departments = frozenset(Department.objects.filter(code=department_code).values_list("pk", flat=True))
    if case_id is not None and "case" not in payload:
        case = Case.objects.filter(pk=case_id).only("pk", "reference").first()
        if case is not None:
            payload["case"] = {"id": case.pk, "reference": case.reference}
    rows: list[OutboxMessage] = []

    def emit(topic: str, key: str, **message: Any) -> None:
        rows.append(OutboxMessage(key=key, topic=topic, payload=message, created_at=now))

    event = Event(
        kind=kind, subject=subject, data=payload, time=now, case_id=case_id, departments=departments
    )
    with transaction.atomic():
        audits = stage_events([event], now=now, emit=emit)
        if rows:
            created = OutboxMessage.objects.bulk_create(rows)
            dispatch_on_commit([m.pk for m in created if m.pk is not None])
        audit_write(audits)


# -- endpoints -----------------------------------------------------------------


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise Forbidden("only process admins can manage webhooks")


def _audit(action: str, endpoint: Endpoint, actor, now: datetime, **data: Any) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk,
                object_type="webhook_endpoint",
                object_id=str(endpoint.pk),
                data={"name": endpoint.name, **data},
            )
        ]
    )


def _clean(
    *, name: str, url: str, department_code: str, system: str, kinds: Iterable[str]
) -> tuple[dict[str, Any], Department | None]:
    """Check an endpoint's fields; InvalidInput names every bad one."""
    problems: dict[str, list[str]] = {}
    name = (name or "").strip()
    url = (url or "").strip()
    system = (system or "").strip()
    department_code = (department_code or "").strip()
    if not name:
        problems["name"] = ["required"]
    elif len(name) > 100:
        problems["name"] = ["at most 100 characters"]
    if not url:
        problems["url"] = ["required"]
    elif len(url) > MAX_URL:
        problems["url"] = [f"at most {MAX_URL} characters"]
    elif not is_web_url(url):
        problems["url"] = ["not an http or https URL"]
    elif any(ch.isspace() or ord(ch) < 32 for ch in url):
        problems["url"] = ["must not contain spaces or control characters"]
    elif has_credentials(url):
        problems["url"] = ["must not carry a user name or password"]
    elif (inside := url_problem(url)) is not None:
        problems["url"] = [inside]
    department = None
    if department_code:
        department = Department.objects.filter(code=department_code, is_active=True).first()
        if department is None:
            problems["department"] = ["unknown department"]
    if len(system) > 100:
        problems["system"] = ["at most 100 characters"]
    if not department_code and not system:
        problems["system"] = ["name the department or the system that owns the endpoint"]
    if department_code and system:
        problems["system"] = ["an endpoint belongs to a department or to a system, not both"]
    chosen = []
    for kind in kinds or ():
        if kind not in KIND_CODES:
            problems["kinds"] = [f"unknown event kind '{str(kind)[:40]}'"]
            break
        if kind not in chosen:
            chosen.append(kind)
    else:
        if not chosen:
            problems["kinds"] = ["choose at least one event kind"]
    if problems:
        raise InvalidInput("the webhook endpoint has errors", fields=problems)
    ordered = [kind for kind in KIND_CODES if kind in chosen]
    return {"name": name, "url": url, "system": system, "kinds": ordered}, department


@transaction.atomic
def endpoint_register(
    *,
    actor,
    name: str,
    url: str,
    kinds: Iterable[str],
    department_code: str = "",
    system: str = "",
    cleared_for_secrets: bool = False,
    now: datetime | None = None,
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown to the
    admin now and never again)."""
    _require_admin(actor)
    now = now or timezone.now()
    fields, department = _clean(
        name=name, url=url, department_code=department_code, system=system, kinds=kinds
    )
    endpoint = Endpoint.objects.create(
        **fields,
        department=department,
        secret=new_secret(),
        cleared_for_secrets=bool(cleared_for_secrets),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _audit(
        "WEBHOOK_ENDPOINT_REGISTERED",
        endpoint,
        actor,
        now,
        url=endpoint.url,
        owner=endpoint.owner,
        kinds=endpoint.kinds,
        cleared_for_secrets=endpoint.cleared_for_secrets,
    )
    return endpoint, endpoint.secret


def _lock_endpoint(endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    actor,
    endpoint_id: int,
    name: str,
    url: str,
    kinds: Iterable[str],
    department_code: str = "",
    system: str = "",
    cleared_for_secrets: bool = False,
    now: datetime | None = None,
) -> Endpoint:
    _require_admin(actor)
    now = now or timezone.now()
    endpoint = _lock_endpoint(endpoint_id)
    fields, department = _clean(
        name=name, url=url, department_code=department_code, system=system, kinds=kinds
    )
    fields["department_id"] = department.pk if department else None
    fields["cleared_for_secrets"] = bool(cleared_for_secrets)
    changed = {
        key: {"from": getattr(endpoint, key), "to": value}
        for key, value in fields.items()
        if getattr(endpoint, key) != value
    }
    if not changed:
        return endpoint
    for key, value in fields.items():
        setattr(endpoint, key, value)
    endpoint.updated_at = now
    endpoint.save(update_fields=[*fields, "updated_at"])
    _audit("WEBHOOK_ENDPOINT_CHANGED", endpoint, actor, now, changed=changed)
    return endpoint


@transaction.atomic
def endpoint_set_active(*, actor, endpoint_id: int, active: bool, now: datetime | None = None) -> Endpoint:
    """Deactivate (no new deliveries; pending ones fail at their next
    attempt) or reactivate an endpoint."""
    _require_admin(actor)
    now = now or timezone.now()
    endpoint = _lock_endpoint(endpoint_id)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.updated_at = now
    endpoint.save(update_fields=["is_active", "updated_at"])
    _audit("WEBHOOK_ENDPOINT_ACTIVATED" if active else "WEBHOOK_ENDPOINT_DEACTIVATED", endpoint, actor, now)
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor, endpoint_id: int, now: datetime | None = None) -> tuple[Endpoint, str]:
    """A new secret (returned, shown once). For ROTATION_GRACE the old one
    signs too, as a second v1 signature, while the receiver switches."""
    _require_admin(actor)
    now = now or timezone.now()
    endpoint = _lock_endpoint(endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_GRACE
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    endpoint.save(update_fields=["previous_secret", "previous_secret_until", "secret", "updated_at"])
    _audit(
        "WEBHOOK_SECRET_ROTATED",
        endpoint,
        actor,
        now,
        old_secret_valid_until=endpoint.previous_secret_until.isoformat(),
    )
    return endpoint, endpoint.secret


@transaction.atomic
def delivery_retry(*, actor, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Attempt a pending or failed delivery now (on a worker, through the
    outbox). A failed delivery gets this one attempt: if it fails again it
    is failed again."""
    _require_admin(actor)
    now = now or timezone.now()
    delivery = Delivery.objects.select_for_update().select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("webhook delivery not found")
    if delivery.status == DeliveryStatus.DELIVERED:
        raise Conflict("this delivery has already been delivered")
    if not delivery.endpoint.is_active:
        raise Conflict("the endpoint is deactivated; reactivate it before retrying")
    previous = delivery.status
    if delivery.status == DeliveryStatus.FAILED:
        delivery.status = DeliveryStatus.PENDING
        delivery.give_up_at = now
    delivery.next_attempt_at = now + ATTEMPT_LEASE
    delivery.save(update_fields=["status", "give_up_at", "next_attempt_at"])
    queue_attempt(delivery, now)
    audit_write(
        [
            PendingAudit(
                action="WEBHOOK_DELIVERY_RETRIED",
                at=now,
                actor_id=actor.pk,
                object_type="webhook_delivery",
                object_id=str(delivery.pk),
                case_id=delivery.case_id,
                data={"endpoint": delivery.endpoint_id, "event": str(delivery.event_id), "status": previous},
            )
        ]
    )
    return delivery
