"""What the case services ask of this app while they hold the case lock:
may this person act for the task's holder (代理), and is the task still
waiting for an opinion it asked for (会商, 委派)? Reads only. Registered with
govflow.cases.hooks in the app's ready()."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from govflow.errors import Conflict

from .models import Consultation, Delegation, Proxy, RequestStatus

LOCAL_FORMAT = "%Y-%m-%d %H:%M"


def active_proxy_of(principal_id: int | None, *, now: datetime) -> Proxy | None:
    """The acting officer standing in for `principal_id` at `now`, if any."""
    if principal_id is None:
        return None
    return (
        Proxy.objects.filter(
            principal_id=principal_id, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        )
        .order_by("-starts_at", "-id")
        .first()
    )


def acts_for(actor, holder_id: int | None, *, now: datetime) -> bool:
    """Is `actor` the acting officer of the task's holder right now?"""
    proxy = active_proxy_of(holder_id, now=now)
    return proxy is not None and proxy.proxy_id == actor.pk


def waiting_probe() -> str:
    """SQL true for a task `t` with a delegation or a consultation open
    (whatever its limit): the case lock's read evaluates it, so a decision
    with nothing open (the common case) skips refuse_while_waiting's query."""
    quote = connection.ops.quote_name
    exists = "EXISTS (SELECT 1 FROM {table} r WHERE r.{task} = t.{id} AND r.{status} = '{open}')"
    return " OR ".join(
        exists.format(
            table=quote(model._meta.db_table),
            task=quote("task_id"),
            id=quote("id"),
            status=quote("status"),
            open=RequestStatus.OPEN.value,
        )
        for model in (Delegation, Consultation)
    )


def refuse_while_waiting(task, *, now: datetime) -> None:
    """A task cannot be decided while a delegation is open or a consulted
    department's opinion is still due (its limit not passed)."""
    # One round trip on the common path (nothing open).
    delegated, consulting = (
        type(task)
        .objects.filter(pk=task.pk)
        .annotate(
            delegated=Exists(Delegation.objects.filter(task_id=OuterRef("pk"), status=RequestStatus.OPEN)),
            consulting=Exists(
                Consultation.objects.filter(task_id=OuterRef("pk"), status=RequestStatus.OPEN, due_at__gt=now)
            ),
        )
        .values_list("delegated", "consulting")
        .get()
    )
    if delegated:
        raise Conflict(
            "this task is delegated to a colleague: wait for their opinion or take the delegation back",
            code="delegation_open",
        )
    if not consulting:
        return
    waiting = list(
        Consultation.objects.filter(task_id=task.pk, status=RequestStatus.OPEN, due_at__gt=now)
        .select_related("department")
        .order_by("due_at")
    )
    if waiting:
        names = "、".join(c.department.name_zh for c in waiting)
        until = timezone.localtime(waiting[-1].due_at).strftime(LOCAL_FORMAT)
        raise Conflict(
            f"the consulted departments have not all given their opinion ({names}); "
            f"decide once they have, or after {until}",
            code="consultation_open",
        )
