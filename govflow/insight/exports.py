"""The dashboard's tables as CSV files that Excel opens correctly.

UTF-8 with a byte-order mark (without it Excel reads the file in the
system's legacy code page and Chinese turns to mojibake). Text cells that a
spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) are prefixed with an apostrophe; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils.translation import gettext as _

from .selectors import Dashboard

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
TABLES = ("weekly", "services", "departments", "trend", "bottlenecks", "overdue")


def safe_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _days(value: float | None) -> object:
    return "" if value is None else round(value, 2)


def _share(value: float | None) -> object:
    return "" if value is None else round(value * 100, 1)


def table(dashboard: Dashboard, name: str) -> tuple[list[str], list[list[object]]]:
    """(headers, rows) of one dashboard table; KeyError for an unknown name."""
    names = dashboard.service_names
    if name == "weekly":
        return (
            [_("Week (Monday)"), _("Service"), _("Submitted"), _("Approved"), _("Rejected"), _("Withdrawn")],
            [
                [
                    w.week.isoformat(),
                    names.get(w.service, w.service),
                    w.submitted,
                    w.approved,
                    w.rejected,
                    w.withdrawn,
                ]
                for w in dashboard.weeks
            ],
        )
    if name == "services":
        return (
            [
                _("Service"),
                _("Decided"),
                _("Median working days"),
                _("90th percentile working days"),
                _("Statutory limit"),
                _("Within the limit (%)"),
                _("Rejected"),
                _("Withdrawn"),
            ],
            [
                [
                    r.name,
                    r.decided,
                    _days(r.median_days),
                    _days(r.p90_days),
                    r.limit_text,
                    _share(r.compliance),
                    r.rejected,
                    r.withdrawn,
                ]
                for r in dashboard.services
            ],
        )
    if name == "departments":
        return (
            [
                _("Department"),
                _("Tasks decided"),
                _("Median working days"),
                _("90th percentile working days"),
                _("SLA compliance (%)"),
                _("Silent consent"),
                _("Escalated"),
                _("Rejected"),
            ],
            [
                [
                    r.name,
                    r.decided,
                    _days(r.median_days),
                    _days(r.p90_days),
                    _share(r.compliance),
                    r.silent_consent,
                    r.escalated,
                    r.rejected,
                ]
                for r in dashboard.departments
            ],
        )
    if name == "trend":
        return (
            [_("Month"), _("Service"), _("Decided"), _("Median working days")],
            [
                [p.month.strftime("%Y-%m"), names.get(p.service, p.service), p.decided, _days(p.median_days)]
                for p in dashboard.trend
            ],
        )
    if name == "bottlenecks":
        return (
            [
                _("Service"),
                _("Step"),
                _("Department"),
                _("Waiting"),
                _("Overdue"),
                _("Median wait (working days)"),
                _("Longest wait (working days)"),
            ],
            [
                [
                    b.service,
                    b.step,
                    b.department,
                    b.waiting,
                    b.overdue,
                    _days(b.median_wait_days),
                    _days(b.oldest_wait_days),
                ]
                for b in dashboard.bottlenecks
            ],
        )
    if name == "overdue":
        return (
            [_("Department"), _("Open tasks"), _("Overdue"), _("Escalated")],
            [[x.name, x.open, x.overdue, x.escalated] for x in dashboard.loads],
        )
    raise KeyError(name)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(csv_bytes(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
