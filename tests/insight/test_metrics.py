"""/metrics: who may scrape it, and govflow's own figures in it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
TOKEN = "s3cret-metrics-token"


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in the metrics"
    return float(match[1])


def test_loopback_may_scrape_and_sees_govflow_figures(known_cases, driver):
    from govflow.outbox.models import OutboxMessage
    from tests.insight.conftest import beijing

    open_case = driver.submit(beijing(2026, 3, 16, 9))
    OutboxMessage.objects.create(
        key="insight-test", topic="notify", payload={}, created_at=timezone.now() - timedelta(minutes=10)
    )
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert _value(text, 'govflow_cases{service="insight_probe",state="approved"}') == 2
    assert _value(text, 'govflow_cases{service="insight_probe",state="rejected"}') == 1
    assert _value(text, 'govflow_cases{service="insight_probe",state="in_review"}') == 1
    # The open case's two reviews were due in March 2026: both overdue now.
    assert _value(text, 'govflow_open_tasks{department="market_regulation"}') == 1
    assert _value(text, 'govflow_overdue_tasks{department="fire"}') == 1
    # Their SLA timers were due long ago and never swept: the lag shows it.
    assert _value(text, "govflow_timer_sweep_lag_seconds") > 3600
    assert _value(text, "govflow_timers_due") >= 2
    assert _value(text, "govflow_outbox_backlog") >= 1
    assert _value(text, "govflow_outbox_oldest_pending_age_seconds") >= 600
    assert "django_http_requests_total_by_method_total" in text  # django-prometheus
    assert open_case.pk


@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "10.1.2.3"},
        {"REMOTE_ADDR": "203.0.113.9"},
        # Through a proxy on the same machine: the address is the proxy's.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.9"},
    ],
)
def test_others_find_nothing(meta, base_data):
    assert Client(**meta).get("/metrics").status_code == 404


@override_settings(GOVFLOW_METRICS_TOKEN=TOKEN)
def test_a_bearer_token_opens_it_from_anywhere(base_data):
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    # Even from an allowed address, a wrong token is refused rather than ignored.
    assert (
        Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    )


@override_settings(GOVFLOW_METRICS_TOKEN="")
def test_no_token_configured_means_no_token_accepted(base_data):
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer x").status_code == 403


@override_settings(GOVFLOW_METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_allowed_networks_come_from_settings(base_data):
    assert Client(REMOTE_ADDR="10.20.30.40").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


def test_a_bad_network_is_a_system_check_error(settings):
    from govflow.insight.checks import metrics_networks_check

    settings.GOVFLOW_METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "not-a-network"]
    errors = metrics_networks_check()
    assert [e.id for e in errors] == ["govflow.E201"]
    assert "not-a-network" in errors[0].msg
    settings.GOVFLOW_METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert metrics_networks_check() == []
