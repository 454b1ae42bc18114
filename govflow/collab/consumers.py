"""Outbox consumers: tell people about delegations, consultations, copies
and urges (in the app and by e-mail, once per key; retried by the outbox),
and copy a decided task as its node's `cc:` says."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from govflow.cases.models import Task
from govflow.notifications.models import NotificationKind
from govflow.notifications.services import notification_send
from govflow.outbox.services import consumer

from .common import NOTIFY_TOPIC
from .copies import COPY_TOPIC, copies_for_decision
from .guards import active_proxy_of
from .models import Consultation, Delegation, ExtensionRequest, ExtensionStatus, Urge

SUBJECTS = {
    NotificationKind.URGED: "催办 / A step of a case is urged",
    NotificationKind.DELEGATED: "委派给您的审批 / A task delegated to you",
    NotificationKind.DELEGATION_ANSWERED: "委派意见已返回 / The delegated opinion is back",
    NotificationKind.CONSULTATION_REQUESTED: "会商征求意见 / Your department's opinion is asked",
    NotificationKind.CONSULTATION_ANSWERED: "会商意见已回复 / A consulted department answered",
    NotificationKind.CONSULTATION_LAPSED: "会商意见逾期未复 / A consultation's limit has passed",
    NotificationKind.COPIED: "抄送 / A case copied to you",
    NotificationKind.EXTENSION_REQUESTED: "延期待审批 / An extension to approve",
    NotificationKind.EXTENSION_ANSWERED: "延期申请已答复 / Your extension request was answered",
}


def _link(name: str, *args) -> str:
    return settings.GOVFLOW_PUBLIC_BASE_URL + reverse(name, args=args)


def _local(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


def _send(key: str, kind: str, users, body: str, case_id: int, now) -> None:
    notification_send(
        key=key, kind=kind, users=users, subject=SUBJECTS[kind], body=body, case_id=case_id, now=now
    )


def _holders(task, now) -> list:
    """Who has the task: its holder and their acting officer, else the department."""
    User = get_user_model()
    if task.assignee_id is not None:
        ids = [task.assignee_id]
        proxy = active_proxy_of(task.assignee_id, now=now)
        if proxy is not None:
            ids.append(proxy.proxy_id)
        return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
    return list(
        User.objects.filter(memberships__department_id=task.department_id, is_active=True).order_by("pk")
    )


@consumer(NOTIFY_TOPIC)
def notify(payload: dict[str, Any], key: str) -> None:
    what = payload.get("what")
    User = get_user_model()
    if what == "urged":
        urge = Urge.objects.select_related("task__department", "case").filter(pk=payload.get("urge")).first()
        if urge is None:
            return
        task, case = urge.task, urge.case
        who = {"applicant": "申请人", "head": "部门负责人", "leader": "领导"}[urge.role]
        body = (
            f"{case.reference} 的“{task.node_id}”环节被{who}催办，请尽快办理。"
            + (f"\n{urge.note}" if urge.note else "")
            + f"\nCase {case.reference}: the step '{task.node_id}' was urged by the {urge.role}.\n"
            + _link("web:case", case.reference)
            + "\n"
        )
        _send(key, NotificationKind.URGED, _holders(task, urge.created_at), body, case.pk, urge.created_at)
    elif what in ("delegated", "delegation_answered"):
        d = Delegation.objects.select_related("task", "case").filter(pk=payload.get("delegation")).first()
        if d is None:
            return
        if what == "delegated":
            users = User.objects.filter(pk=d.delegate_id)
            body = (
                f"{d.case.reference} 委派给您办理，请回复意见。{d.note}\n"
                f"Case {d.case.reference} was delegated to you.\n"
            )
            when = d.created_at
            link = _link("collab:requests")
            kind = NotificationKind.DELEGATED
        else:
            users = User.objects.filter(pk__in={d.delegated_by_id, d.task.assignee_id} - {None})
            body = (
                f"{d.case.reference} 的委派意见已返回：{d.opinion}\n"
                f"The delegated opinion on {d.case.reference} is back.\n"
            )
            when = d.answered_at
            link = _link("web:case", d.case.reference)
            kind = NotificationKind.DELEGATION_ANSWERED
        _send(key, kind, users.order_by("pk"), body + link + "\n", d.case_id, when)
    elif what in ("consultation_requested", "consultation_answered", "consultation_lapsed"):
        c = (
            Consultation.objects.select_related("task", "case", "department")
            .filter(pk=payload.get("id"))
            .first()
        )
        if c is None:
            return
        if what == "consultation_requested":
            users = User.objects.filter(memberships__department=c.department, is_active=True)
            body = (
                f"{c.case.reference} 征求{c.department.name_zh}意见，请于 {_local(c.due_at)}"
                f"{'（预计）' if c.due_provisional else ''} 前回复：{c.question}\n"
                f"Case {c.case.reference}: {c.department.code}'s opinion is asked by {_local(c.due_at)}.\n"
                + _link("collab:requests")
            )
            kind, when = NotificationKind.CONSULTATION_REQUESTED, c.created_at
        elif what == "consultation_lapsed":
            heads = User.objects.filter(
                memberships__department=c.department, memberships__is_head=True, is_active=True
            )
            askers = User.objects.filter(pk__in={c.requested_by_id, c.task.assignee_id} - {None})
            lapsed = c.lapsed_at or timezone.now()
            _send(
                key + ":asker",
                NotificationKind.CONSULTATION_LAPSED,
                askers.order_by("pk"),
                f"{c.case.reference}：征求{c.department.name_zh}意见已于 {_local(c.due_at)} 到期，"
                f"未收到回复，可以作出决定。\n"
                f"Case {c.case.reference}: {c.department.code} did not answer by {_local(c.due_at)}; "
                f"the task may now be decided.\n" + _link("web:case", c.case.reference) + "\n",
                c.case_id,
                lapsed,
            )
            _send(
                key + ":heads",
                NotificationKind.CONSULTATION_LAPSED,
                heads.order_by("pk"),
                f"{c.case.reference} 征求贵部门的意见已于 {_local(c.due_at)} 到期，尚未回复。\n"
                f"Case {c.case.reference}: your department's opinion was due by {_local(c.due_at)}.\n"
                + _link("collab:requests")
                + "\n",
                c.case_id,
                lapsed,
            )
            return
        else:
            users = User.objects.filter(pk__in={c.requested_by_id, c.task.assignee_id} - {None})
            body = (
                f"{c.case.reference}：{c.department.name_zh}已回复会商意见：{c.opinion}\n"
                f"Case {c.case.reference}: {c.department.code} answered.\n"
                + _link("web:case", c.case.reference)
            )
            kind, when = NotificationKind.CONSULTATION_ANSWERED, c.answered_at
        _send(key, kind, users.order_by("pk"), body + "\n", c.case_id, when)
    elif what in ("extension_requested", "extension_answered"):
        e = (
            ExtensionRequest.objects.select_related("task", "case")
            .filter(pk=payload.get("extension"))
            .first()
        )
        if e is None:
            return
        if what == "extension_requested":
            users = User.objects.filter(
                memberships__department_id=e.task.department_id, memberships__is_head=True, is_active=True
            ).exclude(pk=e.case.applicant_id)
            body = (
                f"{e.case.reference} 的审查期限申请延长，请审批。理由：{e.reason}\n"
                f"Case {e.case.reference}: an extension of the time limit waits for your approval.\n"
                + _link("collab:requests")
            )
            kind, when = NotificationKind.EXTENSION_REQUESTED, e.created_at
        else:
            users = User.objects.filter(pk=e.requested_by_id)
            approved = e.status == ExtensionStatus.APPROVED
            due = f"，新的期限 {_local(e.due_after)}" if approved and e.due_after else ""
            body = (
                f"{e.case.reference} 的延期申请{'已批准' + due if approved else '未获批准：' + e.answer}\n"
                f"Case {e.case.reference}: the extension was {'approved' if approved else 'refused'}.\n"
                + _link("web:case", e.case.reference)
            )
            kind, when = NotificationKind.EXTENSION_ANSWERED, e.decided_at
        _send(key, kind, users.order_by("pk"), body + "\n", e.case_id, when)
    elif what == "copied":
        task = Task.objects.select_related("case").filter(pk=payload.get("task")).first()
        if task is None:
            return
        users = User.objects.filter(pk__in=payload.get("users") or [], is_active=True).order_by("pk")
        body = (
            f"{task.case.reference} 抄送给您（只读）。\n"
            f"Case {task.case.reference} was copied to you (read only).\n" + _link("collab:copies") + "\n"
        )
        _send(key, NotificationKind.COPIED, users, body, task.case_id, timezone.now())


@consumer(COPY_TOPIC)
def copy_decided(payload: dict[str, Any], key: str) -> None:
    copies_for_decision(
        case_id=payload["case"], engine_id=payload["task"], actor_id=payload.get("actor"), now=timezone.now()
    )
