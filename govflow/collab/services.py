"""委派 and 会商: the only writers of delegations and consultations.

Each service locks the task's case first (the lock `task_complete` takes),
so an opinion arriving and the decision are serialised: a task is never
decided past an open delegation or a consultation still within its limit
(`guards.refuse_while_waiting`, called by `task_complete`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from govflow.accounts.models import Department, Membership
from govflow.audit.actions import Action
from govflow.cases import rows
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.processes.services import version_definition
from govflow.timers.deadlines import deadline
from govflow.timers.services import calendar_get

from .common import audit, lock_task, notify, now_or, require_holder, text, webhook
from .models import Consultation, Delegation, RequestStatus

MAX_CONSULTED = 10
MAX_CONSULT_DAYS = 30
DEFAULT_CONSULT_DAYS = 3


# -- 委派 delegation ------------------------------------------------------------


@transaction.atomic
def delegation_request(
    *, task_id: int, actor, to_user, note: str = "", now: datetime | None = None
) -> Delegation:
    """The reviewer holding the task asks a colleague (any active member of
    a department) to handle it; the task stays the reviewer's to decide."""
    now = now_or(now)
    case, task, _head = lock_task(task_id, actor)
    acting_for = require_holder(task, actor, now=now)
    note = text(note, "note", required=False)
    if to_user is None or not to_user.is_active or not Membership.objects.filter(user=to_user).exists():
        raise InvalidInput("choose an active colleague", fields={"to_user": ["not a colleague"]})
    if to_user.pk in (actor.pk, task.assignee_id):
        raise InvalidInput("a task cannot be delegated to its own holder", fields={"to_user": ["yourself"]})
    if to_user.pk == case.applicant_id:
        raise InvalidInput(
            "a case cannot be handed to its own applicant", fields={"to_user": ["is the applicant"]}
        )
    try:
        with transaction.atomic():
            delegation = Delegation.objects.create(
                case=case, task=task, delegated_by=actor, delegate=to_user, note=note, created_at=now
            )
    except IntegrityError:
        raise Conflict(
            "this task is already delegated; take that back first", code="delegation_open"
        ) from None
    audit(
        Action.TASK_DELEGATED,
        actor,
        now,
        case_id=case.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        delegation=delegation.pk,
        to_user=to_user.pk,
        acting_for=acting_for,
    )
    notify("delegated", f"delegation:{delegation.pk}:requested", now, delegation=delegation.pk)
    return delegation


def _lock_delegation(delegation_id: int) -> Delegation:
    found = Delegation.objects.filter(pk=delegation_id).values_list("case_id", flat=True).first()
    if found is None:
        raise NotFound("delegation not found")
    rows.lock_case(found)
    return Delegation.objects.select_related("task", "case").get(pk=delegation_id)


@transaction.atomic
def delegation_answer(*, delegation_id: int, actor, opinion: str, now: datetime | None = None) -> Delegation:
    """The colleague gives their opinion; it goes back to the delegating reviewer."""
    now = now_or(now)
    delegation = _lock_delegation(delegation_id)
    if delegation.delegate_id != actor.pk:
        raise NotFound("delegation not found")
    if delegation.status != RequestStatus.OPEN:
        raise Conflict("this delegation has been answered or taken back", code="delegation_closed")
    if not delegation.task.is_live:
        raise Conflict("this task has been decided or cancelled", code="task_not_live")
    delegation.opinion = text(opinion, "opinion", required=True, message="write your opinion")
    delegation.status, delegation.answered_at = RequestStatus.ANSWERED, now
    delegation.save(update_fields=["opinion", "status", "answered_at"])
    audit(
        Action.DELEGATION_ANSWERED,
        actor,
        now,
        case_id=delegation.case_id,
        object_type="task",
        object_id=delegation.task.engine_id,
        node=delegation.task.node_id,
        delegation=delegation.pk,
        opinion=delegation.opinion,
    )
    notify("delegation_answered", f"delegation:{delegation.pk}:answered", now, delegation=delegation.pk)
    return delegation


@transaction.atomic
def delegation_cancel(*, delegation_id: int, actor, now: datetime | None = None) -> Delegation:
    """The delegating reviewer (or the task's holder, or its department's
    head) takes an unanswered delegation back."""
    now = now_or(now)
    delegation = _lock_delegation(delegation_id)
    member = Membership.objects.filter(user=actor, department_id=delegation.task.department_id).first()
    allowed = actor.pk in (delegation.delegated_by_id, delegation.task.assignee_id) or (
        member is not None and member.is_head
    )
    if member is None and actor.pk != delegation.delegated_by_id:
        raise NotFound("delegation not found")
    if not allowed:
        raise Forbidden("only the delegating reviewer or the department head can take a delegation back")
    if delegation.status != RequestStatus.OPEN:
        raise Conflict("this delegation has been answered or taken back", code="delegation_closed")
    delegation.status = RequestStatus.CANCELLED
    delegation.save(update_fields=["status"])
    audit(
        Action.DELEGATION_CANCELLED,
        actor,
        now,
        case_id=delegation.case_id,
        object_type="task",
        object_id=delegation.task.engine_id,
        delegation=delegation.pk,
    )
    return delegation


