"""The applicant's own steps beyond corrections (`applicant_task` nodes:
supply fields, upload documents into the step's document slots, confirm a
statement) and the fees a case waits for (`fee`
nodes): the service that completes a step and the reads the case page and
the API show.

Both are the applicant's time: the engine stops the statutory clock while a
step is open or a fee unpaid (docs/process-language.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from govflow.audit.actions import Action
from govflow.engine import IllegalEvent, NoBranchMatched
from govflow.engine import runtime as rt
from govflow.engine.forms import AttachmentSpec, FieldError, FieldSpec, validate_form_data
from govflow.errors import Conflict, FormInvalid, InvalidInput
from govflow.processes.services import version_definition
from govflow.timers.models import Timer

from .attachments import attachment_add, attachment_remove
from .bridge import Changes, advance
from .models import Attachment, Case, Task
from .services import _check_draft_data, _lock_own_case
from .task_status import Decision


@dataclass(frozen=True)
class StepDocument:
    """A document slot an open step asks for, with the files uploaded into
    it since the step opened (the step needs at least one)."""

    spec: AttachmentSpec
    files: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ApplicantStep:
    """An open applicant_task of a case."""

    task_id: str  # the engine's task id
    node_id: str
    title: str
    fields: tuple[FieldSpec, ...]
    confirm: str  # the statement to confirm, in the reader's language ("" for none)
    deadline: datetime | None
    provisional: bool
    values: dict[str, Any] = field(default_factory=dict)  # the current values of its fields
    documents: tuple[StepDocument, ...] = ()


@dataclass(frozen=True)
class FeeState:
    """A fee of the case: unpaid (待缴费) while the case waits at the node,
    paid once the payment arrived; None of these for a fee not reached yet."""

    node_id: str
    title: str
    amount: str
    paid: bool
    deadline: datetime | None
    provisional: bool
    payment: dict[str, Any] = field(default_factory=dict)


def _pick(text: Mapping[str, str] | None, language: str) -> str:
    if not text:
        return ""
    return text.get(language[:2]) or text.get("zh") or ""


def _deadlines(case: Case, kind: str) -> dict[str, tuple[datetime | None, bool]]:
    found: dict[str, tuple[datetime | None, bool]] = {}
    for node_id, due, provisional in Timer.objects.filter(
        case=case, kind=kind, status__in=[Timer.PENDING, Timer.PAUSED]
    ).values_list("node_id", "due_at", "provisional"):
        found[node_id] = (due, provisional)
    return found


def _opened_at(case: Case, task_id: str) -> datetime | None:
    return Task.objects.filter(case=case, engine_id=task_id).values_list("created_at", flat=True).first()


def _step_documents(case: Case, definition, node, task_id: str) -> tuple[StepDocument, ...]:
    """The step's document slots with the files uploaded since it opened (a
    file from the application or an earlier round does not count)."""
    slots = node.settings.get("documents", ())
    if not slots:
        return ()
    specs = {spec.id: spec for spec in definition.form.attachments}
    files: dict[str, list[Attachment]] = {slot: [] for slot in slots}
    rows = Attachment.objects.filter(case=case, slot__in=slots)
    opened = _opened_at(case, task_id)
    if opened is not None:
        rows = rows.filter(uploaded_at__gte=opened)
    for row in rows.order_by("uploaded_at", "pk"):
        files[row.slot].append(row)
    return tuple(StepDocument(specs[slot], tuple(files[slot])) for slot in slots if slot in specs)


def applicant_steps_open(*, case: Case, language: str = "zh") -> list[ApplicantStep]:
    state = case.state or {}
    tasks = [(tid, t) for tid, t in state.get("tasks", {}).items() if t["kind"] == "applicant"]
    if not tasks:
        return []
    definition = version_definition(case.version)
    deadlines = _deadlines(case, "applicant_deadline")
    steps = []
    for task_id, task in sorted(tasks, key=lambda item: int(item[0][1:])):
        node = definition.nodes[task["node"]]
        specs = tuple(
            spec for spec in (definition.form.field(f) for f in node.settings.get("fields", ())) if spec
        )
        due, provisional = deadlines.get(node.id, (None, False))
        steps.append(
            ApplicantStep(
                task_id=task_id,
                node_id=node.id,
                title=node.label(language[:2]),
                fields=specs,
                confirm=_pick(node.settings.get("confirm"), language),
                deadline=due,
                provisional=provisional,
                values={spec.id: case.data.get(spec.id) for spec in specs},
                documents=_step_documents(case, definition, node, task_id),
            )
        )
    return steps


def fee_states(*, case: Case, language: str = "zh") -> list[FeeState]:
    state = case.state or {}
    if not state:
        return []
    definition = version_definition(case.version)
    fees = [node for node in definition.nodes.values() if node.type == "fee"]
    if not fees:
        return []
    waiting = {token["node"] for token in state.get("tokens", {}).values()}
    results = state.get("results", {})
    deadlines = _deadlines(case, "fee_deadline")
    found = []
    for node in fees:
        paid = isinstance(results.get(node.id), dict) and results[node.id].get("paid") is True
        if node.id not in waiting and not paid:
            continue
        due, provisional = deadlines.get(node.id, (None, False)) if not paid else (None, False)
        payment = {k: v for k, v in results.get(node.id, {}).items() if k != "paid"} if paid else {}
        found.append(
            FeeState(
                node_id=node.id,
                title=node.label(language[:2]),
                amount=node.settings["amount"],
                paid=paid and node.id not in waiting,
                deadline=due,
                provisional=provisional,
                payment=payment,
            )
        )
    return found


def _open_step(case: Case, task_id: str):
    task = (case.state or {}).get("tasks", {}).get(task_id) if case.is_open else None
    if task is None or task["kind"] != "applicant":
        raise Conflict("this step is not open on the case")
    return version_definition(case.version).nodes[task["node"]]


@transaction.atomic
def applicant_step_document_add(
    *,
    case_id: int,
    actor,
    task_id: str,
    slot: str,
    upload,
    language: str = "zh",
    now: datetime | None = None,
) -> Attachment:
    """The applicant uploads one file into a document slot the open step
    `task_id` asks for (`documents`). The slot's types, size and count
    limits and the content checks of every upload apply
    (govflow.cases.attachments); FormInvalid keyed by the slot when the
    file is refused."""
    case = _lock_own_case(case_id, actor)
    node = _open_step(case, task_id)
    if slot not in node.settings.get("documents", ()):
        raise InvalidInput(
            f"this step does not ask for the document {slot!r}", fields={slot: ["not asked by this step"]}
        )
    return attachment_add(
        case_id=case_id, actor=actor, slot=slot, upload=upload, language=language, now=now, supplying=True
    )


@transaction.atomic
def applicant_step_document_remove(
    *, case_id: int, actor, task_id: str, attachment_id: int, now: datetime | None = None
) -> None:
    """The applicant removes a file they uploaded into the open step's
    document slot (only one uploaded since the step opened)."""
    case = _lock_own_case(case_id, actor)
    node = _open_step(case, task_id)
    documents = _step_documents(case, version_definition(case.version), node, task_id)
    if not any(row.pk == attachment_id for document in documents for row in document.files):
        raise Conflict("only a file uploaded for this open step can be removed here")
    attachment_remove(case_id=case_id, actor=actor, attachment_id=attachment_id, now=now, supplying=True)


@transaction.atomic
def applicant_task_complete(
    *,
    case_id: int,
    actor,
    task_id: str,
    data: Mapping[str, Any] | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
    language: str = "zh",
) -> Case:
    """The applicant completes the open applicant_task `task_id` (the
    engine's id): the fields it asks for, valid with the rest of the form,
    a file in each document slot it asks for (uploaded while it is open:
    applicant_step_document_add), and the confirmation when it asks for one."""
    now = now or timezone.now()
    case = _lock_own_case(case_id, actor)
    task = (case.state or {}).get("tasks", {}).get(task_id) if case.is_open else None
    if task is None or task["kind"] != "applicant":
        raise Conflict("this step is not open on the case")
    definition = version_definition(case.version)
    node = definition.nodes[task["node"]]
    given = _check_draft_data(data or {})
    asked = tuple(node.settings.get("fields", ()))
    extra = sorted(set(given) - set(asked))
    if extra:
        raise InvalidInput(
            f"this step does not ask for {', '.join(extra)}", fields={key: ["not asked"] for key in extra}
        )
    missing = [key for key in asked if given.get(key) in (None, "", [])]
    errors = [
        FieldError(key, "required", {"zh": "此项为必填项。", "en": "This field is required."})
        for key in missing
    ]
    documents = _step_documents(case, definition, node, task_id)
    for document in documents:
        if not document.files:
            errors.append(
                FieldError(
                    document.spec.id,
                    "required",
                    {
                        "zh": "请上传此项材料后再完成此步骤。",
                        "en": "Upload this document to complete the step.",
                    },
                )
            )
    if node.settings.get("confirm") and not confirmed:
        errors.append(
            FieldError(
                "confirmed",
                "required",
                {"zh": "请确认上述声明。", "en": "Confirm the statement to complete this step."},
            )
        )
    checked = validate_form_data(definition.form, {**case.data, **given}, today=timezone.localdate(now))
    if not checked.ok:
        errors += [e for e in checked.errors if e.path.split(".")[0].split("[")[0] in asked]
    if errors:
        raise FormInvalid(errors, language=language)
    updates = {key: checked.cleaned.get(key) for key in asked}
    changes = Changes(now=now)
    try:
        advance(
            case,
            rt.SubmitApplicantTask(task_id, updates, confirmed=bool(confirmed), actor=str(actor.pk)),
            changes,
            actor_id=actor.pk,
        )
    except IllegalEvent as exc:
        raise Conflict(exc.message) from exc
    except NoBranchMatched as exc:
        raise InvalidInput(f"the case cannot be routed: {exc.message}", code="no_branch_matched") from exc
    changes.decided[(case.pk, task_id)] = Decision(outcome="done", decided_by_id=actor.pk)
    changes.event(
        Action.APPLICANT_TASK_COMPLETED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task_id,
        node=node.id,
        fields=sorted(updates),
        confirmed=bool(confirmed),
        documents={d.spec.id: [row.sha256 for row in d.files] for d in documents},
    )
    changes.flush()
    return case
