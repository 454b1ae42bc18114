"""Who may do what: the one definition of each role, of "administrator", of
department membership and of clearance. Services, selectors, views and
templates ask here; none of them reads `is_superuser`, `is_staff` or a
group name itself.

- **Roles** are Django groups (`accounts.models.ROLES`). A role counts only
  for an active, signed-in user.
- **Administrator**: an active user who is a superuser or in the
  `process_admin` group. `is_staff` does not count: it only opens Django's
  own /admin/ site, where Django's model permissions decide what a staff
  member may touch; it grants nothing in govflow's pages, API or services.
- **Auditor**: the `auditor` group; an administrator is not an auditor by
  being one (who runs the system does not review its trail).
- **Department membership** (`Membership`) makes a user a reviewer of the
  department's tasks; `is_head` makes them its head.
- **Clearance**: a reviewer's departments read a template's secret fields
  unmasked only where the template clears them (`Definition.clearance_for`).

Per-object access (an applicant's own case, a department's tasks, the
catalogue's grants) is filtering in the selectors, not stored grants:
govflow has no object-permission table (docs/architecture.md, "Permissions").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from govflow.engine.definition import Definition

from .models import AUDITOR, INTEGRATION, LEADER, PROCESS_ADMIN, Department, Membership


def is_signed_in(user) -> bool:
    """An authenticated, active user (an inactive one is refused at login,
    but an object kept from before its deactivation can still reach here)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _group_names(user) -> frozenset[str]:
    # One query per user object (a request's user lives for the request).
    cached = getattr(user, "_govflow_groups", None)
    if cached is None:
        cached = user._govflow_groups = frozenset(user.groups.values_list("name", flat=True))
    return cached


def has_role(user, role: str) -> bool:
    return is_signed_in(user) and role in _group_names(user)


def is_admin(user) -> bool:
    """Superusers and process admins, active ones only."""
    return is_signed_in(user) and (user.is_superuser or PROCESS_ADMIN in _group_names(user))


def admins() -> QuerySet:
    """Every active administrator, as `is_admin` decides (who is notified of
    what only an administrator can fix)."""
    return (
        get_user_model()
        .objects.filter(Q(is_superuser=True) | Q(groups__name=PROCESS_ADMIN), is_active=True)
        .distinct()
    )


def role_holders(*roles: str) -> QuerySet:
    """Every active user with any of the roles, as `has_role` counts them
    (who is told of what a role must hear)."""
    return get_user_model().objects.filter(groups__name__in=roles, is_active=True).distinct()


def department_heads(code: str) -> QuerySet:
    """Every active head of the department."""
    return (
        get_user_model()
        .objects.filter(memberships__department__code=code, memberships__is_head=True, is_active=True)
        .distinct()
    )


def is_auditor(user) -> bool:
    return has_role(user, AUDITOR)


def may_send_signals(user) -> bool:
    """Systems in the `integration` group (and administrators, by hand)
    deliver the messages `signal` nodes wait for."""
    return is_admin(user) or has_role(user, INTEGRATION)


def may_see_insight(user) -> bool:
    """Leaders and administrators read the dashboard."""
    return is_admin(user) or has_role(user, LEADER)


def memberships(user) -> list[bool]:
    """`is_head` of each of the user's memberships (empty: not a reviewer)."""
    if not is_signed_in(user):
        return []
    return list(Membership.objects.filter(user=user).values_list("is_head", flat=True))


def is_department_head(user) -> bool:
    return is_signed_in(user) and Membership.objects.filter(user=user, is_head=True).exists()


def user_departments(user) -> list[Department]:
    """The active departments the user works in, by code."""
    if not is_signed_in(user):
        return []
    return list(Department.objects.filter(memberships__user=user, is_active=True).order_by("code"))


def cleared_fields(definition: Definition, department_codes: Iterable[str]) -> frozenset[str]:
    """The secret fields (and table columns) of the template the departments
    may read unmasked."""
    cleared: set[str] = set()
    for code in department_codes:
        cleared |= definition.clearance_for(code)
    return frozenset(cleared)


@dataclass(frozen=True)
class Roles:
    is_authenticated: bool = False
    is_reviewer: bool = False
    is_head: bool = False
    is_admin: bool = False


def user_roles(user) -> Roles:
    """What the navigation offers (decided here):
    reviewers are department members, heads head a department, admins are
    active process admins or superusers."""
    if not user.is_authenticated:
        return Roles()
    heads = memberships(user)
    return Roles(True, bool(heads), any(heads), is_admin(user))
