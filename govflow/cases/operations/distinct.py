"""审批人去重: what happens when a person who decided an earlier step of a
case is to take (claim, be handed) or decide a later one, by the template's
`repeat_signer` (govflow.engine.repeat_signers): by default (`refuse`, the
older `distinct_signers: true`) a colleague decides it; `auto_approve` and
`auto_approve_consecutive` approve it automatically in their name, with a
note on the case's timeline (as DingTalk does); `allow` lets them decide it. A step decided again (after a
return or a take-back) is not a repeat; a countersign's `distinct_people`
keeps two signatures of one step apart, and refuses a repeat signer of a
signature. Callers hold the case lock, so two claims at once see each other's
decisions."""

from __future__ import annotations

from govflow.accounts.models import Department
from govflow.engine.definition import Definition
from govflow.engine.repeat_signers import (
    REFUSE,
    RepeatSigner,
    Signed,
    approvable_automatically,
    repeat_signer,
)
from govflow.errors import Conflict
from govflow.processes.services import version_definition

from ..models import NOT_A_DECISION, SIGNING_KINDS, Case, Task, TaskKind, TaskStatus

# The API's code for a decision other than the automatic approval.
REPEAT_SIGNER_CODE = "repeat_signer"


def repeat_signer_of(case: Case, task: Task, person_id: int) -> RepeatSigner | None:
    """What the template's `repeat_signer` does with `person_id` on `task`
    (None: they sign as anyone would)."""
    # Read with the case's lock (govflow.cases.rows): good for the first
    # question after the lock only, so taken off the case here.
    rows = case.__dict__.pop("signed_rows", None)
    if task.kind not in SIGNING_KINDS:
        return None
    definition = version_definition(case.version)
    node = definition.nodes.get(task.node_id)
    if node is None or definition.repeat_signer == "allow":
        return None
    engine_task = (case.state or {}).get("tasks", {}).get(task.engine_id) or {}
    if engine_task.get("added"):
        return None  # an added signer (加签) is asked on purpose
    if rows is None:
        rows = _signed(case)
    decided = [Signed(node_id, str(person)) for node_id, person, _at in rows]
    before = [Signed(node_id, str(person)) for node_id, person, at in rows if at <= task.created_at]
    sign = node.countersign
    return repeat_signer(
        definition.repeat_signer,
        node=task.node_id,
        person=str(person_id),
        decided=decided,
        last=before[-1] if before else None,
        can_approve=approvable_automatically(definition, node),
        distinct_signature=_two_person_check(task, sign),
    )


def _signed(case: Case) -> list:
    return list(
        Task.objects.filter(case_id=case.pk, kind__in=SIGNING_KINDS, status=TaskStatus.COMPLETED)
        .exclude(outcome__in=NOT_A_DECISION)
        .exclude(decided_by_id=None)
        .order_by("completed_at", "id")
        .values_list("node_id", "decided_by_id", "completed_at")
    )


def _two_person_check(task: Task, sign) -> bool:
    """双人审核: the task is a signature of a department the countersign
    names more than once, each signed by a different person."""
    if task.kind != TaskKind.SIGNATURE or sign is None or not sign.distinct_people:
        return False
    doubled = {code for code in sign.signers if sign.signers.count(code) > 1}
    return bool(doubled) and Department.objects.filter(pk=task.department_id, code__in=doubled).exists()


def refuse_repeat_signer(case: Case, task: Task, person_id: int) -> RepeatSigner | None:
    """Refuse `person_id` taking or deciding `task` where the template wants
    another person; else what happens (an automatic approval, or None)."""
    repeat = repeat_signer_of(case, task, person_id)
    if repeat is None or repeat.action != REFUSE:
        return repeat
    title = version_definition(case.version).nodes[repeat.earlier].title.get("en", repeat.earlier)
    raise Conflict(
        "this case needs a different person for each step (repeat_signer, 审批人去重): "
        f"the same person has already decided another step of it ({title})",
        code="distinct_signers",
    )


def repeat_note(definition: Definition, repeat: RepeatSigner) -> str:
    """The opinion an automatic approval carries, shown on the case's
    timeline (a stored opinion, in the office's language)."""
    earlier = definition.nodes[repeat.earlier].label("zh")
    return f"审批人去重：同一审批人已审批本案「{earlier}」环节，本环节自动同意。"


__all__ = ["REPEAT_SIGNER_CODE", "RepeatSigner", "refuse_repeat_signer", "repeat_note", "repeat_signer_of"]
