"""SMS (短信), the third channel beside the bell and e-mail.

A notice for a user who turned SMS on is queued as its own outbox message
(topic `sms`, key `sms:<the notice's key>:<user>`), so a provider that is
down delays only the SMS: the outbox retries it with backoff while the bell
and the e-mail are already out. The text is short and carries no form data:
the platform's signature, what happened, the case number.

Where it goes (docs/deploy.md, "SMS"):

- `GOVFLOW_SMS_URL` unset (the embedded default, tests): the `log` backend
  writes each SMS to the `govflow.sms` logger, the number masked.
- `GOVFLOW_SMS_URL=https://sms-gateway.example.gov.cn/send`: the `http`
  backend POSTs `{"phone", "text", "signature"}` as JSON with
  `Authorization: Bearer $GOVFLOW_SMS_TOKEN` (or the token in
  `GOVFLOW_SMS_TOKEN_FILE`); any 2xx answer is sent, anything else or no
  answer within `GOVFLOW_SMS_TIMEOUT` seconds (default 5) is retried.
  Provinces' government SMS platforms and the commercial ones all sit
  behind a gateway of this shape; an adapter for another is one function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

import requests
from django.conf import settings

from govflow.errors import InvalidInput
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .models import NotificationPreference

TOPIC = "sms"
log = logging.getLogger("govflow.sms")
# Mainland mobile numbers: 11 digits, 1 then 3-9 (MIIT's numbering plan).
MOBILE = re.compile(r"^1[3-9]\d{9}$")
MAX_TEXT = 70  # one SMS of Chinese text


# The case's reference by its id, for the text: registered by govflow.cases
# in its AppConfig.ready (this app sits below cases and does not import them).
_case_reference: list[Callable[[int], str | None]] = []


def on_case_reference(lookup: Callable[[int], str | None]) -> None:
    _case_reference[:] = [lookup]


def _reference(case_id: int | None) -> str | None:
    if not case_id or not _case_reference:
        return None
    return _case_reference[0](case_id)


class SmsNotSent(Exception):
    """The provider did not take the SMS; the outbox tries again later."""


def clean_phone(phone: str) -> str:
    value = re.sub(r"[\s-]", "", str(phone or ""))
    if value.startswith("+86"):
        value = value[3:]
    if not MOBILE.fullmatch(value):
        raise InvalidInput(
            "give a mainland mobile number of 11 digits", fields={"phone": ["11 digits starting with 1"]}
        )
    return value


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def sms_text(subject: str, reference: str | None) -> str:
    """The signature, the Chinese half of the notice's subject, the case number."""
    what = subject.split(" / ", 1)[0]
    text = f"{settings.GOVFLOW_SMS_SIGNATURE}{what}" + (f"：{reference}" if reference else "。")
    return text[:MAX_TEXT]


def sms_queue(*, key: str, user_id: int, subject: str, case_id: int | None, now: datetime) -> None:
    """Inside the notice's transaction: queue the user's SMS."""
    message = OutboxMessage.objects.create(
        key=f"sms:{key}:{user_id}"[:200],
        topic=TOPIC,
        payload={"user": user_id, "subject": subject, "case": case_id},
        created_at=now,
    )
    dispatch_on_commit([message.pk])


def sms_deliver(payload: dict) -> bool:
    """The `sms` consumer's work: send to the number the user has now (not
    the one at queueing time); nothing when they have turned SMS off since.
    Raises SmsNotSent for the outbox to retry."""
    preference = NotificationPreference.objects.filter(user_id=payload.get("user")).first()
    if preference is None or not preference.sms or not preference.phone:
        return False
    send(preference.phone, sms_text(payload.get("subject", ""), _reference(payload.get("case"))))
    return True


def send(phone: str, text: str) -> None:
    if not settings.GOVFLOW_SMS_URL:
        log.info("SMS to %s: %s", masked(phone), text)
        return
    try:
        answer = requests.post(
            settings.GOVFLOW_SMS_URL,
            json={"phone": phone, "text": text, "signature": settings.GOVFLOW_SMS_SIGNATURE},
            headers={"Authorization": f"Bearer {settings.GOVFLOW_SMS_TOKEN}"},
            timeout=settings.GOVFLOW_SMS_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SmsNotSent(f"SMS provider unreachable: {type(exc).__name__}") from exc
    if not 200 <= answer.status_code < 300:
        raise SmsNotSent(f"SMS provider answered {answer.status_code}")
