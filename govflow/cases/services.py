"""Case and task use cases: the only code that writes cases, tasks and timers.

Every service takes keyword-only arguments, checks that the actor may act,
locks the case row (SELECT ... FOR UPDATE) before reading its state, runs the
engine, and writes the result, its audit events and its outbox rows in the
same transaction. Two reviewers finishing the last two parallel tasks at once
are serialised by that lock, so the join fires once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from govflow.accounts.models import Membership
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine import IllegalEvent, NoBranchMatched
from govflow.engine import runtime as rt
from govflow.engine.forms import FieldError, validate_form_data
from govflow.engine.notices import changed_fields
from govflow.engine.text import forbidden_character, refusal_message
from govflow.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from govflow.processes.services import version_definition
from govflow.rawsql import insert_returning, pipelined, pipelined_atomic

from . import events, hooks, rows, task_status
from .bridge import Changes, accept_case, advance
from .corrections import refuse_outside_notice, revision_record
from .models import LIVE_TASK_STATUSES, Attachment, Case, CaseStatus, Task, TaskKind, TaskStatus
from .operations.distinct import (
    NOT_A_DECISION,
    REPEAT_SIGNER_CODE,
    RepeatSigner,
    refuse_repeat_signer,
    repeat_note,
)
from .task_locks import MAX_OPINION, lock_task, require_claim, task_state_message
from .task_status import Decision

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_DRAFT_BYTES = 512_000


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"GF{now:%Y%m%d}{suffix}"


def _lock_case(case_id: int) -> Case:
    case = rows.lock_case(case_id)
    if case is None:
        raise NotFound("case not found")
    return case


def _lock_own_case(case_id: int, actor) -> Case:
    case = _lock_case(case_id)
    if case.applicant_id != actor.pk:
        raise NotFound("case not found")
    return case


def _check_draft_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput("form data must be an object of field values")

    try:
        size = len(json.dumps(data, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("form data must contain only text, numbers, lists and objects") from exc
    if size > MAX_DRAFT_BYTES:
        raise InvalidInput(f"form data is too large ({size} bytes; the limit is {MAX_DRAFT_BYTES})")
    # A draft keeps what was typed, but not what cannot be stored (NUL) or
    # must never be shown (controls, invisible characters): refused field by
    # field, by the rule submission applies (govflow.engine.text).
    refused = _hidden_characters(data)
    if refused:
        raise FormInvalid(refused)
    return dict(data)


def _hidden_characters(value: Any, path: str = "") -> list[FieldError]:
    if isinstance(value, str):
        char = forbidden_character(value, multiline=True)
        return [] if char is None else [FieldError(path, "control_chars", refusal_message(char))]
    found: list[FieldError] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            char = forbidden_character(name)
            if char is not None:
                shown = name.encode("unicode_escape").decode("ascii")
                found.append(
                    FieldError(f"{path}.{shown}" if path else shown, "control_chars", refusal_message(char))
                )
                continue
            found += _hidden_characters(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += _hidden_characters(item, f"{path}[{index}]")
    return found


def _case_title(definition, data: Mapping[str, Any]) -> str:
    if definition.title_field:
        value = data.get(definition.title_field)
        return value.strip()[:200] if isinstance(value, str) else ""
    for spec in definition.form.fields:
        if spec.type == "text" and spec.required and spec.sensitivity == "public":
            value = data.get(spec.id)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    return ""


@transaction.atomic
def case_create(
    *, applicant, template_code: str, data: Mapping[str, Any] | None = None, now: datetime | None = None
) -> Case:
    """Start a draft on the template's current version. A draft keeps
    whatever the applicant typed, valid or not, until they submit."""
    now = _now(now)
    template = rows.published_template(template_code)
    if template is None:
        raise NotFound(f"no published service '{template_code}'")
    data = _check_draft_data(data or {})
    definition = version_definition(template.current_version)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case = Case(
                    reference=_new_reference(now),
                    template=template,
                    version=template.current_version,
                    applicant=applicant,
                    data=data,
                    title=_case_title(definition, data),
                )
                insert_returning([case])()
            break
        except IntegrityError:  # pragma: no cover - a reference collision, 1 in 10^9
            continue
    changes = Changes(now=now)
    changes.event(
        Action.CASE_CREATED,
        case,
        actor_id=applicant.pk,
        template=template.code,
        version=template.current_version.number,
    )
    audit_write(changes.audit)
    return case


@transaction.atomic
def case_save_draft(
    *,
    case_id: int,
    actor,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    case = _lock_own_case(case_id, actor)
    if case.status != CaseStatus.DRAFT:
        raise Conflict("only a draft can be edited; this case has been submitted")
    if expected_version is not None and case.row_version != expected_version:
        raise Conflict("the draft was changed elsewhere; reload it before saving")
    case.data = _check_draft_data(data)
    case.title = _case_title(version_definition(case.version), case.data)
    case.row_version += 1
    case.save(update_fields=["data", "title", "row_version", "updated_at"])
    return case


@transaction.atomic
def case_submit(
    *,
    case_id: int,
    actor,
    now: datetime | None = None,
    language: str = "zh",
    waived: frozenset[str] = frozenset(),
) -> Case:
    """Validate the form and hand the case to the engine. On invalid data
    nothing changes (the draft stays as typed) and FormInvalid lists every
    field's problem. `waived`: required document slots a signed commitment
    stands in for (容缺 / 告知承诺; govflow.commitments.services, the only
    caller that passes it)."""
    now = _now(now)
    case = _lock_own_case(case_id, actor)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(f"this case has already been submitted (it is {case.status})")
    definition = version_definition(case.version)
    checked = validate_form_data(definition.form, case.data, today=timezone.localdate(now))
    missing = _missing_documents(case, definition, waived)
    if not checked.ok or missing:
        raise FormInvalid(checked.errors + missing, language=language)
    case.data = checked.cleaned
    case.title = _case_title(definition, case.data) or case.title
    case.submit()
    case.submitted_at = now
    changes = Changes(now=now)
    changes.event(Action.CASE_SUBMITTED, case, actor_id=actor.pk)
    changes.happened(events.CaseSubmitted(case, actor_id=actor.pk))
    if not has_acceptance(definition):
        accept_case(case, changes, now, actor_id=actor.pk)  # accepted on submission, as before
    try:
        advance(case, rt.Start(case.data), changes, actor_id=actor.pk)
    except NoBranchMatched as exc:
        raise InvalidInput(f"the case cannot be routed: {exc.message}", code="no_branch_matched") from exc
    changes.flush()
    return case


def has_acceptance(definition) -> bool:
    """Whether the template accepts cases by an `acceptance` node (受理): its
    cases stay submitted until the first one accepts them."""
    return any(node.type == "acceptance" for node in definition.nodes.values())


def _missing_documents(
    case: Case, definition, waived: frozenset[str] = frozenset()
) -> tuple[FieldError, ...]:
    """A 'required' error for every required attachment slot with no file
    (but those `waived`)."""
    required = [spec.id for spec in definition.form.attachments if spec.required and spec.id not in waived]
    if not required:
        return ()
    present = set(Attachment.objects.filter(case=case, slot__in=required).values_list("slot", flat=True))
    return tuple(
        FieldError(
            path=slot, code="required", message={"zh": "请上传此项材料。", "en": "Upload this document."}
        )
        for slot in required
        if slot not in present
    )


@transaction.atomic
def case_withdraw(*, case_id: int, actor, reason: str = "", now: datetime | None = None) -> Case:
    now = _now(now)
    case = _lock_own_case(case_id, actor)
    changes = Changes(now=now)
    if case.status == CaseStatus.DRAFT:
        case.withdraw()
        case.completed_at = now
        changes.cases.append(case)
        changes.case_ids.add(case.pk)
        changes.event(
            Action.CASE_WITHDRAWN, case, actor_id=actor.pk, reason=reason[:500], **{"from": "draft"}
        )
        changes.happened(events.CaseEnded(case, CaseStatus.WITHDRAWN.value, previous=CaseStatus.DRAFT.value))
    elif case.is_open:
        advance(case, rt.Withdraw(actor=str(actor.pk), reason=reason), changes, actor_id=actor.pk)
    else:
        raise Conflict(f"this case has ended ({case.status}) and cannot be withdrawn")
    changes.flush()
    return case


@transaction.atomic
def case_answer_correction(
    *, case_id: int, actor, data: Mapping[str, Any], now: datetime | None = None, language: str = "zh"
) -> Case:
    """The applicant answers the open correction request(s) with changed
    data; the whole form must validate with the changes applied."""
    now = _now(now)
    case = _lock_own_case(case_id, actor)
    if case.status != CaseStatus.AWAITING_CORRECTION:
        raise Conflict("no correction is being asked for on this case")
    changes_in = _check_draft_data(data)
    definition = version_definition(case.version)
    merged = {**case.data, **changes_in}
    checked = validate_form_data(definition.form, merged, today=timezone.localdate(now))
    if not checked.ok:
        raise FormInvalid(checked.errors, language=language)
    updates = {key: checked.cleaned.get(key) for key in changes_in if key in checked.cleaned}
    before = dict(case.data)
    changed = changed_fields(before, updates)
    # 一次性告知: only what the notice lists may change (the service is the
    # guard; the web form and the API only offer those fields).
    refuse_outside_notice(case, updates)
    changes = Changes(now=now)
    open_corrections = [
        tid for tid, task in (case.state or {}).get("tasks", {}).items() if task["kind"] == "correction"
    ]
    for task_id in sorted(open_corrections, key=lambda t: int(t[1:])):
        if case.state is not None and task_id in case.state["tasks"]:
            advance(
                case, rt.SubmitCorrection(task_id, updates, actor=str(actor.pk)), changes, actor_id=actor.pk
            )
            changes.decided[(case.pk, task_id)] = Decision(outcome="corrected", decided_by_id=actor.pk)
    # The case's title follows the data (the company's new name).
    case.title = _case_title(definition, case.data) or case.title
    revision_record(
        case=case,
        definition=definition,
        before=before,
        changed=changed,
        tasks=sorted(open_corrections, key=lambda t: int(t[1:])),
        actor_id=actor.pk,
        now=now,
    )
    changes.event(
        Action.CASE_CORRECTED, case, actor_id=actor.pk, fields=sorted(updates), changed=sorted(changed)
    )
    changes.happened(events.CaseCorrected(case, tuple(sorted(updates)), actor_id=actor.pk))
    changes.flush()
    return case


# -- tasks ------------------------------------------------------------------


def _member(actor, department_id: int | None) -> Membership | None:
    if department_id is None:
        return None
    return Membership.objects.filter(user=actor, department_id=department_id).first()


@pipelined_atomic()
def task_claim(*, task_id: int, actor, now: datetime | None = None) -> Task:
    now = _now(now)
    _case, task, _ = lock_task(task_id, actor)
    if task.status == TaskStatus.CLAIMED and task.assignee_id == actor.pk:
        return task
    if task.status != TaskStatus.OPEN:
        raise Conflict(task_state_message(task))
    repeat = _refuse_second_signature(_case, task, actor.pk)
    task_status.hold(task, actor, now)
    with pipelined():  # the task's row and its audit event in one round trip
        task_status.save_holder(task)
        _audit_task(task, Action.TASK_CLAIMED, actor, now)
    if repeat is not None and _decidable_now(_case, task, now):  # 审批人去重: approved in their name
        _decide(_case, task, actor, outcome="approve", opinion="", now=now, repeat=repeat)
    return task


@transaction.atomic
def task_release(*, task_id: int, actor, now: datetime | None = None) -> Task:
    now = _now(now)
    _case, task, membership = lock_task(task_id, actor)
    if task.status != TaskStatus.CLAIMED:
        raise Conflict(task_state_message(task))
    if task.assignee_id != actor.pk and not membership.is_head:
        raise Forbidden("only the reviewer who claimed the task, or the department head, can release it")
    task_status.release(task)
    task_status.save_holder(task)
    _audit_task(task, Action.TASK_RELEASED, actor, now)
    return task


@transaction.atomic
def task_handover(*, task_id: int, actor, to_user, now: datetime | None = None) -> Task:
    """Give a task to a colleague in the same department (the holder, or the
    head reassigning)."""
    now = _now(now)
    case, task, membership = lock_task(task_id, actor)
    if not task.is_live:
        raise Conflict(task_state_message(task))
    if task.status == TaskStatus.CLAIMED and task.assignee_id != actor.pk and not membership.is_head:
        raise Forbidden("only the reviewer holding the task, or the department head, can hand it over")
    if _member(to_user, task.department_id) is None:
        raise InvalidInput(
            "the colleague must belong to the task's department", fields={"to_user": ["not a member"]}
        )
    if to_user.pk == case.applicant_id:
        raise InvalidInput(
            "a case cannot be handed to its own applicant", fields={"to_user": ["is the applicant"]}
        )
    repeat = _refuse_second_signature(case, task, to_user.pk)
    previous = task.assignee_id
    task_status.hold(task, to_user, now)
    task_status.save_holder(task)
    _audit_task(task, Action.TASK_HANDED_OVER, actor, now, to_user=to_user.pk, from_user=previous)
    if repeat is not None and _decidable_now(case, task, now):  # 审批人去重: in the colleague's name
        _decide(case, task, to_user, outcome="approve", opinion="", now=now, repeat=repeat)
    return task


@pipelined_atomic()
def task_complete(
    *,
    task_id: int,
    actor,
    outcome: str,
    opinion: str = "",
    data: Mapping[str, Any] | None = None,
    notice: Any = None,
    legal_basis: str = "",
    now: datetime | None = None,
) -> Task:
    """Decide a review, countersignature or acceptance (受理). Reject, return
    and a refusal to accept need a written opinion (the reasons); a refusal
    to accept also its legal basis; an acceptance's correction notice
    (一次性告知) lists the fields and materials to correct, each with a
    reason (govflow.engine.notices), as may a return to a correction node.
    A task a colleague already decided is a Conflict, not a write."""
    now = _now(now)
    case, task, _membership = lock_task(task_id, actor)
    if case.applicant_id == actor.pk:
        raise Forbidden("a reviewer cannot decide a case they applied for")
    if not task.is_live:
        raise Conflict(task_state_message(task))
    # 代理: the holder's acting officer may decide for them (govflow.collab).
    acting_for = task.assignee_id if task.assignee_id not in (None, actor.pk) else None
    if acting_for is not None and not hooks.acts_for(actor, acting_for, now=now):
        raise Conflict("a colleague has claimed this task; ask them or the department head to hand it over")
    require_claim(case, task)
    repeat = _refuse_second_signature(case, task, actor.pk)
    if repeat is not None and outcome != "approve":
        raise Conflict(
            "this step is approved automatically for you (repeat_signer, 审批人去重): you have already "
            "decided another step of this case; a colleague may decide it otherwise",
            code=REPEAT_SIGNER_CODE,
        )
    # 委派 / 会商: not while a delegation or a consultation within its limit is open.
    hooks.refuse_while_waiting(task, now=now)
    opinion = (opinion or "").strip()
    if len(opinion) > MAX_OPINION:
        raise InvalidInput(
            "the opinion is too long", fields={"opinion": [f"at most {MAX_OPINION} characters"]}
        )
    if outcome in ("reject", "return") and not opinion:
        raise InvalidInput(
            "a rejection or a return for correction needs a written opinion", fields={"opinion": ["required"]}
        )
    if outcome == "refuse" and not opinion:
        raise InvalidInput(
            "a refusal to accept (不予受理) needs its reasons in the opinion",
            fields={"opinion": ["required"]},
        )
    legal_basis = (legal_basis or "").strip()
    if outcome == "refuse" and not legal_basis:
        raise InvalidInput(
            "a refusal to accept (不予受理) needs its legal basis", fields={"legal_basis": ["required"]}
        )
    if len(legal_basis) > MAX_OPINION:
        raise InvalidInput(
            "the legal basis is too long", fields={"legal_basis": [f"at most {MAX_OPINION} characters"]}
        )
    if notice is not None and not isinstance(notice, list | tuple):
        raise InvalidInput("the correction notice is a list of items", fields={"notice": ["not a list"]})
    if data is not None:
        data = _check_draft_data(data)
    return _decide(
        case,
        task,
        actor,
        outcome=outcome,
        opinion=opinion,
        data=data,
        notice=notice,
        legal_basis=legal_basis,
        acting_for=acting_for,
        repeat=repeat,
        now=now,
    )


def _decidable_now(case: Case, task: Task, now: datetime) -> bool:
    """Whether the task may be decided now: no signer added before it is
    pending, no delegation or consultation within its limit is open (an
    automatic approval waits for them: it comes when its holder decides)."""
    if ((case.state or {}).get("tasks", {}).get(task.engine_id) or {}).get("waiting"):
        return False
    try:
        hooks.refuse_while_waiting(task, now=now)
    except Conflict:
        return False
    return True


def _decide(
    case: Case,
    task: Task,
    actor,
    *,
    outcome: str,
    opinion: str,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    notice: Any = None,
    legal_basis: str = "",
    acting_for: int | None = None,
    repeat: RepeatSigner | None = None,
) -> Task:
    """Record `actor`'s decision of `task` (checked by the caller, who holds
    the case lock). With `repeat` it is 审批人去重's automatic approval: its
    own audit event and a note in place of a missing opinion."""
    if repeat is not None:
        opinion = opinion or repeat_note(version_definition(case.version), repeat)
    changes = Changes(now=now)
    changes.event(
        Action.TASK_REPEAT_SIGNER_APPROVED if repeat is not None else Action.TASK_COMPLETED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        outcome=outcome,
        opinion=opinion,
        department=task.department_id,
        **({"acting_for": acting_for} if acting_for is not None else {}),
        **({"legal_basis": legal_basis} if legal_basis else {}),
        **({"notice": list(notice)} if notice else {}),
        **({"repeat_signer": repeat.earlier} if repeat is not None else {}),
    )
    changes.happened(
        events.TaskDecided(
            case,
            task.engine_id,
            task.node_id,
            outcome,
            department_id=task.department_id,
            opinion=opinion,
            actor_id=actor.pk,
            task=task,
        )
    )
    try:
        advance(
            case,
            rt.CompleteTask(
                task.engine_id,
                outcome,
                actor=str(actor.pk),
                opinion=opinion,
                data=data,
                notice=tuple(notice) if notice else None,
                legal_basis=legal_basis or None,
            ),
            changes,
            actor_id=actor.pk,
        )
    except IllegalEvent as exc:
        if exc.code == "outcome_not_offered":
            raise InvalidInput(exc.message, fields={"outcome": [exc.message]}) from exc
        if exc.code in ("notice_invalid", "notice_not_allowed"):
            raise InvalidInput(exc.message, fields={"notice": [exc.message]}, code=exc.code) from exc
        if exc.code in ("refusal_needs_reasons", "refusal_needs_legal_basis", "correction_rounds_exhausted"):
            raise InvalidInput(exc.message, code=exc.code) from exc
        raise Conflict(exc.message) from exc
    except NoBranchMatched as exc:
        raise InvalidInput(f"the case cannot be routed: {exc.message}", code="no_branch_matched") from exc
    if task.status == TaskStatus.OPEN:
        # A step that needs no 签收: the decider becomes its holder, written
        # with the decision's own UPDATE (task_status.decide_rows).
        task_status.hold(task, actor, now)
        held_from = now
    else:
        held_from = None
    decision = Decision(
        outcome=outcome,
        opinion=opinion,
        decided_by_id=actor.pk,
        legal_basis=legal_basis,
        held_from=held_from,
    )
    try:
        task_status.decide(task, decision, now, decided_by=actor)
    except TransitionNotAllowed as exc:  # pragma: no cover - guarded above
        raise Conflict(str(exc)) from exc
    changes.decided[(case.pk, task.engine_id)] = decision
    changes.flush()
    return task


def _refuse_second_signature(case: Case, task: Task, person_id: int) -> RepeatSigner | None:
    """A countersign with `distinct_people` (双人审核, 审批人去重: the
    default; a template opts out with `distinct_people: false`) needs a
    different person on each signature task of the node in one round: who
    holds or has signed a sibling may not take, be given or sign this one
    (409 `distinct_people`). As in the engine, a signature taken back is no
    longer one (its signer may sign the task given back, or another), and
    an approval held for a signer added after it (后加签) is one. The
    template's `repeat_signer` says what happens to a person who decided
    another step of the case: refused (409 `distinct_signers`), or the step
    is approved in their name (returned, for the caller to do)."""
    repeat = refuse_repeat_signer(case, task, person_id)
    if task.kind != TaskKind.SIGNATURE:
        return repeat
    node = version_definition(case.version).nodes.get(task.node_id)
    sign = node.countersign if node is not None else None
    if sign is None or not sign.distinct_people:
        return repeat
    siblings = Task.objects.filter(
        case_id=case.pk, node_id=task.node_id, round=task.round, kind=TaskKind.SIGNATURE
    ).exclude(pk=task.pk)
    signed = (
        siblings.filter(status=TaskStatus.COMPLETED, decided_by_id=person_id)
        .exclude(outcome__in=NOT_A_DECISION)
        .exists()
    )
    holds = siblings.filter(status=TaskStatus.CLAIMED, assignee_id=person_id).exists()
    if signed or holds:
        what = "has already signed" if signed else "holds"
        raise Conflict(
            f"this countersign needs a different person for each signature (distinct_people): "
            f"the same person {what} another signature of this step",
            code="distinct_people",
        )
    return repeat


def _audit_task(task: Task, action: Action, actor, now: datetime, **data: Any) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk,
                object_type="task",
                object_id=task.engine_id,
                case_id=task.case_id,
                data={"node": task.node_id, **data},
            )
        ]
    )


__all__ = [
    "LIVE_TASK_STATUSES",
    "case_answer_correction",
    "case_create",
    "case_save_draft",
    "case_submit",
    "case_withdraw",
    "require_claim",
    "task_claim",
    "task_complete",
    "task_handover",
    "task_release",
]
