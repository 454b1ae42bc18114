"""Messages from other systems: a `signal` node waits for one (the fee is
paid, the seal is filed) and `case_signal` delivers it.

Idempotent: a message carrying a `message_id` that the case has already
received is answered as a duplicate and changes nothing, and the REST API
honours an Idempotency-Key besides. A message the case is not waiting for
(and never received) is a Conflict; nothing is written then."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from govflow.accounts.permissions import may_send_signals
from govflow.audit.actions import Action
from govflow.audit.models import AuditEvent
from govflow.engine import IllegalEvent, NoBranchMatched
from govflow.engine import runtime as rt
from govflow.engine.kinds.signal import SIGNAL_RE
from govflow.errors import Conflict, InvalidInput, NotFound

from . import rows
from .bridge import Changes, advance
from .models import Case
from .services import _check_draft_data

MAX_MESSAGE_ID = 128


@dataclass(frozen=True)
class SignalReceipt:
    case: Case
    name: str
    duplicate: bool  # the message was received before: nothing changed
    nodes: tuple[str, ...]  # the nodes it moved on from


def _received_before(case_id: int, name: str, message_id: str) -> bool:
    return AuditEvent.objects.filter(
        case_id=case_id, action=Action.CASE_SIGNAL_RECEIVED, object_id=name, data__message_id=message_id
    ).exists()


@transaction.atomic
def case_signal(
    *,
    reference: str,
    actor,
    name: str,
    data: Mapping[str, Any] | None = None,
    message_id: str = "",
    now: datetime | None = None,
) -> SignalReceipt:
    now = now or timezone.now()
    if not may_send_signals(actor):
        # As for every object an actor may not touch: no hint the case exists.
        raise NotFound("case not found")
    if not SIGNAL_RE.match(name or ""):
        raise InvalidInput("a message name is a lower-case identifier", fields={"name": ["invalid"]})
    message_id = (message_id or "").strip()
    if len(message_id) > MAX_MESSAGE_ID or any(not (" " < c <= "~") for c in message_id):
        raise InvalidInput(
            "the message id must be at most 128 visible ASCII characters", fields={"message_id": ["invalid"]}
        )
    payload = _check_draft_data(data or {})
    case_id = Case.objects.filter(reference=reference).values_list("pk", flat=True).first()
    case = rows.lock_case(case_id) if case_id is not None else None
    if case is None:
        raise NotFound("case not found")
    if message_id and _received_before(case.pk, name, message_id):
        return SignalReceipt(case, name, True, ())
    if not case.is_open:
        raise Conflict(f"this case is not waiting for the message '{name}' (it is {case.status})")
    changes = Changes(now=now)
    changes.event(
        Action.CASE_SIGNAL_RECEIVED,
        case,
        actor_id=actor.pk,
        object_type="signal",
        object_id=name,
        message_id=message_id,
        keys=sorted(payload)[:50],
    )
    try:
        result = advance(case, rt.Signal(name, payload), changes, actor_id=actor.pk)
    except IllegalEvent as exc:
        raise Conflict(exc.message) from exc
    except NoBranchMatched as exc:
        raise InvalidInput(f"the case cannot be routed: {exc.message}", code="no_branch_matched") from exc
    moved = tuple(dict.fromkeys(e.node for e in result.effects if isinstance(e, rt.NodeEntered)))
    changes.flush()
    return SignalReceipt(case, name, False, moved)
