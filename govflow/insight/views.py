"""The leaders' dashboard, its CSV exports and the public statistics page."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from govflow.accounts.models import Department
from govflow.errors import InvalidInput
from govflow.processes.models import ProcessTemplate
from govflow.web.views.common import lang

from . import charts, exports
from .facts import facts_catch_up
from .rollup import rollup_catch_up
from .selectors import (
    Dashboard,
    dashboard_get,
    filters_default,
    filters_parse,
    insight_allowed,
    local_today,
    public_statistics,
)


def leader_required(view):
    """Leaders and admins; other users are told they may not (403), as the
    web app's role checks do; anonymous visitors are sent to log in."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not insight_allowed(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _filter_errors(exc: InvalidInput) -> list[str]:
    messages = {
        "not a date written as YYYY-MM-DD": _("not a date written as YYYY-MM-DD"),
        "not a plausible date": _("not a plausible date"),
        "the start date is after the end date": _("the start date is after the end date"),
        "unknown service": _("unknown service"),
        "unknown department": _("unknown department"),
    }
    names = {"from": _("From"), "to": _("To"), "service": _("Service"), "department": _("Department")}
    lines = []
    for name, problems in exc.fields.items():
        for problem in problems:
            text = messages.get(problem)
            if text is None:
                text = _("choose a shorter period") if problem.startswith("choose at most") else problem
            lines.append(f"{names.get(name, name)}: {text}")
    return lines


def _charts(board: Dashboard) -> dict:
    names = board.service_names
    weekly = {}
    weeks = sorted({w.week for w in board.weeks})
    by_service: dict[str, dict] = {}
    for row in board.weeks:
        by_service.setdefault(row.service, {})[row.week] = row
    for code, rows in sorted(by_service.items()):
        labels = [week.strftime("%m-%d") for week in weeks]
        weekly[code] = charts.line_chart(
            labels,
            [
                charts.Series(_("Submitted"), [rows[w].submitted if w in rows else 0 for w in weeks]),
                charts.Series(_("Approved"), [rows[w].approved if w in rows else 0 for w in weeks]),
                charts.Series(_("Rejected"), [rows[w].rejected if w in rows else 0 for w in weeks]),
            ],
            title=_("Cases per week: %(service)s") % {"service": names.get(code, code)},
            description=_("Cases submitted, approved and rejected per week."),
        )
    months = sorted({p.month for p in board.trend})
    trend_by: dict[str, dict] = {}
    for point in board.trend:
        trend_by.setdefault(point.service, {})[point.month] = point.median_days
    trend = None
    if months:
        trend = charts.line_chart(
            [m.strftime("%Y-%m") for m in months],
            [
                charts.Series(names.get(code, code), [values.get(m) for m in months])
                for code, values in sorted(trend_by.items())
            ],
            title=_("Median working days per month"),
            description=_("Median working days of the cases decided each month, per service."),
        )
    durations = None
    if board.departments:
        durations = charts.bar_chart(
            [r.name for r in board.departments],
            [
                charts.Series(_("Median"), [r.median_days for r in board.departments]),
                charts.Series(_("90th percentile"), [r.p90_days for r in board.departments]),
            ],
            title=_("Working days per department"),
            description=_("Median and 90th percentile working days a department takes for its tasks."),
        )
    compliance = None
    if any(r.compliance is not None for r in board.departments):
        compliance = charts.bar_chart(
            [r.name for r in board.departments],
            [charts.Series(_("Decided within the time limit"), [r.compliance for r in board.departments])],
            title=_("SLA compliance per department"),
            description=_("Share of tasks decided within their time limit."),
            percent=True,
        )
    overdue = None
    if board.loads:
        overdue = charts.bar_chart(
            [x.name for x in board.loads],
            [
                charts.Series(_("Open tasks"), [x.open for x in board.loads]),
                charts.Series(_("Overdue"), [x.overdue for x in board.loads]),
            ],
            title=_("Open and overdue tasks by department"),
            description=_("Tasks open now and those past their time limit."),
        )
    return {
        "weekly": weekly,
        "trend": trend,
        "durations": durations,
        "compliance": compliance,
        "overdue": overdue,
    }


@leader_required
@require_GET
def dashboard(request):
    today = local_today()
    errors: list[str] = []
    try:
        filters = filters_parse(request.GET, today=today)
    except InvalidInput as exc:
        errors = _filter_errors(exc)
        filters = filters_default(today=today)
    now = timezone.now()
    facts_catch_up(now=now)
    rollup_catch_up(now=now)
    board = dashboard_get(filters=filters, now=now, language=lang())
    return render(
        request,
        "insight/dashboard.html",
        {
            "board": board,
            "charts": _charts(board),
            "errors": errors,
            "query": urlencode(filters.query()),
            "services": ProcessTemplate.objects.order_by("code"),
            "departments": Department.objects.order_by("code"),
            "tables": exports.TABLES,
        },
        status=400 if errors else 200,
    )


@leader_required
@require_GET
def export(request, table: str):
    if table not in exports.TABLES:
        raise Http404
    try:
        filters = filters_parse(request.GET, today=local_today())
    except InvalidInput as exc:
        return HttpResponse(
            "\n".join(_filter_errors(exc)) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    now = timezone.now()
    facts_catch_up(now=now)
    rollup_catch_up(now=now)
    board = dashboard_get(filters=filters, now=now, language=lang())
    headers, rows = exports.table(board, table)
    filename = f"govflow-{table}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return exports.csv_response(filename, headers, rows)


@require_GET
def public_service(request, code: str):
    """Published processing times of one service; no login needed."""
    stats = public_statistics(code=code, language=lang())
    return render(request, "insight/public.html", {"stats": stats})
