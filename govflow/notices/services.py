"""Filing an objection (异议) during a public notice (公示).

Anyone may object without logging in (the public page limits each address,
see govflow.web.views.notices). The objection is stored, the case's engine
receives an `Objection` event (the notice stops and the objection review
starts, with the objection's text shown to the reviewer), the applicant is
told in the app and by e-mail, and the audit trail records the filing
without the objector's personal data.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.cases import rows
from govflow.cases.bridge import Changes, advance
from govflow.cases.models import Case
from govflow.engine import IllegalEvent, NoBranchMatched
from govflow.engine import runtime as rt
from govflow.engine.forms import FieldError
from govflow.engine.text import forbidden_character, refusal_message
from govflow.errors import Conflict, FormInvalid, NotFound
from govflow.security.crypto import _decode_key, _derive

from .models import Objection
from .selectors import notice_nodes

MAX_NAME = 100
MAX_CONTACT = 200
MIN_REASONS = 10
MAX_REASONS = 4000


def client_hash(address: str | None) -> str:
    """A keyed hash of the client's address: repeated filings from one
    address can be seen without storing the address."""
    text = getattr(settings, "GOVFLOW_DATA_HMAC_KEY", "") or ""
    if not text or not address:
        return ""
    key = _derive(_decode_key(text, "GOVFLOW_DATA_HMAC_KEY"), b"objection client v1", 32)
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _message(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _clean(name: str, contact: str, reasons: str, language: str) -> tuple[str, str, str]:
    errors: list[FieldError] = []
    name, contact, reasons = (name or "").strip(), (contact or "").strip(), (reasons or "").strip()
    for field, value, multiline in (
        ("name", name, False),
        ("contact", contact, False),
        ("reasons", reasons, True),
    ):
        char = forbidden_character(value, multiline=multiline)
        if char is not None:
            errors.append(FieldError(field, "control_chars", refusal_message(char)))
    if not name:
        errors.append(FieldError("name", "required", _message("请填写姓名或单位名称。", "Give your name.")))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "too_long", _message("姓名过长。", "The name is too long.")))
    if not contact:
        errors.append(
            FieldError("contact", "required", _message("请填写联系方式。", "Give a way to contact you."))
        )
    elif len(contact) > MAX_CONTACT:
        errors.append(
            FieldError("contact", "too_long", _message("联系方式过长。", "The contact is too long."))
        )
    if len(reasons) < MIN_REASONS:
        errors.append(
            FieldError(
                "reasons",
                "too_short",
                _message(
                    f"请写明异议的事实和理由（至少 {MIN_REASONS} 个字）。",
                    f"State the facts and reasons of the objection (at least {MIN_REASONS} characters).",
                ),
            )
        )
    elif len(reasons) > MAX_REASONS:
        errors.append(
            FieldError("reasons", "too_long", _message("异议理由过长。", "The reasons are too long."))
        )
    if errors:
        raise FormInvalid(tuple(errors), language=language)
    return name, contact, reasons


@transaction.atomic
def objection_file(
    *,
    reference: str,
    name: str,
    contact: str,
    reasons: str,
    client_address: str | None = None,
    now: datetime | None = None,
    language: str = "zh",
) -> Objection:
    """File an objection to the case `reference`, which must be in a public
    notice now (NotFound for a case that is not: the public page lists only
    cases in notice, so no other case is hinted at)."""
    now = now or timezone.now()
    name, contact, reasons = _clean(name, contact, reasons, language)
    case_id = Case.objects.filter(reference=reference).values_list("pk", flat=True).first()
    case = rows.lock_case(case_id) if case_id is not None else None
    if case is None or not case.is_open:
        raise NotFound("no public notice for this case")
    nodes = notice_nodes(case)
    if not nodes:
        raise NotFound("no public notice for this case")
    node_id = nodes[0]
    objection = Objection.objects.create(
        case=case,
        node_id=node_id,
        name=name,
        contact=contact,
        reasons=reasons,
        filed_at=now,
        client_hash=client_hash(client_address),
    )
    changes = Changes(now=now)
    changes.event(Action.OBJECTION_FILED, case, object_type="objection", object_id=objection.pk, node=node_id)
    try:
        result = advance(case, rt.Objection(node_id), changes)
    except IllegalEvent as exc:
        raise Conflict(exc.message) from exc
    except NoBranchMatched as exc:
        raise Conflict(f"the case cannot be routed: {exc.message}") from exc
    review = next((e for e in result.effects if isinstance(e, rt.TaskCreated)), None)
    if review is not None:
        # the applicant hears of it (the review's department hears of its new task)
        changes.emit(
            "notify",
            f"{case.pk}:{review.task_id}:objection",
            kind="objection_filed",
            case=case.pk,
            task=review.task_id,
        )
    changes.flush()
    return objection
