"""Startup checks of the insight settings."""

from django.conf import settings
from django.core.checks import Error, register

from .metrics import parse_networks


@register()
def metrics_networks_check(app_configs=None, **kwargs):
    try:
        parse_networks(tuple(getattr(settings, "GOVFLOW_METRICS_ALLOWED_NETWORKS", ())))
    except ValueError as exc:
        return [
            Error(
                str(exc),
                hint="Give comma-separated addresses or networks, e.g. 127.0.0.1/32,10.0.0.0/8.",
                id="govflow.E201",
            )
        ]
    return []
