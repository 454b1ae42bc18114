"""延期 (行政许可法 art 42): asking for and answering an extension of a
task's time limit. The only writer of ExtensionRequest rows.

The reviewer holding the task asks, with a reason; the heads of the task's
department see the request in their inbox (待我回复) and approve or refuse
it. An approval moves the deadline and tells the applicant in writing
(govflow.cases.operations.extension.task_extend); a refusal tells the
requester why. Each service locks the task's case first, as every service
that touches the case does.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from govflow.accounts.models import Membership
from govflow.audit.actions import Action
from govflow.cases import rows
from govflow.cases.operations.extension import extension_check, task_extend
from govflow.errors import Conflict, Forbidden, NotFound
from govflow.letters.extension import extension_letter

from .common import audit, lock_task, notify, now_or, require_holder, text
from .models import ExtensionRequest, ExtensionStatus


@transaction.atomic
def extension_request(*, task_id: int, actor, reason: str, now: datetime | None = None) -> ExtensionRequest:
    """The reviewer holding the task asks its department's head to extend
    its time limit. Conflict when the template does not allow it, it was
    extended as often as allowed, the limit has passed, or a request is
    already waiting."""
    now = now_or(now)
    case, task, _head = lock_task(task_id, actor)
    acting_for = require_holder(task, actor, now=now)
    reason = text(reason, "reason", required=True, message="give the reason for the extension")
    rule = extension_check(case=case, task=task, now=now)
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(
                case=case,
                task=task,
                requested_by=actor,
                reason=reason,
                created_at=now,
                due_before=task.due_at,
            )
    except IntegrityError:
        raise Conflict(
            "an extension of this task is already waiting for the head", code="extension_pending"
        ) from None
    audit(
        Action.TASK_EXTENSION_REQUESTED,
        actor,
        now,
        case_id=case.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        extension=request.pk,
        reason=reason,
        acting_for=acting_for,
        **rule.limit.as_dict(),
    )
    notify("extension_requested", f"extension:{request.pk}:requested", now, extension=request.pk)
    return request


def _lock_request(extension_id: int, actor) -> tuple[ExtensionRequest, bool]:
    """Lock the request's case; (request, whether the actor heads the task's
    department). Who is not a member of that department is told nothing."""
    case_id = ExtensionRequest.objects.filter(pk=extension_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound("extension request not found")
    rows.lock_case(case_id)
    request = ExtensionRequest.objects.select_related("task__department", "case__version").get(
        pk=extension_id
    )
    member = Membership.objects.filter(user=actor, department_id=request.task.department_id).first()
    if member is None and request.requested_by_id != actor.pk:
        raise NotFound("extension request not found")
    return request, bool(member is not None and member.is_head)


def _answerable(request: ExtensionRequest, actor, is_head: bool) -> None:
    if not is_head:
        raise Forbidden("only the head of the task's department can approve or refuse an extension")
    if request.case.applicant_id == actor.pk:
        raise Forbidden("a reviewer cannot act on a case they applied for")
    if not request.is_pending:
        raise Conflict("this extension request has been answered", code="extension_closed")


@transaction.atomic
def extension_approve(
    *, extension_id: int, actor, note: str = "", now: datetime | None = None
) -> ExtensionRequest:
    """The head approves: the task's deadline moves by its step's extension
    and the applicant gets the letter (延长审批期限告知书)."""
    now = now_or(now)
    request, is_head = _lock_request(extension_id, actor)
    _answerable(request, actor, is_head)
    note = text(note, "answer", required=False)
    moved = task_extend(
        case=request.case,
        task=request.task,
        actor=actor,
        reason=request.reason,
        now=now,
        inform=extension_letter,
        requested_by_id=request.requested_by_id,
    )
    request.status, request.decided_by, request.decided_at = ExtensionStatus.APPROVED, actor, now
    request.answer, request.due_before, request.due_after = note, moved.due_before, moved.due_after
    request.letter = moved.letter
    request.save(
        update_fields=["status", "decided_by", "decided_at", "answer", "due_before", "due_after", "letter"]
    )
    notify("extension_answered", f"extension:{request.pk}:answered", now, extension=request.pk)
    return request


@transaction.atomic
def extension_withdraw(*, extension_id: int, actor, now: datetime | None = None) -> ExtensionRequest:
    """The requester (or the task's holder) withdraws a request the head has not answered."""
    now = now_or(now)
    request, _is_head = _lock_request(extension_id, actor)
    if actor.pk not in (request.requested_by_id, request.task.assignee_id):
        raise Forbidden("only the reviewer who asked, or the task's holder, can withdraw it")
    if not request.is_pending:
        raise Conflict("this extension request has been answered", code="extension_closed")
    request.status, request.decided_at = ExtensionStatus.WITHDRAWN, now
    request.save(update_fields=["status", "decided_at"])
    audit(
        Action.TASK_EXTENSION_WITHDRAWN,
        actor,
        now,
        case_id=request.case_id,
        object_type="task",
        object_id=request.task.engine_id,
        node=request.task.node_id,
        extension=request.pk,
    )
    return request


@transaction.atomic
def extension_refuse(*, extension_id: int, actor, note: str, now: datetime | None = None) -> ExtensionRequest:
    """The head refuses, saying why; the requester is told. The deadline stays."""
    now = now_or(now)
    request, is_head = _lock_request(extension_id, actor)
    _answerable(request, actor, is_head)
    note = text(note, "answer", required=True, message="say why the extension is refused")
    request.status, request.decided_by, request.decided_at = ExtensionStatus.REFUSED, actor, now
    request.answer = note
    request.save(update_fields=["status", "decided_by", "decided_at", "answer"])
    audit(
        Action.TASK_EXTENSION_REFUSED,
        actor,
        now,
        case_id=request.case_id,
        object_type="task",
        object_id=request.task.engine_id,
        node=request.task.node_id,
        extension=request.pk,
        answer=note,
    )
    notify("extension_answered", f"extension:{request.pk}:answered", now, extension=request.pk)
    return request
