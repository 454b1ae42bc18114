"""The channels besides the bell: e-mail unless turned off, SMS when turned
on with a mobile number, each SMS its own outbox message (a provider that is
down delays only the SMS, and the outbox retries it), to the log without a
provider and to a real HTTP gateway with one."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from govflow.errors import InvalidInput
from govflow.notifications.models import Notification, NotificationKind
from govflow.notifications.services import notification_preferences_save, notification_send
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import outbox_drain
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def _send(users, key="test:1"):
    return notification_send(
        key=key,
        kind=NotificationKind.POOR_RATING,
        users=users,
        subject="差评待整改 / A poor rating to remedy",
        body="GF2026 · 差评\nA poor rating\n",
        now=timezone.now(),
    )


def test_by_default_the_bell_and_e_mail_and_no_sms(base_data, mailoutbox):
    reviewer = base_data["fire_reviewer"]

    assert _send([reviewer]) == 1

    assert Notification.objects.filter(user=reviewer).count() == 1
    assert [m.to for m in mailoutbox] == [[reviewer.email]]
    assert not OutboxMessage.objects.filter(topic="sms").exists()


def test_e_mail_turned_off_keeps_the_bell(base_data, mailoutbox):
    reviewer, head = base_data["fire_reviewer"], base_data["fire_head"]
    notification_preferences_save(user=reviewer, email=False, sms=False)

    assert _send([reviewer, head]) == 2

    assert Notification.objects.filter(user=reviewer).count() == 1
    assert [m.to for m in mailoutbox] == [[head.email]]


def test_sms_goes_to_the_log_without_a_provider_masked(base_data, settings, caplog):
    settings.GOVFLOW_SMS_URL = ""
    reviewer = base_data["fire_reviewer"]
    notification_preferences_save(user=reviewer, email=True, sms=True, phone="+86 138-0013-8000")

    _send([reviewer])
    with caplog.at_level(logging.INFO, logger="govflow.sms"):
        outbox_drain(topics=["sms"])

    (line,) = [r.getMessage() for r in caplog.records if r.name == "govflow.sms"]
    assert "138****8000" in line
    assert "13800138000" not in line
    assert "【政务服务】差评待整改" in line
    assert OutboxMessage.objects.get(topic="sms").done_at is not None


@pytest.mark.parametrize("phone", ["", "1380013800", "23800138000", "138001380001", "abc"])
def test_sms_needs_a_mainland_mobile_number(base_data, phone):
    with pytest.raises(InvalidInput) as refused:
        notification_preferences_save(user=base_data["fire_reviewer"], email=True, sms=True, phone=phone)
    assert list(refused.value.fields) == ["phone"]


class _Gateway(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict, str]] = []

    def do_POST(self):  # http.server calls it by this name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((body, self.headers.get("Authorization", "")))
        self.send_response(type(self).answers.pop(0) if type(self).answers else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.answers, _Gateway.received = [], []
    settings.GOVFLOW_SMS_URL = f"http://127.0.0.1:{server.server_address[1]}/send"
    settings.GOVFLOW_SMS_TOKEN = "s3cret"
    yield _Gateway
    server.shutdown()
    server.server_close()


def test_a_provider_that_fails_gets_the_sms_again_later_and_the_bell_is_not_held_up(base_data, gateway):
    reviewer = base_data["fire_reviewer"]
    notification_preferences_save(user=reviewer, email=False, sms=True, phone="13800138000")
    gateway.answers = [503]

    _send([reviewer])
    assert Notification.objects.filter(user=reviewer).count() == 1  # the bell, at once
    outbox_drain(topics=["sms"])
    sms = OutboxMessage.objects.get(topic="sms")
    assert sms.done_at is None
    assert "503" in sms.last_error
    outbox_drain(topics=["sms"])

    sms.refresh_from_db()
    assert sms.done_at is not None
    assert len(gateway.received) == 2
    body, authorization = gateway.received[-1]
    assert body["phone"] == "13800138000"
    assert body["text"].startswith("【政务服务】差评待整改")
    assert authorization == "Bearer s3cret"


def test_an_sms_turned_off_before_it_went_is_not_sent(base_data, gateway):
    reviewer = base_data["fire_reviewer"]
    notification_preferences_save(user=reviewer, email=False, sms=True, phone="13800138000")
    _send([reviewer])
    notification_preferences_save(user=reviewer, email=False, sms=False, phone="13800138000")

    outbox_drain(topics=["sms"])

    assert gateway.received == []
    assert OutboxMessage.objects.get(topic="sms").done_at is not None


def test_preferences_on_the_page_and_over_the_api(base_data, client):
    reviewer = base_data["fire_reviewer"]
    client.force_login(reviewer)
    assert "checked" in client.get("/notifications/settings/").content.decode()  # e-mail on by default

    refused = client.post("/notifications/settings/", {"sms": "on", "phone": "12345"})
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.content.decode()
    saved = client.post("/notifications/settings/", {"sms": "on", "phone": "13900139000"})
    assert saved.status_code == 302

    api = api_client(reviewer)
    assert api.get("/api/v1/notifications/preferences/").json() == {
        "email": False,
        "sms": True,
        "phone": "13900139000",
    }
    assert (
        api.put(
            "/api/v1/notifications/preferences/", {"email": "yes", "sms": False}, format="json"
        ).status_code
        == 400
    )
    put = api.put("/api/v1/notifications/preferences/", {"email": True, "sms": False}, format="json")
    assert put.json() == {"email": True, "sms": False, "phone": ""}
