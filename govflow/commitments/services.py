"""容缺受理 and 告知承诺制: the only writers of commitments, deferred
materials and verifications (see models.py for the lifecycle).

- `case_submit_with_commitment`: the applicant submits a draft whose
  deferrable (容缺) or commitment (告知承诺) documents are missing by signing
  the commitment; an applicant on the credit list may not.
- `material_supply` / `material_review`: a deferred material follows and a
  reviewer accepts it; rejected, the case is terminated.
- `materials_fire_due`: the beat job; a material not supplied by its
  deadline terminates the case (never on a provisional date), and the
  applicant is reminded before.
- `case_ended`: subscribed to CaseEnded; an approval is refused while a
  deferred material is still outstanding, an approval resting on a pledge
  opens the verification (核查), any other end cancels what is outstanding.
- `verification_decide`: found false, the case's certificates are revoked
  and a credit record is written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases import rows
from govflow.cases.attachments import attachment_add, case_submit_with_attachments, submission_problems
from govflow.cases.bridge import Changes, advance
from govflow.cases.disclosure import REVIEWER
from govflow.cases.events import TaskDecided
from govflow.cases.models import LIVE_TASK_STATUSES, Attachment, Case, CaseStatus, Task
from govflow.cases.selectors import case_access
from govflow.cases.services import case_submit
from govflow.certificates.services import certificates_revoke_for_case
from govflow.credit.selectors import commitment_exclusion, subject_codes
from govflow.credit.services import credit_record_write
from govflow.engine import runtime as rt
from govflow.engine.forms import FieldError
from govflow.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from govflow.notifications.services import notification_send
from govflow.processes.services import version_definition
from govflow.timers.deadlines import deadline
from govflow.timers.services import calendar_get

from .documents import Item, commitment_letter
from .models import (
    OPEN_MATERIAL_STATUSES,
    Commitment,
    CommitmentKind,
    DeferredMaterial,
    MaterialStatus,
    Verification,
    VerificationStatus,
)

log = logging.getLogger(__name__)

MAX_OPINION = 2000
REMIND_AT = 0.75  # of the make-up period
TITLES = {CommitmentKind.DEFERRAL: "容缺受理承诺书", CommitmentKind.PLEDGE: "告知承诺书"}


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _problem(slot: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(slot, code, {"zh": zh, "en": en})


def _missing_committable(case: Case, definition) -> tuple[list[Any], list[Any]]:
    """(deferrable, pledged) specs of the required slots with no file."""
    present = set(Attachment.objects.filter(case=case).values_list("slot", flat=True))
    missing = [s for s in definition.form.attachments if s.required and s.id not in present]
    return [s for s in missing if s.deferrable], [s for s in missing if s.commitment]


def _receiving_department(definition) -> str | None:
    """Who receives the commitment (and signs its document): the verifying
    department, else the department of the first review."""
    if definition.verification is not None:
        return definition.verification.department
    for node in definition.user_tasks():
        if node.department:
            return node.department
    return None


def material_cap(definition):
    """The limit a make-up period never passes: the statutory limit (法定时限,
    `statutory_limit`) when the template has one, else its `time_limit`."""
    return definition.statutory_limit or definition.time_limit


def material_deadline(definition, spec, start: datetime):
    """When a material deferred under 容缺 is due, counted from `start`, the
    case's acceptance (受理, `Case.accepted_at`: the commitment is made at
    acceptance): the slot's own deadline, never beyond the statutory limit
    (`material_cap`)."""
    calendar = calendar_get(definition.calendar)
    limits = [d for d in (spec.deadline, material_cap(definition)) if d is not None]
    due = [
        deadline(calendar, start, days=d.days, hours=d.hours, calendar_days=d.calendar_days) for d in limits
    ]
    first = min(due, key=lambda d: d.due_at)
    which = limits[due.index(first)]
    remind = deadline(
        calendar,
        start,
        days=which.days,
        hours=which.hours,
        fraction=REMIND_AT,
        calendar_days=which.calendar_days,
    )
    return first, remind


def _period(definition, spec) -> str:
    """The make-up period in words, for a letter signed before acceptance."""
    limits = [d for d in (spec.deadline, material_cap(definition)) if d is not None]
    shortest = min(limits, key=lambda d: d.working_days)
    if shortest.days is not None:
        return f"{shortest.days} 个工作日"
    if shortest.calendar_days is not None:
        return f"{shortest.calendar_days} 日"
    return f"{shortest.hours:g} 个工作小时"


@transaction.atomic
def case_submit_with_commitment(
    *, case_id: int, actor, sign: bool, now: datetime | None = None, language: str = "zh"
) -> Case:
    """Submit a draft. Where deferrable (容缺) or commitment (告知承诺)
    documents are missing, `sign` is the applicant signing the commitment
    that stands in for them: without it, or for an applicant on the credit
    list, FormInvalid names each such document and why."""
    now = _now(now)
    case = rows.lock_case(case_id)
    if case is None or case.applicant_id != actor.pk:
        raise NotFound("case not found")
    if case.status != CaseStatus.DRAFT:
        raise Conflict(f"this case has already been submitted (it is {case.status})")
    definition = version_definition(case.version)
    deferrable, pledged = _missing_committable(case, definition)
    if not deferrable and not pledged:
        return case_submit_with_attachments(case_id=case_id, actor=actor, language=language, now=now)
    committable = deferrable + pledged
    if not sign:
        others = submission_problems(case, language=language, now=now)
        offered = {s.id for s in committable}
        problems = [p for p in (others.errors if others else []) if p.path not in offered]
        problems += [
            _problem(
                s.id,
                "commitment_available",
                "请上传此项材料，或签署承诺书后容缺受理（材料在期限内补齐）。"
                if s.deferrable
                else "请上传此项证明材料，或签署告知承诺书以承诺代替。",
                "Upload this document, or sign the commitment to be accepted without it "
                "(容缺受理: supply it by the deadline)."
                if s.deferrable
                else "Upload this proof, or sign the commitment (告知承诺) that replaces it.",
            )
            for s in committable
        ]
        raise FormInvalid(problems, language=language)
    today = timezone.localdate(now)
    exclusion = commitment_exclusion(subject_codes(definition.form, case.data), today=today)
    if exclusion is not None:
        until = f"{exclusion.until:%Y-%m-%d}" if exclusion.until else "—"
        refused = FormInvalid(
            [
                _problem(
                    s.id,
                    "credit_listed",
                    f"申请人列入信用名单（{exclusion.source}，至 {until}），不能适用容缺受理或告知承诺制，"
                    "请上传此项材料。",
                    f"The applicant is on the credit list ({exclusion.source}, until {until}) and cannot "
                    "use 容缺受理 or 告知承诺; upload this document.",
                )
                for s in committable
            ],
            language=language,
        )
        refused.code = "credit_listed"
        raise refused
    case = case_submit(
        case_id=case_id,
        actor=actor,
        now=now,
        language=language,
        waived=frozenset(s.id for s in committable),
    )
    department_code = _receiving_department(definition)
    department = Department.objects.filter(code=department_code).first()
    if department is None:
        raise InvalidInput(f"the template's receiving department {department_code!r} does not exist")
    lang_label = {s.id: s.label.get("zh") or s.id for s in committable}
    if deferrable:
        commitment = _commitment(case, CommitmentKind.DEFERRAL, deferrable, actor, now)
        items = []
        for spec in deferrable:
            # Counted from the acceptance (受理); a case waiting at its
            # acceptance node gets a placeholder counted from now, which the
            # acceptance recounts (materials_accepted) and the sweep never acts on.
            due, remind = material_deadline(definition, spec, case.accepted_at or now)
            DeferredMaterial.objects.create(
                case=case,
                commitment=commitment,
                slot=spec.id,
                due_at=due.due_at,
                due_provisional=due.provisional,
                remind_at=remind.due_at,
            )
            if case.accepted_at is None:
                when = f"自受理之日起 {_period(definition, spec)}内"
            else:
                shown = timezone.localtime(due.due_at)
                when = f"{shown:%Y-%m-%d %H:%M}{'（预计）' if due.provisional else ''}"
            items.append(Item(lang_label[spec.id], when))
        _document(case, commitment, items, department, actor, now)
    if pledged:
        commitment = _commitment(case, CommitmentKind.PLEDGE, pledged, actor, now)
        items = [Item(lang_label[s.id], s.commitment.get("zh") or "") for s in pledged]
        _document(case, commitment, items, department, actor, now)
    return case


def _commitment(case: Case, kind: str, specs: list[Any], actor, now: datetime) -> Commitment:
    commitment = Commitment.objects.create(
        case=case, kind=kind, slots=[s.id for s in specs], signed_by=actor, signed_at=now
    )
    _audit(Action.COMMITMENT_SIGNED, case, now, actor, kind=kind, slots=commitment.slots)
    return commitment


def _document(
    case: Case, commitment: Commitment, items: list[Item], department, actor, now: datetime
) -> None:
    commitment.document = commitment_letter(
        case=case,
        kind=commitment.kind,
        title=TITLES[commitment.kind],
        service=case.template.title("zh"),
        items=items,
        department=department,
        actor=actor,
        signed_at=now,
    )
    commitment.save(update_fields=["document"])


# -- 容缺: the materials that follow --------------------------------------------


@transaction.atomic
def material_supply(
    *, case_id: int, actor, slot: str, upload, now: datetime | None = None, language: str = "zh"
) -> DeferredMaterial:
    """The applicant supplies a deferred material (one file per call, the
    slot's limits apply); it then awaits a reviewer's acceptance."""
    now = _now(now)
    case = rows.lock_case(case_id)
    if case is None or case.applicant_id != actor.pk:
        raise NotFound("case not found")
    material = DeferredMaterial.objects.select_for_update().filter(case_id=case_id, slot=slot).first()
    if material is None:
        raise NotFound("no material of this case is awaited in this slot")
    if material.status not in OPEN_MATERIAL_STATUSES:
        raise Conflict(f"this material can no longer be supplied (it is {material.status})")
    # Before acceptance (受理) the period has not started: due_at is a placeholder.
    if case.accepted_at is not None and not material.due_provisional and material.due_at <= now:
        raise Conflict("the deadline for this material has passed")
    attachment_add(
        case_id=case_id, actor=actor, slot=slot, upload=upload, language=language, now=now, supplying=True
    )
    material.status = MaterialStatus.SUPPLIED
    material.supplied_at = now
    material.save(update_fields=["status", "supplied_at"])
    _audit(Action.MATERIAL_SUPPLIED, case, now, actor, slot=slot)
    _tell_reviewers(case, material, now)
    return material


def _tell_reviewers(case: Case, material: DeferredMaterial, now: datetime) -> None:
    """The staff of the departments with a live task on the case are told a
    supplied material awaits their review (once per supply)."""
    departments = Task.objects.filter(
        case_id=case.pk, status__in=LIVE_TASK_STATUSES, department__isnull=False
    ).values_list("department_id", flat=True)
    users = [
        m.user
        for m in Membership.objects.filter(department_id__in=list(departments)).select_related("user")
        if m.user_id != case.applicant_id
    ]
    label = _slot_label(case, material.slot)
    notification_send(
        key=f"material:{material.pk}:supplied:{now.isoformat()}",
        kind="material_supplied",
        users=list({u.pk: u for u in users}.values()),
        subject=f"[{case.reference}] 容缺材料已补交 / Deferred material supplied",
        body=(
            f"办件 {case.reference} 的申请人已补交容缺材料“{label}”，请在办件页面审查（接收或不予接收）。\n"
            f"The applicant of case {case.reference} supplied the deferred material '{label}': "
            "review it on the case page."
        ),
        case_id=case.pk,
        now=now,
    )


@transaction.atomic
def material_review(
    *, material_id: int, actor, accept: bool, opinion: str = "", now: datetime | None = None
) -> DeferredMaterial:
    """A reviewer of the case accepts a supplied material, or rejects it
    with a written opinion, which terminates the case (容缺 not made good)."""
    now = _now(now)
    found = DeferredMaterial.objects.select_related("case").filter(pk=material_id).first()
    if found is None:
        raise NotFound("material not found")
    access = case_access(user=actor, reference=found.case.reference)
    if access.role != REVIEWER:
        raise NotFound("material not found")
    case = rows.lock_case(found.case_id)
    material = DeferredMaterial.objects.select_for_update().get(pk=material_id)
    if material.status != MaterialStatus.SUPPLIED:
        raise Conflict(f"only a supplied material can be reviewed (this one is {material.status})")
    opinion = (opinion or "").strip()
    if len(opinion) > MAX_OPINION:
        raise InvalidInput(
            "the opinion is too long", fields={"opinion": [f"at most {MAX_OPINION} characters"]}
        )
    if not accept and not opinion:
        raise InvalidInput("a rejection needs a written opinion", fields={"opinion": ["required"]})
    material.status = MaterialStatus.ACCEPTED if accept else MaterialStatus.REJECTED
    material.decided_by, material.decided_at, material.opinion = actor, now, opinion
    material.save(update_fields=["status", "decided_by", "decided_at", "opinion"])
    _audit(
        Action.MATERIAL_ACCEPTED if accept else Action.MATERIAL_REJECTED,
        case,
        now,
        actor,
        slot=material.slot,
        opinion=opinion,
    )
    if not accept:
        _terminate(
            case,
            reason=f"容缺受理的材料“{_slot_label(case, material.slot)}”（{material.slot}）经审查不符合要求，"
            f"终止办理：{opinion}",
            actor_id=actor.pk,
            now=now,
        )
    return material


def _slot_label(case: Case, slot: str) -> str:
    for spec in version_definition(case.version).form.attachments:
        if spec.id == slot:
            return spec.label.get("zh") or slot
    return slot


def _terminate(case: Case, *, reason: str, actor_id: int | None, now: datetime) -> None:
    """End the case (容缺 not made good: 终止办理, recorded as a withdrawal
    the applicant is deemed to have made) with a written reason. Caller
    holds the case lock."""
    if not case.is_open:
        return
    changes = Changes(now=now)
    changes.event(Action.CASE_TERMINATED, case, actor_id=actor_id, reason=reason)
    advance(case, rt.Withdraw(actor=None, reason=reason), changes, actor_id=actor_id)
    changes.flush()


def materials_fire_due(*, now: datetime | None = None) -> int:
    """The beat job: remind the applicant of materials nearly due, tell the
    head of a verification overdue, and terminate the cases whose
    materials were not supplied by the deadline.
    A provisional deadline (a calendar year not loaded) is recounted, and
    never acted on until it is exact. Returns how many cases ended."""
    now = _now(now)
    for pk in DeferredMaterial.objects.filter(
        status=MaterialStatus.PENDING,
        remind_at__lte=now,
        reminded_at__isnull=True,
        case__accepted_at__isnull=False,
    ).values_list("pk", flat=True):
        _remind(pk, now)
    for pk in Verification.objects.filter(
        status=VerificationStatus.OPEN,
        due_at__lte=now,
        due_provisional=False,
        overdue_notified_at__isnull=True,
    ).values_list("pk", flat=True):
        _verification_overdue(pk, now)
    ended = 0
    for pk in (
        DeferredMaterial.objects.filter(
            status=MaterialStatus.PENDING, due_at__lte=now, case__accepted_at__isnull=False
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    ):
        ended += _lapse(pk, now)
    return ended


@transaction.atomic
def _verification_overdue(verification_id: int, now: datetime) -> None:
    """Tell the verifying department's head, once, that a verification
    passed its due date undecided."""
    verification = (
        Verification.objects.select_for_update(of=("self",))
        .select_related("case", "department")
        .get(pk=verification_id)
    )
    if verification.status != VerificationStatus.OPEN or verification.overdue_notified_at is not None:
        return
    case = verification.case
    heads = [
        m.user
        for m in Membership.objects.filter(department=verification.department, is_head=True).select_related(
            "user"
        )
    ]
    due = f"{timezone.localtime(verification.due_at):%Y-%m-%d}"
    notification_send(
        key=f"verification:{verification.pk}:overdue",
        kind="verification_opened",
        users=heads,
        subject=f"[{case.reference}] 告知承诺核查已逾期 / Commitment verification overdue",
        body=(
            f"办件 {case.reference} 的告知承诺核查应于 {due} 前完成，目前尚未核查。\n"
            f"The verification of the commitment on case {case.reference} was due by {due} and is not done."
        ),
        case_id=case.pk,
        now=now,
    )
    verification.overdue_notified_at = now
    verification.save(update_fields=["overdue_notified_at"])


@transaction.atomic
def _remind(material_id: int, now: datetime) -> None:
    material = (
        DeferredMaterial.objects.select_for_update(of=("self",))
        .select_related("case", "case__applicant")
        .get(pk=material_id)
    )
    if material.status != MaterialStatus.PENDING or material.reminded_at is not None:
        return
    case = material.case
    due = timezone.localtime(material.due_at)
    label = _slot_label(case, material.slot)
    notification_send(
        key=f"material:{material.pk}:reminder",
        kind="material_due",
        users=[case.applicant],
        subject=f"[{case.reference}] 容缺材料即将到期 / Deferred material due soon",
        body=(
            f"您承诺补齐的材料“{label}”应于 {due:%Y-%m-%d %H:%M}"
            f"{'（预计）' if material.due_provisional else ''}前提交，逾期将终止办理。\n"
            f"The material '{material.slot}' you undertook to supply is due by {due:%Y-%m-%d %H:%M}; "
            "without it the case will be terminated."
        ),
        case_id=case.pk,
        now=now,
    )
    material.reminded_at = now
    material.save(update_fields=["reminded_at"])
    _audit(Action.MATERIAL_REMINDED, case, now, None, slot=material.slot, due=material.due_at.isoformat())


@transaction.atomic
def _lapse(material_id: int, now: datetime) -> int:
    found = DeferredMaterial.objects.filter(pk=material_id).values_list("case_id", flat=True).first()
    if found is None:
        return 0
    case = rows.lock_case(found)
    material = DeferredMaterial.objects.select_for_update().select_related("commitment").get(pk=material_id)
    if material.status != MaterialStatus.PENDING or case is None or case.accepted_at is None:
        return 0  # not accepted yet: the period has not started
    if material.due_provisional:
        definition = version_definition(case.version)
        spec = next((s for s in definition.form.attachments if s.id == material.slot), None)
        if spec is None:
            return 0
        due, remind = material_deadline(definition, spec, case.accepted_at)
        if due.due_at != material.due_at or not due.provisional:
            material.due_at, material.due_provisional, material.remind_at = (
                due.due_at,
                due.provisional,
                remind.due_at,
            )
            material.save(update_fields=["due_at", "due_provisional", "remind_at"])
        if due.provisional or due.due_at > now:
            return 0  # a provisional date has no legal effect
    material.status = MaterialStatus.LAPSED
    material.decided_at = now
    material.save(update_fields=["status", "decided_at"])
    due_shown = timezone.localtime(material.due_at)
    _terminate(
        case,
        reason=f"容缺受理的材料“{_slot_label(case, material.slot)}”（{material.slot}）未在承诺期限"
        f"（{due_shown:%Y-%m-%d %H:%M}）内补齐，终止办理。",
        actor_id=None,
        now=now,
    )
    return 1


# -- the case's acceptance (subscribed to CaseAccepted) ---------------------------


def materials_accepted(changes, events) -> None:
    """受理: the make-up periods of the materials deferred at submission run
    from the acceptance, so a case accepted at its acceptance node has them
    counted again from `event.at` (a case accepted on submission has none
    yet: they are counted from its acceptance as they are created)."""
    for event in events:
        case = event.case
        definition = version_definition(case.version)
        if not definition.deferrable_slots():
            continue
        specs = {spec.id: spec for spec in definition.form.attachments}
        for material in DeferredMaterial.objects.filter(case_id=case.pk, status=MaterialStatus.PENDING):
            spec = specs.get(material.slot)
            if spec is None:
                continue
            due, remind = material_deadline(definition, spec, event.at)
            DeferredMaterial.objects.filter(pk=material.pk).update(
                due_at=due.due_at, due_provisional=due.provisional, remind_at=remind.due_at
            )
            changes.event(
                Action.MATERIAL_DUE_SET,
                case,
                slot=material.slot,
                due=due.due_at.isoformat(),
                provisional=due.provisional,
            )


# -- the case's end (subscribed to CaseEnded) ------------------------------------


def _decided_by_a_person(changes) -> bool:
    """Did a reviewer's decision (not a timer's silent consent) make this
    change set?"""
    return any(
        isinstance(event, TaskDecided) and event.actor_id is not None and not event.silent_consent
        for event in changes.events
    )


def case_ended(changes, events) -> None:
    """A reviewer's approval while a deferred material is outstanding is
    refused (the whole decision rolls back, 409); an approval resting on a
    pledge opens the verification; any other end cancels outstanding
    materials. A silent consent (超期默认, a timer) is never refused here:
    the timer sweep must not stall on it; the materials then stay awaited
    on the approved case, and the audit trail says so."""
    for event in events:
        case = event.case
        definition = version_definition(case.version)
        if not (definition.deferrable_slots() or definition.commitment_slots()):
            continue
        outstanding = DeferredMaterial.objects.filter(case_id=case.pk, status__in=OPEN_MATERIAL_STATUSES)
        if event.outcome == CaseStatus.APPROVED:
            slots = sorted(outstanding.values_list("slot", flat=True))
            if slots and not _decided_by_a_person(changes):
                log.warning("case %s approved by its time limit with materials outstanding", case.reference)
                changes.event(Action.MATERIALS_OUTSTANDING, case, slots=slots)
            elif slots:
                raise Conflict(
                    "the case cannot be approved while materials accepted as missing (容缺) are not "
                    f"supplied and accepted: {', '.join(slots)}",
                    code="materials_outstanding",
                )
            _open_verification(case, definition, changes.now)
        else:
            outstanding.update(status=MaterialStatus.CANCELLED, decided_at=changes.now)


def _open_verification(case: Case, definition, now: datetime) -> None:
    spec = definition.verification
    pledge = Commitment.objects.filter(case_id=case.pk, kind=CommitmentKind.PLEDGE).first()
    if spec is None or pledge is None or Verification.objects.filter(commitment=pledge).exists():
        return
    department = Department.objects.get(code=spec.department)
    due = deadline(calendar_get(definition.calendar), now, days=spec.days, hours=None)
    verification = Verification.objects.create(
        case=case,
        commitment=pledge,
        department=department,
        opened_at=now,
        due_at=due.due_at,
        due_provisional=due.provisional,
    )
    _audit(
        Action.VERIFICATION_OPENED,
        case,
        now,
        None,
        department=department.code,
        due=due.due_at.isoformat(),
        verification=verification.pk,
    )
    members = [m.user for m in Membership.objects.filter(department=department).select_related("user")]
    shown = f"{timezone.localtime(due.due_at):%Y-%m-%d}"
    transaction.on_commit(
        lambda: notification_send(
            key=f"verification:{verification.pk}:opened",
            kind="verification_opened",
            users=members,
            subject=f"[{case.reference}] 告知承诺核查 / Commitment to verify",
            body=(
                f"办件 {case.reference} 以告知承诺办理，请于 {shown} 前完成核查。\n"
                f"Case {case.reference} was approved on a commitment (告知承诺): verify it by {shown}."
            ),
            case_id=case.pk,
            now=now,
        )
    )


# -- 告知承诺: the verification ---------------------------------------------------


@transaction.atomic
def verification_decide(
    *, verification_id: int, actor, truthful: bool, opinion: str = "", now: datetime | None = None
) -> Verification:
    """The verifying department records what it found. A member confirms
    the commitment; only the department's head may find it false, with a
    written opinion: the case's certificates are revoked (the public
    verification says so) and a credit record is written for each of the
    applicant's identifiers."""
    now = _now(now)
    found = Verification.objects.filter(pk=verification_id).values_list("case_id", "department_id").first()
    if found is None:
        raise NotFound("verification not found")
    case_id, department_id = found
    membership = Membership.objects.filter(user=actor, department_id=department_id).first()
    if membership is None:
        raise NotFound("verification not found")
    case = rows.lock_case(case_id)
    verification = (
        Verification.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=verification_id)
    )
    if verification.status != VerificationStatus.OPEN:
        raise Conflict(f"this verification has been decided ({verification.status})")
    opinion = (opinion or "").strip()
    if len(opinion) > MAX_OPINION:
        raise InvalidInput(
            "the opinion is too long", fields={"opinion": [f"at most {MAX_OPINION} characters"]}
        )
    if not truthful:
        if not membership.is_head:
            raise Forbidden(
                "only the head of the department may find a commitment false (it revokes the licence)"
            )
        if not opinion:
            raise InvalidInput(
                "a commitment found false needs a written opinion", fields={"opinion": ["required"]}
            )
    verification.status = VerificationStatus.CONFIRMED if truthful else VerificationStatus.FALSE
    verification.decided_by, verification.decided_at, verification.opinion = actor, now, opinion
    verification.save(update_fields=["status", "decided_by", "decided_at", "opinion"])
    _audit(
        Action.VERIFICATION_DECIDED,
        case,
        now,
        actor,
        verification=verification.pk,
        outcome=verification.status,
        opinion=opinion,
    )
    if not truthful:
        reason = f"告知承诺核查发现承诺不实，依法撤销：{opinion}"
        certificates_revoke_for_case(case_id=case.pk, actor=actor, reason=reason, now=now)
        definition = version_definition(case.version)
        credit_record_write(
            case=case,
            department=verification.department,
            codes=subject_codes(definition.form, case.data),
            reason=opinion,
            actor=actor,
            now=now,
        )
    return verification


def _audit(action: Action, case: Case, now: datetime, actor, **data: Any) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk if actor is not None else None,
                object_type="case",
                object_id=str(case.pk),
                case_id=case.pk,
                data=data,
            )
        ]
    )


__all__ = [
    "case_ended",
    "case_submit_with_commitment",
    "material_review",
    "material_supply",
    "materials_fire_due",
    "verification_decide",
]
