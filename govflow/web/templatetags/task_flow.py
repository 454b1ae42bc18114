"""The decision panel's 退回 / 转办 / 加签 / 减签 block for one live task, and
the 撤回 block for the decisions the viewer may still take back. Reads only;
each action is offered only when it is legal."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template

from govflow.accounts.models import Department, Membership
from govflow.cases.models import Task, TaskKind, TaskStatus
from govflow.cases.operations.returns import task_return_targets
from govflow.cases.operations.signers import AddedSigner, added_signers
from govflow.cases.operations.take_back import take_back_refusal
from govflow.cases.operations.transfer import transfer_departments
from govflow.processes.services import version_definition
from govflow.web.views.common import lang

register = template.Library()


@dataclass
class FlowPanel:
    task: Task
    returns: list[tuple[str, str]] = field(default_factory=list)  # (node id, title)
    departments: list[Department] = field(default_factory=list)
    signer_departments: list[Department] = field(default_factory=list)
    signers: list[AddedSigner] = field(default_factory=list)
    may_act: bool = False
    may_remove: bool = False
    is_added: bool = False


@register.inclusion_tag("inbox/_flow.html", takes_context=True)
def task_flow_panel(context, task, is_head=False):
    request = context["request"]
    user = request.user
    case = task.case
    panel = FlowPanel(task)
    state_task = (case.state or {}).get("tasks", {}).get(task.engine_id, {})
    panel.is_added = bool(state_task.get("added"))
    panel.may_act = (
        task.is_live
        and case.applicant_id != user.pk
        and (task.status == TaskStatus.OPEN or task.assignee_id == user.pk)
        and task.kind in (TaskKind.REVIEW, TaskKind.SIGNATURE)
    )
    if panel.may_act:
        definition = version_definition(case.version)
        language = lang()
        # 签收 first where the template asks: 退回 and 加签 decide, 转办 does not.
        unclaimed = task.status == TaskStatus.OPEN and definition.needs_claim(task.node_id)
        panel.returns = (
            []
            if unclaimed
            else [
                (node_id, definition.nodes[node_id].label(language))
                for node_id in task_return_targets(case=case, task=task)
            ]
        )
        panel.departments = transfer_departments(case=case, task=task)
        if not panel.is_added and not unclaimed:
            panel.signer_departments = list(
                Department.objects.filter(is_active=True).exclude(pk=task.department_id).order_by("code")
            )
    panel.signers = added_signers(case=case, task=task)
    panel.may_remove = bool(panel.signers) and (
        task.assignee_id == user.pk
        or bool(is_head)
        or Membership.objects.filter(user=user, department_id=task.department_id, is_head=True).exists()
    )
    return {"panel": panel, "request": request, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("inbox/_take_back.html", takes_context=True)
def take_back_panel(context, case):
    """The viewer's decisions on the case that can still be taken back."""
    request = context["request"]
    user = request.user
    mine = Task.objects.filter(
        case=case, decided_by=user, status=TaskStatus.COMPLETED, silent_consent=False
    ).exclude(outcome__in=["taken_back", "returned"])
    definition = version_definition(case.version) if mine else None
    rows = [
        (
            task,
            definition.nodes[task.node_id].label(lang())
            if task.node_id in definition.nodes
            else task.node_id,
        )
        for task in mine.order_by("-completed_at", "-pk")[:5]
        if take_back_refusal(case=case, task=task, user=user) is None
    ]
    return {"rows": rows, "request": request, "csrf_token": context.get("csrf_token")}
