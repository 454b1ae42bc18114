"""Reads the API needs that the cases and web selectors do not offer as
such. Each one starts from a permission-filtering selector
(govflow.cases.selectors.case_access, task_get_for_reviewer, ...) or reads
public reference data (departments, calendars, published versions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.accounts.models import Department, Membership
from govflow.accounts.permissions import Roles, user_roles
from govflow.cases import selectors as case_selectors
from govflow.cases.attachments import submission_problems
from govflow.cases.disclosure import OWNER
from govflow.cases.models import Case, CaseStatus, Task
from govflow.errors import Forbidden, NotFound
from govflow.processes.models import ProcessTemplate, ProcessVersion
from govflow.processes.services import version_definition
from govflow.timers.calendar import CalendarYearMissing
from govflow.timers.models import Calendar, CalendarDay
from govflow.timers.services import calendar_get

from .errors import ApiError

EDITABLE = (CaseStatus.DRAFT, CaseStatus.AWAITING_CORRECTION)


# -- services -----------------------------------------------------------------------


def versions_for_service(*, code: str) -> tuple[ProcessTemplate, QuerySet[ProcessVersion]]:
    """The published versions of an offered service, newest first."""
    template = (
        ProcessTemplate.objects.filter(code=code, is_active=True, current_version__isnull=False)
        .only("pk", "code", "current_version_id")
        .first()
    )
    if template is None:
        raise NotFound("service not found")
    versions = ProcessVersion.objects.filter(template=template).defer("source").order_by("-number")
    return template, versions


def version_for_service(*, code: str, number: int) -> tuple[ProcessTemplate, ProcessVersion, Any]:
    template, _versions = versions_for_service(code=code)
    version = ProcessVersion.objects.filter(template=template, number=number).first()
    if version is None:
        raise NotFound("version not found")
    return template, version, version_definition(version)


# -- cases --------------------------------------------------------------------------


@dataclass
class ApiCaseDetail:
    """The web's case page (govflow.cases.selectors.case_detail) plus what an
    API client editing its own draft needs."""

    detail: case_selectors.CaseDetail
    data: dict | None
    problems: dict[str, list[str]] | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detail, name)


def case_detail_for_api(*, user, reference: str, language: str) -> ApiCaseDetail:
    """The case as the web shows it to this user (masked, audited), and for
    its applicant while it is with them the raw data the web's form shows,
    and on a draft what stops it from being submitted."""
    detail = case_selectors.case_detail(user=user, reference=reference, language=language)
    case = detail.case
    data = problems = None
    if detail.role == OWNER and case.status in EDITABLE:
        data = dict(case.data)
    if detail.role == OWNER and case.status == CaseStatus.DRAFT:
        found = submission_problems(case, language=language)
        problems = dict(found.fields) if found is not None else {}
    return ApiCaseDetail(detail, data, problems)


def case_timeline(*, user, reference: str, language: str) -> list[case_selectors.TimelineEntry]:
    """The case's timeline as the case page shows it (staff see who acted),
    without reading its form data."""
    access = case_selectors.case_access(user=user, reference=reference)
    case = access.case
    tasks = list(Task.objects.filter(case=case).select_related("department"))
    return case_selectors.timeline_entries(
        case,
        tasks,
        version_definition(case.version),
        case_selectors.language_key(language),
        staff=access.role != OWNER,
    )


def case_owned(*, user, reference: str) -> Case:
    """The user's own case. A reviewer who can read the case but is not its
    applicant gets Forbidden; anyone else NotFound."""
    access = case_selectors.case_access(user=user, reference=reference)
    if access.role != OWNER:
        raise Forbidden("only the applicant can change this case")
    return access.case


def attachment_rows(*, user, reference: str, language: str) -> list[case_selectors.AttachmentRow]:
    access = case_selectors.case_access(user=user, reference=reference)
    definition = version_definition(access.case.version)
    lang = case_selectors.language_key(language)
    return [
        case_selectors.AttachmentRow(a, case_selectors.slot_label(definition, a.slot, lang))
        for a in case_selectors.attachments_for_case(case=access.case)
    ]


def attachment_row(
    *, user, reference: str, attachment_id: int, language: str
) -> case_selectors.AttachmentRow:
    attachment = case_selectors.attachment_get_for_user(
        user=user, reference=reference, attachment_id=attachment_id
    )
    definition = version_definition(attachment.case.version)
    lang = case_selectors.language_key(language)
    return case_selectors.AttachmentRow(
        attachment, case_selectors.slot_label(definition, attachment.slot, lang)
    )


def document_slots(case: Case) -> list[str]:
    return [spec.id for spec in version_definition(case.version).form.attachments]


# -- tasks --------------------------------------------------------------------------


@dataclass
class TaskDetail:
    row: case_selectors.TaskRow
    outcomes: list[str]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def task_detail(*, user, task_id: int, language: str) -> TaskDetail:
    """One task of the user's departments with the decisions offered at it."""
    row = case_selectors.task_row(user=user, task_id=task_id, language=language)
    node = row.definition.nodes.get(row.task.node_id) if row.definition is not None else None
    return TaskDetail(row, list(node.outcomes) if node is not None else [])


# -- who am I -----------------------------------------------------------------------


@dataclass
class Me:
    user: Any
    name: str
    departments: list[Membership]
    roles: Roles


def me(*, user) -> Me:
    memberships = list(
        Membership.objects.filter(user=user).select_related("department").order_by("department__code")
    )
    return Me(user, case_selectors.display_name(user), memberships, user_roles(user))


# -- reference data -----------------------------------------------------------------


def departments() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True).order_by("code")


def calendars() -> QuerySet[Calendar]:
    return Calendar.objects.prefetch_related("years").order_by("code")


def calendar_by_code(*, code: str) -> Calendar:
    calendar = calendars().filter(code=code).first()
    if calendar is None:
        raise NotFound("calendar not found")
    return calendar


def calendar_days(*, code: str, year: int | None = None, kind: str | None = None) -> QuerySet[CalendarDay]:
    calendar = calendar_by_code(code=code)
    days = CalendarDay.objects.filter(calendar=calendar).order_by("date")
    if year is not None:
        days = days.filter(date__year=year)
    if kind:
        days = days.filter(kind=kind)
    return days


@dataclass(frozen=True)
class WorkingDays:
    start: date
    end: date
    working_days: int
    start_is_working_day: bool
    end_is_working_day: bool


def working_days(*, code: str, start: date, end: date) -> WorkingDays:
    """Working days in (start, end] on the jurisdiction's calendar; NotFound
    when a year in between has not been loaded (never guessed)."""
    calendar_by_code(code=code)
    working = calendar_get(code)
    try:
        return WorkingDays(
            start,
            end,
            working.working_days_between(start, end),
            working.is_working_day(start),
            working.is_working_day(end),
        )
    except CalendarYearMissing as exc:
        raise ApiError(
            _("The working-day calendar has no data for %(year)s.") % {"year": exc.year},
            status=404,
            code="not_found",
        ) from None


def today() -> date:
    return timezone.localdate()
