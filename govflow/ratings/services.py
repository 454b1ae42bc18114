"""Writing ratings and remediations: the only writers of this app.

Every operation runs in one transaction, locks what it changes, audits
itself and refuses what the rules do not allow with a GovflowError (nothing
is written then). A 差评 opens its remediation in the same transaction and
asks the outbox to notify the department's heads (in-app and e-mail, with
retries), so a rating is never left without its remediation or its notice.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import is_admin
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import ENDED_CASE_STATUSES, Case
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.notifications.models import NotificationKind
from govflow.notifications.services import SUBJECTS, notification_send
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit
from govflow.processes.services import version_definition
from govflow.timers.deadlines import deadline
from govflow.timers.services import calendar_get

from .models import (
    REMEDY_WORKING_DAYS,
    AppealDecision,
    CallbackResult,
    Level,
    Rating,
    Remediation,
    RemediationStatus,
)
from .selectors import rated_departments, remediation_department

NOTIFY_TOPIC = "remediation_notify"
MAX_COMMENT = 500
MAX_TEXT = 2000


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _text(value: str, field: str, *, required: bool, limit: int = MAX_TEXT, message: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(message or f"the {field} is required", fields={field: ["required"]})
    if len(value) > limit:
        raise InvalidInput(f"the {field} is too long", fields={field: [f"at most {limit} characters"]})
    return value


def _audit(action: str, actor, now: datetime, *, case_id: int, object_type: str, object_id, **data) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk,
                object_type=object_type,
                object_id=str(object_id),
                case_id=case_id,
                data=data,
            )
        ]
    )


@transaction.atomic
def rating_submit(
    *,
    case_id: int,
    actor,
    level: int,
    comment: str = "",
    department: str | None = None,
    now: datetime | None = None,
) -> Rating:
    """The applicant rates a finished case: the whole service (department
    None) or one department's item. Each once (一事一评). A 差评 needs the
    reason and opens a remediation for the department, due in 15 working
    days."""
    now = _now(now)
    case = Case.objects.select_for_update().select_related("version").filter(pk=case_id).first()
    if case is None or case.applicant_id != actor.pk:
        raise NotFound("case not found")
    if case.status not in ENDED_CASE_STATUSES:
        raise Conflict("a case can be rated once it has ended")
    try:
        level = Level(int(level))
    except (TypeError, ValueError):
        raise InvalidInput("the rating must be 1 to 5", fields={"level": ["1 to 5"]}) from None
    poor = level.value in (1, 2)
    comment = _text(
        comment,
        "comment",
        required=poor,
        limit=MAX_COMMENT,
        message="a poor rating needs the reason, so the department can remedy it",
    )
    target: Department | None = None
    if department:
        target = next((d for d in rated_departments(case) if d.code == department), None)
        if target is None:
            raise InvalidInput(
                "this department did not handle the case", fields={"department": ["not part of this case"]}
            )
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                case=case, department=target, level=level, comment=comment, rated_by=actor, rated_at=now
            )
    except IntegrityError:
        raise Conflict("this has been rated already; a rating cannot be changed") from None
    _audit(
        Action.RATING_SUBMITTED,
        actor,
        now,
        case_id=case.pk,
        object_type="rating",
        object_id=rating.pk,
        level=int(level),
        department=target.code if target else None,
    )
    if poor:
        _open_remediation(case, rating, target, actor, now)
    return rating


def _open_remediation(case: Case, rating: Rating, target: Department | None, actor, now: datetime) -> None:
    owner = target or remediation_department(case)
    definition = version_definition(case.version)
    due = deadline(calendar_get(definition.calendar), now, days=REMEDY_WORKING_DAYS, hours=None)
    remediation = Remediation.objects.create(
        rating=rating, department=owner, created_at=now, due_at=due.due_at, due_provisional=due.provisional
    )
    _audit(
        Action.REMEDIATION_OPENED,
        actor,
        now,
        case_id=case.pk,
        object_type="remediation",
        object_id=remediation.pk,
        department=owner.code,
        due_at=due.due_at.isoformat(),
    )
    message = OutboxMessage.objects.create(
        key=f"remediation:{remediation.pk}:opened",
        topic=NOTIFY_TOPIC,
        payload={"remediation": remediation.pk},
        created_at=now,
    )
    dispatch_on_commit([message.pk])


def _lock_remediation(remediation_id: int) -> Remediation:
    remediation = (
        Remediation.objects.select_for_update(of=("self",))
        .select_related("rating", "department")
        .filter(pk=remediation_id)
        .first()
    )
    if remediation is None:
        raise NotFound("remediation not found")
    return remediation


def _head_of(actor, remediation: Remediation) -> None:
    is_head = Membership.objects.filter(
        user=actor, department_id=remediation.department_id, is_head=True
    ).exists()
    if not is_head:
        # Members of other departments are told nothing exists.
        if not Membership.objects.filter(user=actor, department_id=remediation.department_id).exists():
            raise NotFound("remediation not found")
        raise Forbidden("only the department head records a remediation, its callback or an appeal")


def _state(remediation: Remediation, *allowed: str) -> None:
    if remediation.status not in allowed:
        raise Conflict(f"this remediation is {remediation.status}")


@transaction.atomic
def remediation_remedy(
    *, remediation_id: int, actor, remedy: str, now: datetime | None = None
) -> Remediation:
    """The head records what the department did about the 差评 (整改)."""
    now = _now(now)
    remediation = _lock_remediation(remediation_id)
    _head_of(actor, remediation)
    _state(remediation, RemediationStatus.OPEN)
    remediation.remedy = _text(remedy, "remedy", required=True)
    remediation.remedied_at, remediation.remedied_by = now, actor
    remediation.status = RemediationStatus.REMEDIED
    remediation.save(update_fields=["remedy", "remedied_at", "remedied_by", "status"])
    _audit(
        Action.REMEDIATION_REMEDIED,
        actor,
        now,
        case_id=remediation.rating.case_id,
        object_type="remediation",
        object_id=remediation.pk,
        on_time=now <= remediation.due_at,
    )
    return remediation


@transaction.atomic
def remediation_callback(
    *, remediation_id: int, actor, result: str, note: str = "", now: datetime | None = None
) -> Remediation:
    """The callback (回访) to the applicant after the remedy closes the
    remediation, whatever the applicant answered (the answer is kept and
    counted)."""
    now = _now(now)
    remediation = _lock_remediation(remediation_id)
    _head_of(actor, remediation)
    _state(remediation, RemediationStatus.REMEDIED)
    if result not in CallbackResult.values:
        raise InvalidInput("choose the callback's result", fields={"result": ["unknown"]})
    remediation.callback_result = result
    remediation.callback_note = _text(note, "note", required=False)
    remediation.callback_at, remediation.callback_by = now, actor
    remediation.status = RemediationStatus.CLOSED
    remediation.save(
        update_fields=["callback_result", "callback_note", "callback_at", "callback_by", "status"]
    )
    _audit(
        Action.REMEDIATION_CALLED_BACK,
        actor,
        now,
        case_id=remediation.rating.case_id,
        object_type="remediation",
        object_id=remediation.pk,
        result=result,
    )
    return remediation


@transaction.atomic
def remediation_appeal(
    *, remediation_id: int, actor, reason: str, now: datetime | None = None
) -> Remediation:
    """The head appeals (申诉) the rating once, e.g. as malicious or about a
    matter outside the department's remit; the remediation's clock keeps
    running while an administrator decides."""
    now = _now(now)
    remediation = _lock_remediation(remediation_id)
    _head_of(actor, remediation)
    _state(remediation, RemediationStatus.OPEN)
    if remediation.appeal_decision:
        raise Conflict("this rating has been appealed once already")
    remediation.appeal_reason = _text(reason, "reason", required=True)
    remediation.appealed_at, remediation.appealed_by = now, actor
    remediation.status = RemediationStatus.APPEALED
    remediation.save(update_fields=["appeal_reason", "appealed_at", "appealed_by", "status"])
    _audit(
        Action.REMEDIATION_APPEALED,
        actor,
        now,
        case_id=remediation.rating.case_id,
        object_type="remediation",
        object_id=remediation.pk,
    )
    return remediation


@transaction.atomic
def remediation_appeal_decide(
    *, remediation_id: int, actor, decision: str, note: str, now: datetime | None = None
) -> Remediation:
    """An administrator of the service hall decides the appeal: upheld takes
    the rating out of the statistics and closes the remediation; dismissed
    sends it back to be remedied (by the same date)."""
    now = _now(now)
    if not is_admin(actor):
        raise Forbidden("only an administrator decides an appeal against a rating")
    remediation = _lock_remediation(remediation_id)
    _state(remediation, RemediationStatus.APPEALED)
    if decision not in AppealDecision.values:
        raise InvalidInput("choose upheld or dismissed", fields={"decision": ["unknown"]})
    remediation.appeal_note = _text(note, "note", required=True)
    remediation.appeal_decision = decision
    remediation.appeal_decided_at, remediation.appeal_decided_by = now, actor
    if decision == AppealDecision.UPHELD:
        remediation.status = RemediationStatus.WITHDRAWN
        Rating.objects.filter(pk=remediation.rating_id).update(excluded=True)
    else:
        remediation.status = RemediationStatus.OPEN
    remediation.save(
        update_fields=["appeal_note", "appeal_decision", "appeal_decided_at", "appeal_decided_by", "status"]
    )
    _audit(
        Action.REMEDIATION_APPEAL_DECIDED,
        actor,
        now,
        case_id=remediation.rating.case_id,
        object_type="remediation",
        object_id=remediation.pk,
        decision=decision,
    )
    return remediation


def remediations_check(*, now: datetime | None = None) -> tuple[int, int]:
    """Daily (beat): recount the provisional remediation dates on the
    calendar as now loaded (exact once the year is in), then tell the
    heads of the department, once, about every remediation past its date
    (a provisional date does not count as passed). Returns (recounted,
    notified)."""
    now = _now(now)
    recounted = 0
    provisional = Remediation.objects.filter(due_provisional=True).select_related("rating__case__version")
    for remediation in provisional:
        if not remediation.is_live:
            continue
        definition = version_definition(remediation.rating.case.version)
        due = deadline(
            calendar_get(definition.calendar), remediation.created_at, days=REMEDY_WORKING_DAYS, hours=None
        )
        if (due.due_at, due.provisional) != (remediation.due_at, True):
            Remediation.objects.filter(pk=remediation.pk, due_provisional=True).update(
                due_at=due.due_at, due_provisional=due.provisional
            )
            recounted += 1
    notified = 0
    overdue = Remediation.objects.filter(
        status__in=(RemediationStatus.OPEN, RemediationStatus.APPEALED, RemediationStatus.REMEDIED),
        due_provisional=False,
        due_at__lt=now,
    ).select_related("rating__case", "department")
    for remediation in overdue:
        heads = Membership.objects.filter(
            department_id=remediation.department_id, is_head=True, user__is_active=True
        ).select_related("user")
        case = remediation.rating.case
        notified += notification_send(
            key=f"remediation:{remediation.pk}:overdue",
            kind=NotificationKind.REMEDIATION_OVERDUE,
            users=[m.user for m in heads],
            subject=SUBJECTS[NotificationKind.REMEDIATION_OVERDUE],
            body=(
                f"{case.reference} · {remediation.department.name_zh}：差评整改已超过 15 个工作日期限，"
                f"请尽快整改并回访申请人。\n"
                f"The remediation of a poor rating of case {case.reference} is past its 15 working days.\n"
            ),
            case_id=case.pk,
            now=now,
        )
    return recounted, notified
