"""Structured correction notices (一次性告知 / 补正通知).

A reviewer who sends a case back to the applicant (an acceptance's
`notice`, a user task's `return` leading to a correction node) may list
exactly what must be corrected; the acceptance's notice must. Each item
names a form field (`kind: field`) or a material, an attachment slot of
the form (`kind: material`), with the reason:

    [{"kind": "field", "id": "company_name", "reason": "名称含有禁用字词"},
     {"kind": "material", "id": "address_proof", "reason": "租赁合同未盖章"}]

The list travels with the decision to the correction task the same step
creates (`task["notice"]` in the state, `TaskCreated.notice`); the services
let the applicant change only what it lists. A correction node may cap how
often reviewers send the case to it (`max_rounds`): `check_rounds` refuses
one more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .definition import Node
from .problems import IllegalEvent, Message

if TYPE_CHECKING:
    from .runtime import _Machine as Machine

NOTICE_KINDS = ("field", "material")
MAX_ITEMS = 100
MAX_REASON = 500


def normalise_notice(definition: Any, items: Any) -> list[dict[str, str]]:
    """The notice as stored: a list of {"kind", "id", "reason"}; IllegalEvent
    (code `notice_invalid`) naming the first problem."""
    if not isinstance(items, list | tuple) or not items:
        raise IllegalEvent(Message("a correction notice lists at least one item"), code="notice_invalid")
    if len(items) > MAX_ITEMS:
        raise IllegalEvent(
            Message("a correction notice lists at most {count} items", count=MAX_ITEMS), code="notice_invalid"
        )
    fields = {spec.id for spec in definition.form.fields}
    slots = {spec.id for spec in definition.form.attachments}
    seen: set[tuple[str, str]] = set()
    notice: list[dict[str, str]] = []
    for index, item in enumerate(items):
        where = Message("item {number} of the correction notice", number=index + 1)
        if not isinstance(item, Mapping):
            raise IllegalEvent(Message("{where} is not an object", where=where), code="notice_invalid")
        kind, item_id, reason = item.get("kind"), item.get("id"), item.get("reason")
        if kind not in NOTICE_KINDS:
            raise IllegalEvent(
                Message("{where}: 'kind' must be 'field' or 'material'", where=where), code="notice_invalid"
            )
        known = fields if kind == "field" else slots
        if not isinstance(item_id, str) or item_id not in known:
            raise IllegalEvent(
                Message("{where}: '{item}' is no form field of this service", where=where, item=item_id)
                if kind == "field"
                else Message(
                    "{where}: '{item}' is no material (attachment slot) of this service",
                    where=where,
                    item=item_id,
                ),
                code="notice_invalid",
            )
        if not isinstance(reason, str) or not reason.strip():
            raise IllegalEvent(Message("{where}: give the reason", where=where), code="notice_invalid")
        if len(reason) > MAX_REASON:
            raise IllegalEvent(
                Message("{where}: the reason has at most {count} characters", where=where, count=MAX_REASON),
                code="notice_invalid",
            )
        if (kind, item_id) in seen:
            raise IllegalEvent(
                Message("{where}: field '{item}' is listed twice", where=where, item=item_id)
                if kind == "field"
                else Message("{where}: material '{item}' is listed twice", where=where, item=item_id),
                code="notice_invalid",
            )
        seen.add((kind, item_id))
        notice.append({"kind": str(kind), "id": item_id, "reason": reason.strip()})
    return notice


def pending_notice(
    machine: Machine, node: Node, items: Any, *, required: bool
) -> list[dict[str, str]] | None:
    """Check a decision's notice and hold it for the correction task this
    step creates; None when there is none (and none is required)."""
    if not items:
        if required:
            raise IllegalEvent(
                Message("a correction notice (一次性告知) lists what must be corrected"),
                code="notice_invalid",
            )
        return None
    notice = normalise_notice(machine.definition, items)
    machine.notice = notice
    return notice


def check_rounds(machine: Machine, node: Node, target: str) -> None:
    """Refuse sending the case to a correction node whose `max_rounds` is used up."""
    other = machine.nodes.get(target)
    if other is None or other.type != "correction":
        return
    cap = other.settings.get("max_rounds")
    if cap is not None and machine.state["rounds"].get(target, 0) >= cap:
        raise IllegalEvent(
            Message(
                "the case has been sent for correction at '{node}' {count} time(s), "
                "as many as the process allows; decide on the materials as they are",
                node=target,
                count=cap,
            ),
            code="correction_rounds_exhausted",
        )


def take_notice(machine: Machine) -> list[dict[str, str]] | None:
    """The notice held for the correction task being created (taken once)."""
    notice = machine.notice
    machine.notice = None
    return notice


def notice_scope(notices: list[Any]) -> tuple[frozenset[str], frozenset[str]] | None:
    """What the applicant may change while these correction tasks are open:
    (fields, materials) listed by their notices together, or None when one
    of them gave no list (a return without a notice, an automated check's
    correction: the whole form, as before)."""
    if not notices or any(not notice for notice in notices):
        return None
    fields = frozenset(item["id"] for notice in notices for item in notice if item["kind"] == "field")
    materials = frozenset(item["id"] for notice in notices for item in notice if item["kind"] == "material")
    return fields, materials


def changed_fields(before: Mapping[str, Any], updates: Mapping[str, Any]) -> set[str]:
    """The fields whose value `updates` changes."""
    return {key for key, value in updates.items() if before.get(key) != value}


def outside_notice(notices: list[Any], before: Mapping[str, Any], updates: Mapping[str, Any]) -> list[str]:
    """The fields `updates` would change although no open notice lists them
    (sorted); empty when every change is listed, or when a notice lists
    nothing (the whole form is open)."""
    scope = notice_scope(notices)
    if scope is None:
        return []
    return sorted(changed_fields(before, updates) - scope[0])
