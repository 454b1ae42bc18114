"""Deciding as a reviewer does: claim (签收) the task, then decide it.

Templates require the claim by default (`claim_required`); tests that are
about something else than claiming decide through `claim_and_complete`.
"""

from __future__ import annotations

from typing import Any

from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import task_claim, task_complete


def claim(task_id: int, actor, now=None) -> None:
    """Claim the task for `actor` when nobody holds it yet."""
    if Task.objects.filter(pk=task_id, status=TaskStatus.OPEN).exists():
        task_claim(task_id=task_id, actor=actor, now=now)


def claim_and_complete(*, task_id: int, actor, now=None, **decision: Any) -> Task:
    """task_complete after claiming the task (when it is open) for the actor."""
    claim(task_id, actor, now)
    task = Task.objects.get(pk=task_id)
    repeat = task.status == TaskStatus.COMPLETED and task.decided_by_id == actor.pk
    if repeat and decision.get("outcome") == "approve":
        return task  # 审批人去重: the claim approved it in the actor's name (repeat_signer)
    return task_complete(task_id=task_id, actor=actor, now=now, **decision)


def claim_and_return(*, task_id: int, actor, now=None, **kwargs: Any) -> Task:
    """退回 after claiming the task (when it is open) for the actor."""
    from govflow.cases.operations.returns import task_return

    claim(task_id, actor, now)
    return task_return(task_id=task_id, actor=actor, now=now, **kwargs)


def claim_and_add_signer(*, task_id: int, actor, now=None, **kwargs: Any) -> Task:
    """加签 after claiming the task (when it is open) for the actor."""
    from govflow.cases.operations.signers import task_add_signer

    claim(task_id, actor, now)
    return task_add_signer(task_id=task_id, actor=actor, now=now, **kwargs)
