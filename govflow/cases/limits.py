"""Case-level limits: the promise (承诺时限, the template's `time_limit`)
and the statutory limit (法定时限, `statutory_limit`) as live timers.

When a case is accepted (受理: `Case.accepted_at`, by its acceptance node or
on submission when the template has none) each limit the template sets gets
two rows in the timer table, counted on the template's working-day calendar
from the acceptance: an early warning (`case_*_warning`, at WARN_AT of the
limit, the last fifth; a template's task SLAs have no default reminder
point to reuse) and the limit itself (`case_*`). They run on the case's
statutory clock like the SLA timers of its tasks (`govflow.cases.bridge`):
a case-wide pause (the applicant's correction time, `clock: excluded` with
`scope: case`, every branch held) stops them and they resume with the office
time they had left; an approved extension (延期, art 42) moves the statutory
limit, never the promise; a span reaching a calendar year not loaded yet is
counted by the weekday rule, marked provisional and recounted when the year
is loaded (`govflow.cases.recompute.timers_recompute`).

Firing (the timers sweep, `govflow.cases.automation`): the warning tells
the head of the lead department (the acceptance node's department, else the
first reviewing department) and the limit escalates to the leaders (role
`leader`) with an audit event (CASE_LIMIT_WARNED / CASE_LIMIT_PASSED) and
the domain event `CaseLimitPassed` (webhook kind `case.limit_passed`). A
timer fires once: the sweep marks it fired under its row lock, and the
notifications are outbox messages keyed by case and timer, delivered once
per key. A case that ends cancels the timers still waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from govflow.accounts.models import LEADER
from govflow.accounts.permissions import department_heads, role_holders
from govflow.audit.actions import Action
from govflow.engine.definition import Definition, Duration, node_departments
from govflow.notifications.models import NotificationKind
from govflow.notifications.services import LOCAL_TZ, SUBJECTS, notification_send
from govflow.processes.services import version_definition
from govflow.timers.deadlines import deadline
from govflow.timers.models import Timer

from . import events as domain
from .models import Case

# The early warning: the last fifth of the limit (amber), documented in
# docs/process-language.md ("Case-level limits").
WARN_AT = 0.8
PROMISE, STATUTORY = "promise", "statutory"
LIMITS = (PROMISE, STATUTORY)
# Timer kind -> (limit, warning?)
CASE_TIMER_KINDS = {
    "case_promise_warning": (PROMISE, True),
    "case_promise": (PROMISE, False),
    "case_statutory_warning": (STATUTORY, True),
    "case_statutory": (STATUTORY, False),
}
STATUTORY_TIMER_KINDS = ("case_statutory_warning", "case_statutory")
NOTIFY_TOPIC = "case_limit"


def engine_id(limit: str, *, warning: bool) -> str:
    return f"case:{limit}:warning" if warning else f"case:{limit}"


def timer_kind(limit: str, *, warning: bool) -> str:
    return f"case_{limit}_warning" if warning else f"case_{limit}"


def limit_duration(definition: Definition, limit: str) -> Duration | None:
    return definition.time_limit if limit == PROMISE else definition.statutory_limit


def timer_span(definition: Definition, kind: str) -> tuple[Duration, float] | None:
    """The limit and fraction a case timer of `kind` counts (for a recount)."""
    limit, warning = CASE_TIMER_KINDS[kind]
    duration = limit_duration(definition, limit)
    if duration is None:
        return None
    return duration, WARN_AT if warning else 1.0


def lead_department(definition: Definition) -> str | None:
    """The department that leads a case: its acceptance node's, else the
    first reviewing department of the template."""
    for node in definition.nodes.values():
        if node.type == "acceptance" and node.department:
            return node.department
    for node in definition.nodes.values():
        if node.type == "user_task":
            departments = node_departments(node)
            if departments:
                return departments[0]
    return None


def limits_start(case, definition: Definition, calendar, at: datetime) -> list[Timer]:
    """The case timers of a case accepted at `at` (unsaved rows, for the
    change set); none for a limit the template does not set."""
    timers = []
    for limit in LIMITS:
        duration = limit_duration(definition, limit)
        if duration is None:
            continue
        for warning in (True, False):
            due = deadline(
                calendar,
                at,
                days=duration.days,
                hours=duration.hours,
                calendar_days=duration.calendar_days,
                fraction=WARN_AT if warning else 1.0,
            )
            timers.append(
                Timer(
                    case=case,
                    engine_id=engine_id(limit, warning=warning),
                    kind=timer_kind(limit, warning=warning),
                    node_id="",
                    created_at=at,
                    due_at=due.due_at,
                    provisional=due.provisional,
                    nominal_end=due.nominal,
                    legal_effect=False,
                    pauses=[],
                )
            )
    return timers


def limits_cancel(case, ch) -> None:
    """A case that ended: its case timers still waiting are cancelled (the
    UPDATE touches pending and paused rows only; fired ones stay fired)."""
    for kind, (limit, warning) in CASE_TIMER_KINDS.items():
        pending = [t for t in ch.new_timers if t.case is case and t.kind == kind]
        for timer in pending:
            timer.status = Timer.CANCELLED
        if not pending:
            ch.cancelled_timers.append((case.pk, engine_id(limit, warning=warning)))


def limit_fire(case, timer: Timer, ch) -> None:
    """A case timer fell due (the sweep holds its row and the case's lock)."""
    limit, warning = CASE_TIMER_KINDS[timer.kind]
    due = timer.due_at.isoformat() if timer.due_at else None
    level = "amber" if warning else "red"
    ch.emit(
        NOTIFY_TOPIC,
        f"{case.pk}:{timer.engine_id}:{level}",
        case=case.pk,
        limit=limit,
        level=level,
    )
    if warning:
        ch.event(Action.CASE_LIMIT_WARNED, case, limit=limit, due_at=due)
        return
    ch.event(Action.CASE_LIMIT_PASSED, case, limit=limit, due_at=due)
    ch.happened(domain.CaseLimitPassed(case, limit, timer.due_at))


# -- notifications -------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    kind: str
    users: list[Any]
    subject: str
    body: str


def limit_notice(*, case_id: int, limit: str, level: str) -> Notice | None:
    """Who hears of a case's limit reaching amber (the lead department's
    heads) or red (the leaders), and what they read; None for a case gone."""
    case = Case.objects.select_related("version").filter(pk=case_id).first()
    if case is None:
        return None
    definition = version_definition(case.version)
    if level == "amber":
        kind = NotificationKind.CASE_LIMIT_WARNING
        users = department_heads(lead_department(definition))
    else:
        kind = NotificationKind.CASE_LIMIT_PASSED
        users = role_holders(LEADER)
    timer = Timer.objects.filter(case=case, engine_id=engine_id(limit, warning=False)).first()
    due = timer.due_at if timer is not None else None
    when = timezone.localtime(due, LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if due else "—"
    name_zh, name_en = ("承诺时限", "promised time") if limit == PROMISE else ("法定时限", "statutory limit")
    service = definition.title.get("zh") or definition.id
    if level == "amber":
        text = f"{case.reference} · {service}：{name_zh}将于 {when} 届满，请督促办理。\n"
        text += f"Case {case.reference}: its {name_en} runs out at {when}.\n"
    else:
        text = f"{case.reference} · {service}：已超过{name_zh}（{when}届满），请督办。\n"
        text += f"Case {case.reference} is past its {name_en} (due {when}).\n"
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{case.reference}/"
    return Notice(kind, list(users.order_by("pk")), SUBJECTS[kind], text + link + "\n")


def limit_notify(*, key: str, case_id: int, limit: str, level: str, now: datetime) -> int:
    """Deliver one outbox message of NOTIFY_TOPIC (once per key)."""
    notice = limit_notice(case_id=case_id, limit=limit, level=level)
    if notice is None:
        return 0
    return notification_send(
        key=key,
        kind=notice.kind,
        users=notice.users,
        subject=notice.subject,
        body=notice.body,
        case_id=case_id,
        now=now,
    )
