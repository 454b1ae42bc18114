"""Audit events for things Django, not a govflow service, does: logins and
failed logins, and changes to who may do what (group membership, user and
group permissions, object permissions, department membership and heads,
superuser/staff/active flags, passwords), however they are made (admin,
shell, a command). The acting user and source IP come from the request's
audit context (govflow.audit.context) where there is one.

Receivers only record; they decide nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from govflow.accounts.models import Department, Membership
from govflow.security.client import client_ip

from .actions import Action
from .context import current as current_context
from .services import PendingAudit, audit_write

USER_FLAGS = ("is_superuser", "is_staff", "is_active")
MAX_USERNAME = 150


def record(
    action: str,
    *,
    object_type: str,
    object_id: Any,
    actor_id: int | None = None,
    outcome: str = "ok",
    source_ip: str | None = None,
    **data: Any,
) -> None:
    if actor_id is None:
        actor_id = current_context().actor_id
    with transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action=action,
                    at=timezone.now(),
                    actor_id=actor_id,
                    object_type=object_type,
                    object_id=str(object_id),
                    outcome=outcome,
                    source_ip=source_ip,
                    data=data,
                )
            ]
        )


# -- logins -------------------------------------------------------------------


def _ip(request) -> str | None:
    return client_ip(request) if request is not None and hasattr(request, "META") else None


def on_logged_in(sender, request, user, **kwargs) -> None:
    record(
        Action.LOGIN_SUCCEEDED,
        object_type="user",
        object_id=user.pk,
        actor_id=user.pk,
        source_ip=_ip(request),
    )


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    record(Action.LOGGED_OUT, object_type="user", object_id=user.pk, actor_id=user.pk, source_ip=_ip(request))


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """Never the password: only the name tried (cut short) and whether the
    account is locked out (django-axes marks the request)."""
    username = str((credentials or {}).get("username") or "")[:MAX_USERNAME]
    user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    locked = bool(getattr(request, "axes_locked_out", False))
    record(
        Action.LOGIN_FAILED,
        object_type="user",
        object_id=user_id if user_id is not None else "",
        actor_id=None,
        outcome="locked_out" if locked else "failed",
        source_ip=_ip(request),
        username=username,
        locked_out=locked,
    )


# -- roles and permissions ----------------------------------------------------------


def _names(model, pks) -> list[str]:
    if model is Permission:
        return sorted(
            f"{app}.{codename}"
            for app, codename in Permission.objects.filter(pk__in=pks).values_list(
                "content_type__app_label", "codename"
            )
        )
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(str(pk) for pk in pks)


def _m2m_receiver(*, granted: str, revoked: str, owner_type: str, field: str):
    """A receiver for one many-to-many relation (user.groups,
    user.user_permissions, group.permissions), forward or reverse."""

    def receiver(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
        if action == "pre_clear":
            # Remember what is about to go; post_clear names it.
            manager = getattr(instance, _reverse_name(sender, instance) if reverse else field)
            instance._govflow_cleared = {field: set(manager.values_list("pk", flat=True))}
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action == "post_clear":
            pk_set = (getattr(instance, "_govflow_cleared", None) or {}).get(field, set())
        if not pk_set:
            return
        name = granted if action == "post_add" else revoked
        if not reverse:
            record(name, object_type=owner_type, object_id=instance.pk, **{field: _names(model, pk_set)})
            return
        # group.user_set.add(u1, u2): one event per user (owner side)
        for pk in sorted(pk_set):
            record(
                name, object_type=owner_type, object_id=pk, **{field: _names(type(instance), [instance.pk])}
            )

    return receiver


def _reverse_name(through, instance) -> str:
    for relation in type(instance)._meta.related_objects:
        if relation.many_to_many and relation.through is through:
            return relation.get_accessor_name()
    raise LookupError(through)  # pragma: no cover - Django's own relations always resolve


def _user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        instance._govflow_before = None
        return
    watched = (*USER_FLAGS, "password")
    if update_fields is not None and not set(update_fields) & set(watched):
        instance._govflow_before = None
        return
    instance._govflow_before = sender.objects.filter(pk=instance.pk).values(*watched).first()


def _user_post_save(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        record(
            Action.USER_CREATED,
            object_type="user",
            object_id=instance.pk,
            username=instance.get_username(),
            **{flag: getattr(instance, flag) for flag in USER_FLAGS},
        )
        return
    before = getattr(instance, "_govflow_before", None)
    instance._govflow_before = None
    if not before:
        return
    changed = {
        flag: [before[flag], getattr(instance, flag)]
        for flag in USER_FLAGS
        if before[flag] != getattr(instance, flag)
    }
    if changed:
        record(Action.USER_PRIVILEGES_CHANGED, object_type="user", object_id=instance.pk, **changed)
    if before["password"] != instance.password:
        record(Action.PASSWORD_CHANGED, object_type="user", object_id=instance.pk)


def _membership_pre_save(sender, instance, raw=False, **kwargs) -> None:
    instance._govflow_before = (
        None
        if raw or instance.pk is None
        else sender.objects.filter(pk=instance.pk).values("department_id", "is_head", "user_id").first()
    )


def _department_code(department_id) -> str:
    return Department.objects.filter(pk=department_id).values_list("code", flat=True).first() or str(
        department_id
    )


def _membership_post_save(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    department = _department_code(instance.department_id)
    before = getattr(instance, "_govflow_before", None)
    instance._govflow_before = None
    if created or before is None:
        record(
            Action.MEMBERSHIP_ADDED,
            object_type="user",
            object_id=instance.user_id,
            department=department,
            is_head=instance.is_head,
        )
        return
    changes: dict[str, Any] = {}
    if before["department_id"] != instance.department_id:
        changes["department_from"] = _department_code(before["department_id"])
    if before["user_id"] != instance.user_id:
        changes["user_from"] = before["user_id"]
    if before["is_head"] != instance.is_head:
        changes["is_head"] = [before["is_head"], instance.is_head]
    if changes:
        action = Action.DEPARTMENT_HEAD_CHANGED if set(changes) == {"is_head"} else Action.MEMBERSHIP_CHANGED
        record(action, object_type="user", object_id=instance.user_id, department=department, **changes)


def _membership_post_delete(sender, instance, **kwargs) -> None:
    record(
        Action.MEMBERSHIP_REMOVED,
        object_type="user",
        object_id=instance.user_id,
        department=_department_code(instance.department_id),
        was_head=instance.is_head,
    )


def connect() -> None:
    user_model = get_user_model()
    user_logged_in.connect(on_logged_in, dispatch_uid="govflow.audit.logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="govflow.audit.logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="govflow.audit.login_failed")
    m2m_changed.connect(
        _m2m_receiver(
            granted=Action.ROLE_GRANTED, revoked=Action.ROLE_REVOKED, owner_type="user", field="groups"
        ),
        sender=user_model.groups.through,
        weak=False,
        dispatch_uid="govflow.audit.user_groups",
    )
    m2m_changed.connect(
        _m2m_receiver(
            granted=Action.PERMISSION_GRANTED,
            revoked=Action.PERMISSION_REVOKED,
            owner_type="user",
            field="permissions",
        ),
        sender=user_model.user_permissions.through,
        weak=False,
        dispatch_uid="govflow.audit.user_permissions",
    )
    m2m_changed.connect(
        _m2m_receiver(
            granted=Action.GROUP_PERMISSION_GRANTED,
            revoked=Action.GROUP_PERMISSION_REVOKED,
            owner_type="group",
            field="permissions",
        ),
        sender=Group.permissions.through,
        weak=False,
        dispatch_uid="govflow.audit.group_permissions",
    )
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="govflow.audit.user_pre_save")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="govflow.audit.user_post_save")

    pre_save.connect(_membership_pre_save, sender=Membership, dispatch_uid="govflow.audit.membership_pre")
    post_save.connect(_membership_post_save, sender=Membership, dispatch_uid="govflow.audit.membership_post")
    post_delete.connect(
        _membership_post_delete, sender=Membership, dispatch_uid="govflow.audit.membership_del"
    )
