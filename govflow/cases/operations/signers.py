"""加签 and 减签: the reviewer of a task adds a department that must approve
before their decision can be made (前加签) or after their approval, before
it counts (后加签); the reviewer, or the head of the task's department,
removes an added signer who has not decided yet.

An added signer's task is a review task of the same step in the added
department's inbox. Its approval clears the way (before) or counts toward
the held approval (after); its refusal decides the step as rejected. The
reviewer cannot decide while a signer added before is pending (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.audit.actions import Action
from govflow.engine import runtime as rt
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound

from .. import events, task_status
from ..bridge import Changes, advance, load_state
from ..models import Case, Task
from ..task_locks import lock_task
from .common import claim_for, engine_refusals, lock_live_task, reason

POSITIONS = ("before", "after")


@dataclass(frozen=True)
class AddedSigner:
    position: str
    department: Department
    task: Task | None  # None: a department still to sign after the reviewer's approval


def added_signers(*, case: Case, task: Task) -> list[AddedSigner]:
    """The signers added to `task` that have not decided (before its decision, or held after it)."""
    state = load_state(case) if case.state is not None else None
    if state is None:
        return []
    mine = state["tasks"].get(task.engine_id, {})
    rows = {
        t.engine_id: t
        for t in Task.objects.filter(case=case, status__in=["open", "claimed"]).select_related("department")
    }
    found = []
    for engine_id, info in state["tasks"].items():
        added = info.get("added")
        if added and added["for"] == task.engine_id and engine_id in rows:
            found.append(AddedSigner(added["position"], rows[engine_id].department, rows[engine_id]))
    codes = mine.get("after", [])
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    found += [AddedSigner("after", departments[code], None) for code in codes if code in departments]
    return found


@transaction.atomic
def task_add_signer(
    *,
    task_id: int,
    actor,
    department: str,
    position: str,
    opinion: str = "",
    to_user=None,
    now: datetime | None = None,
) -> Task:
    """Add `department` as a signer before or after the actor's decision of
    the task (which becomes the actor's if nobody held it). With `to_user`
    (a member of that department; a signer added before only) the added
    task is that person's, as DingTalk adds a person."""
    now = now or timezone.now()
    case, task, _is_head = lock_live_task(task_id, actor)
    if position not in POSITIONS:
        raise InvalidInput("a signer is added before or after", fields={"position": ["before or after"]})
    opinion = reason(opinion, required=False)
    target = Department.objects.filter(code=department).first() if isinstance(department, str) else None
    if target is None:
        raise InvalidInput("choose a department", fields={"department": ["unknown department"]})
    if to_user is not None and position != "before":
        raise InvalidInput(
            "a person can be named for a signer added before; one added after is asked "
            "through the department",
            fields={"to_user": ["only before"]},
        )
    if to_user is not None and not Membership.objects.filter(user=to_user, department=target).exists():
        raise InvalidInput("the signer must belong to the department", fields={"to_user": ["not a member"]})
    if to_user is not None and to_user.pk == case.applicant_id:
        raise InvalidInput(
            "the applicant cannot sign their own case", fields={"to_user": ["is the applicant"]}
        )
    if target.pk == task.department_id:
        raise InvalidInput(
            "add a signer of another department (a colleague can be handed the task instead)",
            fields={"department": ["the task's own department"]},
        )
    changes = Changes(now=now)
    with engine_refusals(field="department"):
        advance(
            case,
            rt.AddSigner(task.engine_id, target.code, position, actor=str(actor.pk)),
            changes,
            actor_id=actor.pk,
        )
    if task.assignee_id != actor.pk:
        claim_for(task, actor, now)
        task_status.save_holder(task)
    if to_user is not None:
        state = case.state or {}
        for engine_id, info in state.get("tasks", {}).items():
            added = info.get("added")
            if added and added["for"] == task.engine_id and info["department"] == target.code:
                created = changes.created.get((case.pk, engine_id))
                if created is not None:
                    claim_for(created, to_user, now)
    changes.event(
        Action.TASK_SIGNER_ADDED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        department=target.pk,
        position=position,
        opinion=opinion,
        to_user=to_user.pk if to_user is not None else None,
    )
    changes.happened(events.SignerChanged(case, task, target.pk, position, True, actor_id=actor.pk))
    changes.flush()
    return task


@transaction.atomic
def task_remove_signer(
    *,
    task_id: int,
    actor,
    signer_task_id: int | None = None,
    department: str | None = None,
    now: datetime | None = None,
) -> Task:
    """Remove a signer added to task `task_id`: an added signer's task
    (`signer_task_id`) not yet decided, or a department still to sign after
    (`department`). The task's holder (or its decider, while its approval
    waits for signers added after it) or the department's head may."""
    now = now or timezone.now()
    case, task, membership = lock_task(task_id, actor)
    if task.assignee_id != actor.pk and task.decided_by_id != actor.pk and not membership.is_head:
        raise Forbidden("only the reviewer who added the signer, or the department head, can remove one")
    state = load_state(case) or {"tasks": {}}
    if signer_task_id is not None:
        signer = Task.objects.filter(case=case, pk=signer_task_id).first()
        info = state["tasks"].get(signer.engine_id, {}).get("added") if signer is not None else None
        if signer is None or info is None or info["for"] != task.engine_id:
            raise NotFound("no such added signer on this task")
        what, department_id, position = signer.engine_id, signer.department_id, info["position"]
    elif department:
        found = Department.objects.filter(code=department).first()
        if found is None or department not in state["tasks"].get(task.engine_id, {}).get("after", ()):
            raise NotFound("no such added signer on this task")
        what, department_id, position = department, found.pk, "after"
    else:
        raise InvalidInput("name the signer to remove", fields={"signer": ["required"]})
    # An approval held for signers added after it: the engine's task is the signer's own.
    engine_task = task.engine_id if task.engine_id in state["tasks"] else what
    if engine_task not in state["tasks"]:
        raise Conflict("this signer has already decided")
    changes = Changes(now=now)
    with engine_refusals():
        advance(case, rt.RemoveSigner(engine_task, what, actor=str(actor.pk)), changes, actor_id=actor.pk)
    changes.event(
        Action.TASK_SIGNER_REMOVED,
        case,
        actor_id=actor.pk,
        object_type="task",
        object_id=task.engine_id,
        node=task.node_id,
        department=department_id,
        position=position,
    )
    changes.happened(events.SignerChanged(case, task, department_id, position, False, actor_id=actor.pk))
    changes.flush()
    return task
