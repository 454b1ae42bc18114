"""govflow.accounts.permissions: the one definition of each role check, and
the places that used to keep their own copy now agreeing with it."""

import pytest
from django.contrib.auth.models import AnonymousUser

from govflow.accounts import permissions
from govflow.accounts.models import AUDITOR, LEADER, PROCESS_ADMIN
from govflow.accounts.permissions import user_roles
from govflow.demo import ensure_user

pytestmark = pytest.mark.django_db


def _user(name, *, groups=(), superuser=False, staff=False, active=True):
    user = ensure_user(name, password="x", groups=groups)
    user.is_superuser, user.is_staff, user.is_active = superuser, staff, active
    user.save(update_fields=["is_superuser", "is_staff", "is_active"])
    return type(user).objects.get(pk=user.pk)  # no cached groups


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("superuser", True),
        ("process_admin", True),
        ("staff_only", False),  # is_staff opens Django's /admin/ only
        ("inactive_superuser", False),
        ("inactive_process_admin", False),
        ("leader", False),
        ("nobody", False),
    ],
)
def test_an_administrator_is_an_active_superuser_or_process_admin(base_data, kind, expected):
    user = {
        "superuser": lambda: _user("su", superuser=True),
        "process_admin": lambda: _user("pa", groups=(PROCESS_ADMIN,)),
        "staff_only": lambda: _user("staff", staff=True),
        "inactive_superuser": lambda: _user("su_off", superuser=True, active=False),
        "inactive_process_admin": lambda: _user("pa_off", groups=(PROCESS_ADMIN,), active=False),
        "leader": lambda: _user("leader2", groups=(LEADER,)),
        "nobody": lambda: _user("nobody"),
    }[kind]()

    assert permissions.is_admin(user) is expected
    assert user_roles(user).is_admin is expected
    assert (user in permissions.admins()) is expected


def test_roles_count_for_active_signed_in_users_only(base_data):
    auditor = _user("auditor2", groups=(AUDITOR,))
    retired = _user("auditor3", groups=(AUDITOR,), active=False)
    admin = _user("su2", superuser=True)

    assert permissions.is_auditor(auditor)
    assert not permissions.is_auditor(retired)
    assert not permissions.is_auditor(admin)  # an admin does not review the trail by being one
    assert not permissions.is_auditor(AnonymousUser())
    assert not permissions.is_admin(AnonymousUser())
    assert permissions.may_see_insight(_user("leader3", groups=(LEADER,)))
    assert permissions.may_see_insight(admin)
    assert not permissions.may_see_insight(auditor)


def test_department_membership_and_clearance(base_data, market_reviewer, applicant):
    from govflow.processes.models import ProcessTemplate
    from govflow.processes.services import version_definition

    definition = version_definition(ProcessTemplate.objects.get(code="business_setup").current_version)

    assert [d.code for d in permissions.user_departments(market_reviewer)] == ["market_regulation"]
    assert permissions.user_departments(applicant) == []
    assert permissions.memberships(applicant) == []
    assert permissions.is_department_head(base_data["market_regulation_head"])
    assert not permissions.is_department_head(market_reviewer)
    assert {"legal_rep_id_number", "legal_rep_phone"} <= permissions.cleared_fields(
        definition, ["market_regulation"]
    )
    assert permissions.cleared_fields(definition, []) == frozenset()


def test_a_staff_member_who_is_no_admin_cannot_revoke_certificates(base_data):
    from govflow.certificates.services import certificate_revoke
    from govflow.errors import Forbidden

    staff = _user("staff2", staff=True)

    with pytest.raises(Forbidden):
        certificate_revoke(number="GF-NO-SUCH-NUMBER", actor=staff, reason="测试")