# -- 会商 consultation ----------------------------------------------------------


@transaction.atomic
def consultation_request(
    *,
    task_id: int,
    actor,
    departments: list[str],
    question: str,
    days: int = DEFAULT_CONSULT_DAYS,
    now: datetime | None = None,
) -> list[Consultation]:
    """Ask other departments for their opinion on the task, each within
    `days` working days on the template's calendar. Until every opinion is
    in or its limit has passed, the task cannot be decided."""
    now = now_or(now)
    case, task, _head = lock_task(task_id, actor)
    acting_for = require_holder(task, actor, now=now)
    question = text(question, "question", required=True, message="say what you want their opinion on")
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_CONSULT_DAYS:
        raise InvalidInput(
            f"the limit must be 1 to {MAX_CONSULT_DAYS} working days", fields={"days": ["1 to 30"]}
        )
    codes = list(dict.fromkeys(code for code in departments or [] if isinstance(code, str)))
    if not codes or len(codes) > MAX_CONSULTED:
        raise InvalidInput(
            f"choose 1 to {MAX_CONSULTED} departments to consult", fields={"departments": ["required"]}
        )
    found = {d.code: d for d in Department.objects.filter(code__in=codes, is_active=True)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidInput(
            f"unknown department {', '.join(unknown)}", fields={"departments": [f"unknown: {unknown[0]}"]}
        )
    if any(found[code].pk == task.department_id for code in codes):
        raise InvalidInput(
            "consult other departments, not the task's own", fields={"departments": ["own department"]}
        )
    due = deadline(calendar_get(version_definition(case.version).calendar), now, days=days, hours=None)
    made: list[Consultation] = []
    try:
        with transaction.atomic():
            for code in codes:
                made.append(
                    Consultation.objects.create(
                        case=case,
                        task=task,
                        department=found[code],
                        requested_by=actor,
                        question=question,
                        days=days,
                        created_at=now,
                        due_at=due.due_at,
                        due_provisional=due.provisional,
                    )
                )
    except IntegrityError:
        raise Conflict(
            "one of these departments has not answered the last consultation yet", code="consultation_open"
        ) from None
    audit(
        Action.CONSULTATION_REQUESTED,
        actor,
        now,
        case_id=case.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        departments=codes,
        days=days,
        due_at=due.due_at.isoformat(),
        acting_for=acting_for,
    )
    for consultation in made:
        notify("consultation_requested", f"consultation:{consultation.pk}:requested", now, id=consultation.pk)
        webhook(
            "consultation.requested",
            case=case,
            subject=f"{case.reference}/{task.engine_id}",
            data=_consultation_data(consultation, task),
        )
    return made


def _consultation_data(consultation: Consultation, task) -> dict:
    return {
        "consultation": consultation.pk,
        "task": {"id": task.pk, "node": task.node_id},
        "department": consultation.department.code,
        "due_at": consultation.due_at.isoformat(),
        "due_provisional": consultation.due_provisional,
        "status": consultation.status,
        "lapsed_at": consultation.lapsed_at.isoformat() if consultation.lapsed_at else None,
    }


def _lock_consultation(consultation_id: int) -> Consultation:
    found = Consultation.objects.filter(pk=consultation_id).values_list("case_id", flat=True).first()
    if found is None:
        raise NotFound("consultation not found")
    rows.lock_case(found)
    return Consultation.objects.select_related("task", "case", "department").get(pk=consultation_id)


@transaction.atomic
def consultation_answer(
    *, consultation_id: int, actor, opinion: str, now: datetime | None = None
) -> Consultation:
    """A member of the consulted department gives its opinion (once; after
    the limit too, while the task is open)."""
    now = now_or(now)
    consultation = _lock_consultation(consultation_id)
    if not Membership.objects.filter(user=actor, department_id=consultation.department_id).exists():
        raise NotFound("consultation not found")
    if consultation.case.applicant_id == actor.pk:
        raise Forbidden("a reviewer cannot decide a case they applied for")
    if consultation.status != RequestStatus.OPEN:
        raise Conflict("this consultation has been answered or withdrawn", code="consultation_closed")
    if not consultation.task.is_live:
        raise Conflict("this task has been decided or cancelled", code="task_not_live")
    consultation.opinion = text(opinion, "opinion", required=True, message="write your opinion")
    consultation.status, consultation.answered_by, consultation.answered_at = (
        RequestStatus.ANSWERED,
        actor,
        now,
    )
    consultation.save(update_fields=["opinion", "status", "answered_by", "answered_at"])
    audit(
        Action.CONSULTATION_ANSWERED,
        actor,
        now,
        case_id=consultation.case_id,
        object_type="task",
        object_id=consultation.task.engine_id,
        node=consultation.task.node_id,
        consultation=consultation.pk,
        department=consultation.department.code,
        late=now > consultation.due_at,
    )
    notify("consultation_answered", f"consultation:{consultation.pk}:answered", now, id=consultation.pk)
    webhook(
        "consultation.answered",
        case=consultation.case,
        subject=f"{consultation.case.reference}/{consultation.task.engine_id}",
        data=_consultation_data(consultation, consultation.task),
    )
    return consultation


def consultations_lapse(*, now: datetime | None = None) -> list[int]:
    """The limits that have passed (beat, every few minutes): a provisional
    limit is first counted again on the calendar, which may have gained its
    year since; then each open consultation of a live task whose limit has
    passed with no opinion is marked lapsed, once, and the reviewer holding
    the task (and the one who asked) is told it may now be decided; the
    consulted department's heads are told their opinion is late. An opinion
    may still be given afterwards. Returns the ids marked lapsed."""
    now = now_or(now)
    for consultation in Consultation.objects.filter(
        status=RequestStatus.OPEN, lapsed_at__isnull=True, due_provisional=True
    ).select_related("case__version"):
        calendar = calendar_get(version_definition(consultation.case.version).calendar)
        due = deadline(calendar, consultation.created_at, days=consultation.days, hours=None)
        if not due.provisional:
            with transaction.atomic():
                rows.lock_case(consultation.case_id)
                Consultation.objects.filter(pk=consultation.pk, status=RequestStatus.OPEN).update(
                    due_at=due.due_at, due_provisional=False
                )
    lapsed: list[int] = []
    candidates = Consultation.objects.filter(
        status=RequestStatus.OPEN, lapsed_at__isnull=True, due_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        if _lapse_one(pk, now):
            lapsed.append(pk)
    return lapsed


@transaction.atomic
def _lapse_one(consultation_id: int, now: datetime) -> bool:
    consultation = _lock_consultation(consultation_id)
    if (
        consultation.status != RequestStatus.OPEN
        or consultation.lapsed_at is not None
        or consultation.due_at > now
        or not consultation.task.is_live
    ):
        return False
    consultation.lapsed_at = now
    consultation.save(update_fields=["lapsed_at"])
    audit(
        Action.CONSULTATION_LAPSED,
        None,
        now,
        case_id=consultation.case_id,
        object_type="task",
        object_id=consultation.task.engine_id,
        node=consultation.task.node_id,
        consultation=consultation.pk,
        department=consultation.department.code,
        due_at=consultation.due_at.isoformat(),
    )
    notify("consultation_lapsed", f"consultation:{consultation.pk}:lapsed", now, id=consultation.pk)
    webhook(
        "consultation.lapsed",
        case=consultation.case,
        subject=f"{consultation.case.reference}/{consultation.task.engine_id}",
        data=_consultation_data(consultation, consultation.task),
    )
    return True


@transaction.atomic
def consultation_withdraw(*, consultation_id: int, actor, now: datetime | None = None) -> Consultation:
    """The reviewer who asked (or the task's holder, or the head) withdraws
    an unanswered consultation, so the task can be decided without it."""
    now = now_or(now)
    consultation = _lock_consultation(consultation_id)
    member = Membership.objects.filter(user=actor, department_id=consultation.task.department_id).first()
    if member is None:
        raise NotFound("consultation not found")
    if actor.pk not in (consultation.requested_by_id, consultation.task.assignee_id) and not member.is_head:
        raise Forbidden("only the reviewer who asked, the task's holder or the head can withdraw it")
    if consultation.status != RequestStatus.OPEN:
        raise Conflict("this consultation has been answered or withdrawn", code="consultation_closed")
    consultation.status = RequestStatus.CANCELLED
    consultation.save(update_fields=["status"])
    audit(
        Action.CONSULTATION_WITHDRAWN,
        actor,
        now,
        case_id=consultation.case_id,
        object_type="task",
        object_id=consultation.task.engine_id,
        consultation=consultation.pk,
        department=consultation.department.code,
    )
    return consultation
