"""审批人去重: where the template says `distinct_signers: true`, no person
decides two different steps of one case. A step decided again (after a
return or a take-back) may be decided by the same person; a countersign's
`distinct_people` keeps two signatures of one step apart."""

from __future__ import annotations

from govflow.errors import Conflict
from govflow.processes.services import version_definition

from ..models import Case, Task, TaskKind, TaskStatus

SIGNING_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE)
NOT_A_DECISION = ("taken_back", "returned")


def refuse_repeat_signer(case: Case, task: Task, person_id: int) -> None:
    """Refuse `person_id` taking or deciding `task` when they decided another step of the case."""
    if task.kind not in SIGNING_KINDS or not version_definition(case.version).distinct_signers:
        return
    decided_elsewhere = (
        Task.objects.filter(
            case_id=case.pk, kind__in=SIGNING_KINDS, status=TaskStatus.COMPLETED, decided_by_id=person_id
        )
        .exclude(node_id=task.node_id)
        .exclude(outcome__in=NOT_A_DECISION)
        .exists()
    )
    if decided_elsewhere:
        raise Conflict(
            "this case needs a different person for each step (distinct_signers): "
            "the same person has already decided another step of it",
            code="distinct_signers",
        )
