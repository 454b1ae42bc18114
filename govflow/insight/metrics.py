"""`/metrics` for Prometheus: django-prometheus's request and database
metrics of this process, plus govflow's own gauges, read from the database
at scrape time by a custom collector (so every web process reports the same
figures, whichever one Prometheus reaches).

Access: a bearer token (GOVFLOW_METRICS_TOKEN) or a client address in
GOVFLOW_METRICS_ALLOWED_NETWORKS (default loopback). A request that came
through a proxy (it carries X-Forwarded-For, Forwarded or X-Real-IP) is not
let in by its address, since the address is then the proxy's: it needs the
token. A wrong token is refused (403); anyone else is told there is
nothing here (404).
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from govflow.accounts.models import Department
from govflow.cases.models import LIVE_TASK_STATUSES, Case, Task
from govflow.outbox.models import OutboxMessage
from govflow.processes.models import ProcessTemplate
from govflow.timers.models import Timer
from govflow.timers.selectors import calendar_coverages

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@lru_cache(maxsize=8)
def parse_networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Networks from settings; raises ValueError naming a bad entry (see checks.py)."""
    networks = []
    for item in spec:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"GOVFLOW_METRICS_ALLOWED_NETWORKS: {item!r} is not an address or network"
            ) from None
    return tuple(networks)


def metrics_access(request) -> str:
    """'ok', 'forbidden' (a wrong token) or 'hidden' (no token, address not allowed)."""
    token = settings.GOVFLOW_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            if token and hmac.compare_digest(given.strip().encode(), token.encode()):
                return "ok"
            return "forbidden"
    if any(request.META.get(name) for name in PROXY_HEADERS):
        return "hidden"
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return "hidden"
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    try:
        networks = parse_networks(tuple(settings.GOVFLOW_METRICS_ALLOWED_NETWORKS))
    except ValueError:
        return "hidden"  # misconfigured: reported by the system check, never open
    return "ok" if any(address in network for network in networks) else "hidden"


class GovflowCollector:
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self):
        now = timezone.now()
        services = dict(ProcessTemplate.objects.values_list("pk", "code"))
        departments = dict(Department.objects.values_list("pk", "code"))

        cases = GaugeMetricFamily(
            "govflow_cases", "Cases by service and lifecycle state.", labels=["service", "state"]
        )
        for template_id, status, n in (
            Case.objects.values_list("template_id", "status").annotate(n=Count("pk")).order_by()
        ):
            cases.add_metric([services.get(template_id, str(template_id)), str(status)], n)
        yield cases

        live = Task.objects.filter(status__in=LIVE_TASK_STATUSES, department__isnull=False)
        open_tasks = GaugeMetricFamily(
            "govflow_open_tasks", "Open (unclaimed or claimed) department tasks.", labels=["department"]
        )
        overdue = GaugeMetricFamily(
            "govflow_overdue_tasks", "Open department tasks past their time limit.", labels=["department"]
        )
        rows = live.values_list("department_id").annotate(
            n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now))
        )
        seen = {}
        for department_id, n, late in rows.order_by():
            seen[department_id] = (n, late)
        for department_id, code in sorted(departments.items(), key=lambda item: item[1]):
            n, late = seen.get(department_id, (0, 0))
            open_tasks.add_metric([code], n)
            overdue.add_metric([code], late)
        yield open_tasks
        yield overdue

        due = Timer.objects.filter(status=Timer.PENDING, due_at__lte=now)
        oldest_due = due.aggregate(oldest=Min("due_at"))["oldest"]
        yield GaugeMetricFamily(
            "govflow_timer_sweep_lag_seconds",
            "Age of the oldest pending timer that is due (0 when the sweeper is keeping up).",
            value=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        )
        yield GaugeMetricFamily("govflow_timers_due", "Pending timers that are due now.", value=due.count())

        pending = OutboxMessage.objects.filter(done_at__isnull=True)
        backlog = pending.aggregate(
            waiting=Count("pk", filter=Q(failed_at__isnull=True)),
            failed=Count("pk", filter=Q(failed_at__isnull=False)),
            oldest=Min("created_at", filter=Q(failed_at__isnull=True)),
        )
        yield GaugeMetricFamily(
            "govflow_outbox_backlog",
            "Outbox messages not yet delivered (not given up).",
            value=backlog["waiting"],
        )
        yield GaugeMetricFamily(
            "govflow_outbox_failed",
            "Outbox messages given up after the last attempt.",
            value=backlog["failed"],
        )
        oldest = backlog["oldest"]
        yield GaugeMetricFamily(
            "govflow_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message not yet delivered (0 when none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        days_left = GaugeMetricFamily(
            "govflow_calendar_days_left",
            "Days until the loaded working-day calendar ends (negative when today's year is not loaded).",
            labels=["calendar"],
        )
        for coverage in calendar_coverages(today=timezone.localdate(now)):
            days_left.add_metric([coverage.code], coverage.days_left)
        yield days_left
        yield from _certificate_metrics()


def _certificate_metrics():
    """Certificate render and sign times, when the certificates app keeps them."""
    try:
        model = apps.get_model("certificates", "Certificate")
    except LookupError:
        return
    names = {f.name for f in model._meta.get_fields()}
    for column, metric, text in (
        ("render_ms", "govflow_certificate_render_seconds", "Time to render a certificate PDF."),
        ("sign_ms", "govflow_certificate_sign_seconds", "Time to sign a certificate PDF."),
    ):
        if column not in names:
            continue
        row = model.objects.filter(**{f"{column}__isnull": False}).aggregate(n=Count("pk"), total=Sum(column))
        yield SummaryMetricFamily(
            metric, text, count_value=row["n"] or 0, sum_value=(row["total"] or 0) / 1000.0
        )


_govflow_registry = CollectorRegistry(auto_describe=False)
_govflow_registry.register(GovflowCollector())


def metrics_text() -> bytes:
    return generate_latest(REGISTRY) + generate_latest(_govflow_registry)


@require_GET
def metrics(request):
    access = metrics_access(request)
    if access == "forbidden":
        return HttpResponse("forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    if access != "ok":
        raise Http404
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
