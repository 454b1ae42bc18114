"""Demo data: departments, users, the calendar, the shipped templates and a
few cases in different states. `load_demo` and the test fixtures use it; every
function is idempotent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ruamel.yaml import YAML

from govflow.accounts import models as roles
from govflow.accounts.models import Department, Membership
from govflow.cases.bridge import forget_departments
from govflow.catalog.datasets import catalogue_load_file
from govflow.demo_cases import load_demo_cases
from govflow.processes.models import ProcessTemplate
from govflow.processes.services import process_publish
from govflow.timers.services import calendar_import_file

DEMO_PASSWORD = "govflow-demo-2026"
DEMO_APPLICANT = "applicant"


def _yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def load_departments() -> list[Department]:
    entries = _yaml(Path(settings.GOVFLOW_FIXTURES_DIR) / "departments.yaml")["departments"]
    departments = []
    for entry in entries:
        department, _ = Department.objects.update_or_create(
            code=entry["code"],
            defaults={
                "name_zh": entry["zh"],
                "name_en": entry["en"],
                "email": f"{entry['code']}@gov.example.cn",
            },
        )
        departments.append(department)

    forget_departments()
    return departments


def ensure_user(
    username: str,
    *,
    password: str,
    groups: tuple[str, ...] = (),
    first_name: str = "",
    email: str = "",
    superuser: bool = False,
):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first_name, "email": email or f"{username}@example.cn"}
    )
    if created:
        user.set_password(password)
        if superuser:
            user.is_staff = user.is_superuser = True
        user.save()
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def load_users(password: str = DEMO_PASSWORD) -> dict[str, object]:
    users = {
        "admin": ensure_user(
            "admin", password=password, groups=(roles.PROCESS_ADMIN,), first_name="系统管理员", superuser=True
        ),
        DEMO_APPLICANT: ensure_user(
            DEMO_APPLICANT, password=password, groups=(roles.APPLICANT,), first_name="张三"
        ),
        "leader": ensure_user("leader", password=password, groups=(roles.LEADER,), first_name="李主任"),
        "auditor": ensure_user("auditor", password=password, groups=(roles.AUDITOR,), first_name="审计员"),
    }
    for department in Department.objects.all():
        reviewer = ensure_user(
            f"{department.code}_reviewer",
            password=password,
            groups=(roles.REVIEWER,),
            first_name=f"{department.name_zh}审查员",
        )
        head = ensure_user(
            f"{department.code}_head",
            password=password,
            groups=(roles.REVIEWER, roles.DEPARTMENT_HEAD),
            first_name=f"{department.name_zh}负责人",
        )
        Membership.objects.get_or_create(user=reviewer, department=department, defaults={"is_head": False})
        Membership.objects.get_or_create(user=head, department=department, defaults={"is_head": True})
        users[reviewer.username] = reviewer
        users[head.username] = head
    return users


def load_calendar() -> None:
    for path in sorted((Path(settings.GOVFLOW_FIXTURES_DIR) / "calendar").glob("*.yaml")):
        calendar_import_file(path)


def load_templates(publisher=None) -> list[ProcessTemplate]:
    templates = []
    for path in sorted(Path(settings.GOVFLOW_WORKFLOWS_DIR).glob("*.yaml")):
        version = process_publish(
            source=path.read_text(encoding="utf-8"),
            published_by=publisher,
            note=_("loaded from %(file)s") % {"file": path.name},  # in the site's language, like the demo
        )
        templates.append(version.template)
    return templates


@transaction.atomic
def load_base(password: str = DEMO_PASSWORD) -> dict[str, object]:
    """Departments, users, calendar and templates (what every test and the
    demo need)."""
    load_departments()
    users = load_users(password)
    load_calendar()
    load_templates(users["admin"])

    catalogue_load_file(actor=users["admin"])
    return users


def load_demo(password: str = DEMO_PASSWORD, now: datetime | None = None) -> dict[str, object]:
    users = load_base(password)

    load_demo_cases(users, now=now or timezone.now())
    return users
