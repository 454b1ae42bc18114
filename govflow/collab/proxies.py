"""代理, 离职交接, 常用意见 and 批量审批: the only writers of proxies and saved
opinions; reassignment and batch approval go through the case services
(`task_handover`, `task_complete`), so each task is locked, checked and
audited as if done one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from govflow.accounts.models import Membership
from govflow.audit.actions import Action
from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import task_claim, task_complete, task_handover
from govflow.errors import Conflict, Forbidden, GovflowError, InvalidInput, NotFound
from govflow.processes.services import version_definition

from .common import STAFF_KINDS, audit, now_or, text
from .models import Delegation, Proxy, RequestStatus, SavedOpinion

MAX_SAVED_OPINIONS = 50
MAX_BATCH = 50


def _shared_departments(a, b) -> set[int]:
    mine = set(Membership.objects.filter(user=a).values_list("department_id", flat=True))
    return mine & set(Membership.objects.filter(user=b).values_list("department_id", flat=True))


# -- 代理 -----------------------------------------------------------------------


@transaction.atomic
def proxy_appoint(
    *,
    actor,
    principal,
    proxy,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> Proxy:
    """Name an acting officer for `principal` from `starts_at` to `ends_at`:
    the principal themself, or a head of one of the principal's departments.
    The proxy must work in a department with the principal; during the
    window they act on the tasks the principal holds there."""
    now = now_or(now)
    if actor.pk != principal.pk:
        heads = Membership.objects.filter(user=actor, is_head=True).values_list("department_id", flat=True)
        if not Membership.objects.filter(user=principal, department_id__in=list(heads)).exists():
            raise Forbidden("only the reviewer or their department head can name an acting officer")
    if proxy is None or proxy.pk == principal.pk or not proxy.is_active:
        raise InvalidInput("choose a colleague as acting officer", fields={"proxy": ["not a colleague"]})
    if not _shared_departments(principal, proxy):
        raise InvalidInput(
            "the acting officer must work in a department with the reviewer",
            fields={"proxy": ["not a colleague"]},
        )
    if ends_at <= starts_at or ends_at <= now:
        raise InvalidInput(
            "the period must end after it starts, and in the future", fields={"ends_at": ["too early"]}
        )
    overlapping = Proxy.objects.select_for_update().filter(
        principal=principal, cancelled_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlapping.exists():
        raise Conflict("an acting officer is already named for part of this period", code="proxy_overlaps")
    record = Proxy.objects.create(
        principal=principal,
        proxy=proxy,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=text(reason, "reason", required=False, limit=200),
        created_by=actor,
        created_at=now,
    )
    audit(
        Action.PROXY_APPOINTED,
        actor,
        now,
        case_id=None,
        object_type="proxy",
        object_id=record.pk,
        principal=principal.pk,
        proxy=proxy.pk,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
    )
    return record


@transaction.atomic
def proxy_cancel(*, proxy_id: int, actor, now: datetime | None = None) -> Proxy:
    now = now_or(now)
    record = Proxy.objects.select_for_update().filter(pk=proxy_id).first()
    if record is None:
        raise NotFound("acting officer not found")
    if actor.pk not in (record.principal_id, record.created_by_id, record.proxy_id):
        heads = Membership.objects.filter(user=actor, is_head=True).values_list("department_id", flat=True)
        if not Membership.objects.filter(user_id=record.principal_id, department_id__in=list(heads)).exists():
            raise NotFound("acting officer not found")
    if record.cancelled_at is None and record.ends_at > now:
        record.cancelled_at = now
        record.save(update_fields=["cancelled_at"])
        audit(
            Action.PROXY_CANCELLED,
            actor,
            now,
            case_id=None,
            object_type="proxy",
            object_id=record.pk,
            principal=record.principal_id,
            proxy=record.proxy_id,
        )
    return record


# -- 离职交接 -----------------------------------------------------------------------


@transaction.atomic
def tasks_reassign(
    *, actor, department_id: int, from_user, to_user, now: datetime | None = None
) -> list[int]:
    """A head gives every task a leaving reviewer holds in the department,
    and the delegations they were asked to answer there, to a colleague in
    one step (each task handed over and audited, then one summary event)."""
    now = now_or(now)
    head = Membership.objects.filter(user=actor, department_id=department_id, is_head=True).exists()
    if not head:
        raise Forbidden("only the department head can reassign a reviewer's tasks")
    if not Membership.objects.filter(user=from_user, department_id=department_id).exists():
        raise InvalidInput(
            "the reviewer does not work in this department", fields={"from_user": ["not a member"]}
        )
    if to_user is None or to_user.pk == from_user.pk:
        raise InvalidInput("choose another colleague", fields={"to_user": ["same person"]})
    held = list(
        Task.objects.filter(
            assignee=from_user, department_id=department_id, status=TaskStatus.CLAIMED, kind__in=STAFF_KINDS
        )
        .order_by("case_id", "pk")
        .values_list("pk", flat=True)
    )
    for task_id in held:
        task_handover(task_id=task_id, actor=actor, to_user=to_user, now=now)
    delegations = list(
        Delegation.objects.select_for_update()
        .filter(delegate=from_user, status=RequestStatus.OPEN, task__department_id=department_id)
        .values_list("pk", flat=True)
    )
    Delegation.objects.filter(pk__in=delegations).update(delegate=to_user)
    audit(
        Action.TASKS_REASSIGNED,
        actor,
        now,
        case_id=None,
        object_type="user",
        object_id=from_user.pk,
        department=department_id,
        to_user=to_user.pk,
        tasks=held,
        delegations=delegations,
    )
    return held


# -- 常用意见 ---------------------------------------------------------------------


def opinion_save(*, actor, text_value: str, now: datetime | None = None) -> SavedOpinion:
    value = text(text_value, "text", required=True, limit=500, message="write the opinion to keep")
    if SavedOpinion.objects.filter(user=actor).count() >= MAX_SAVED_OPINIONS:
        raise Conflict(
            f"keep at most {MAX_SAVED_OPINIONS} opinions; delete one first", code="too_many_opinions"
        )
    try:
        with transaction.atomic():
            return SavedOpinion.objects.create(user=actor, text=value, created_at=now_or(now))
    except IntegrityError:
        return SavedOpinion.objects.get(user=actor, text=value)


def opinion_delete(*, actor, opinion_id: int) -> None:
    deleted, _ = SavedOpinion.objects.filter(pk=opinion_id, user=actor).delete()
    if not deleted:
        raise NotFound("opinion not found")


# -- 批量审批 ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    task_id: int
    ok: bool
    error: str = ""
    code: str = ""


def tasks_approve_batch(
    *, actor, task_ids: list[int], opinion: str = "", now: datetime | None = None
) -> list[BatchResult]:
    """Approve several tasks of one node of one service at once, where the
    template says `batch: true`. Each task is decided by `task_complete` in
    its own transaction: one refused (a colleague got there first, a
    consultation still open) does not stop the others."""
    now = now_or(now)
    ids = list(dict.fromkeys(int(t) for t in task_ids))
    if not ids or len(ids) > MAX_BATCH:
        raise InvalidInput(f"choose 1 to {MAX_BATCH} tasks", fields={"tasks": ["1 to 50"]})
    tasks = list(
        Task.objects.filter(pk__in=ids, department__memberships__user=actor).select_related(
            "case__template", "case__version"
        )
    )
    if len(tasks) != len(ids):
        raise NotFound("task not found")
    if len({(t.case.template_id, t.node_id) for t in tasks}) != 1:
        raise InvalidInput(
            "batch approval takes tasks of one step of one service", fields={"tasks": ["mixed"]}
        )
    for task in tasks:
        node = version_definition(task.case.version).nodes.get(task.node_id)
        if node is None or not node.settings.get("batch"):
            raise InvalidInput("this step does not allow batch approval", fields={"tasks": ["not batch"]})
    results: list[BatchResult] = []
    for task in sorted(tasks, key=lambda t: (t.case_id, t.pk)):
        try:
            # Choosing a task for a batch approval signs for it (签收) too.
            with transaction.atomic():
                if task.status == TaskStatus.OPEN:
                    task_claim(task_id=task.pk, actor=actor, now=now)
                task_complete(task_id=task.pk, actor=actor, outcome="approve", opinion=opinion, now=now)
        except GovflowError as exc:
            results.append(BatchResult(task.pk, False, exc.message, exc.code))
        else:
            results.append(BatchResult(task.pk, True))
    audit(
        Action.TASKS_BATCH_APPROVED,
        actor,
        now,
        case_id=None,
        object_type="node",
        object_id=tasks[0].node_id,
        service=tasks[0].case.template.code,
        approved=[r.task_id for r in results if r.ok],
        refused=[r.task_id for r in results if not r.ok],
    )
    return results
