"""The task operations on pages of other apps: the decision panel's 委派 /
会商 / 抄送 block and the applicant's 催办 block on the case page, and the
催办 figure on the leaders' dashboard. Reads only."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from govflow.accounts.models import LEADER, Department, Membership
from govflow.accounts.permissions import has_role

from ..selectors import saved_opinions, task_operations, urge_counts
from ..urges import urge_state

register = template.Library()
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@register.inclusion_tag("collab/_task_panel.html", takes_context=True)
def task_panel(context, task, colleagues=()):
    """The operations of one live task for the reviewer looking at it; each
    action is offered only when the reviewer may take it."""
    request = context["request"]
    ops = task_operations(user=request.user, task=task)
    return {
        "ops": ops,
        "task": task,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "colleagues": [m for m in colleagues if m.user_id != request.user.pk],
        "departments": Department.objects.filter(is_active=True)
        .exclude(pk=task.department_id)
        .order_by("code"),
        "opinions": saved_opinions(user=request.user),
    }


@register.inclusion_tag("collab/_urge_panel.html", takes_context=True)
def urge_panel(context, case):
    """For the applicant: whether and when they may urge, and their last urge;
    for a head or leader: a button to urge the open steps."""
    request = context["request"]
    user = request.user
    state = urge_state(case=case, user=user) if case.applicant_id == user.pk else None

    staff_may = (
        case.is_open
        and case.applicant_id != user.pk
        and (has_role(user, LEADER) or Membership.objects.filter(user=user, is_head=True).exists())
    )
    return {"case": case, "state": state, "staff_may": staff_may, "csrf_token": context.get("csrf_token")}


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


@register.simple_tag
def urge_figures(filters=None, *, start: date | None = None, end: date | None = None):
    """Urges in the dashboard's period, by who urged."""
    if filters is not None:
        start, end = filters.start, filters.end
    now = timezone.now()
    since = _start_of(start) or now - timedelta(days=30)
    until = _start_of(end + timedelta(days=1)) if end is not None else now
    return urge_counts(since=since, until=until)
