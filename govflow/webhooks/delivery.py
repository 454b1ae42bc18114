"""Sending deliveries: signing, one HTTP attempt, the retry schedule.

An attempt is claimed by a conditional UPDATE (`attempts` must still be the
number before it), so of two workers holding the same outbox row, or a
redrive racing an admin's "retry now", one sends and the other does nothing.
The POST runs outside any transaction and lock. 2xx is delivered; any other
status, a timeout or a connection error schedules the next attempt after an
exponential backoff with jitter, capped, until `give_up_at` (24 h after the
event by default): then the delivery is failed and waits for an admin.

A receiver can still see an event twice (its 2xx was lost on the way back);
it deduplicates by the event id, which every attempt repeats with the same
body.

Every attempt resolves the endpoint's host, checks each address against
govflow.webhooks.targets (no loopback, private, link-local or metadata
address unless GOVFLOW_WEBHOOK_ALLOWED_HOSTS allows it) and connects to the
address it checked; a refused target fails the delivery at once (an admin
fixes the URL or the allow-list, then retries). Redirects are not followed
and no proxy from the environment is used.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .events import ATTEMPT_LEASE, TOPIC
from .models import Delivery, DeliveryStatus, Endpoint
from .targets import PinnedAdapter, TargetRefused

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Govflow-Signature"
EVENT_ID_HEADER = "Govflow-Event-Id"
USER_AGENT = "govflow-webhooks/1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
MAX_ERROR = 500


def timeout_seconds() -> float:
    return float(getattr(settings, "GOVFLOW_WEBHOOK_TIMEOUT_SECONDS", 5.0))


def backoff_seconds(attempts: int, *, rng: random.Random | None = None) -> float:
    """Wait after the `attempts`-th failure: base x 2^(n-1), capped, of which
    the upper half is random (so receivers coming back are not stampeded)."""
    base = float(getattr(settings, "GOVFLOW_WEBHOOK_RETRY_BASE_SECONDS", 30.0))
    cap = float(getattr(settings, "GOVFLOW_WEBHOOK_RETRY_CAP_SECONDS", 3600.0))
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(endpoint: Endpoint, timestamp: int, body: bytes, now: datetime) -> str:
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def has_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return parts.username is not None or parts.password is not None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    final: bool = False  # no later attempt can do better


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment: the check sees the real target
    adapter = PinnedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(endpoint: Endpoint, delivery: Delivery, attempt: int, now: datetime) -> Outcome:
    """One POST; never raises for anything the receiver or network does."""
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(delivery.event_id),
        "Govflow-Event-Type": delivery.kind,
        "Govflow-Delivery-Attempt": str(attempt),
        SIGNATURE_HEADER: signature_header(endpoint, timestamp, body, now),
    }
    if not is_web_url(endpoint.url):
        return Outcome(False, None, "the URL is not an http(s) URL")
    try:
        with (
            _session() as session,
            session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=timeout_seconds(),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            if 200 <= response.status_code < 300:
                return Outcome(True, response.status_code)
            snippet = next(response.iter_content(200), b"").decode("utf-8", "replace")
            reason = f"HTTP {response.status_code}" + (f": {snippet.strip()}" if snippet.strip() else "")
            return Outcome(False, response.status_code, reason)
    except TargetRefused as refused:
        log.warning("webhook delivery %s refused: %s", delivery.pk, refused)
        return Outcome(
            False,
            None,
            f"refused: {refused.host} is an internal address ({refused.address}); "
            "see GOVFLOW_WEBHOOK_ALLOWED_HOSTS",
            final=True,
        )
    except requests.Timeout:
        return Outcome(False, None, f"no answer within {timeout_seconds():g} s")
    except requests.ConnectionError as exc:
        return Outcome(False, None, f"connection failed: {_root(exc)}")
    except requests.RequestException as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}")


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {exc}"


def delivery_attempt(*, delivery_id: int, attempt: int, now: datetime | None = None) -> bool | None:
    """Make attempt number `attempt` of a delivery. Returns True (delivered),
    False (failed, retried later or given up), or None when there was
    nothing to do: delivered already, failed, or that attempt was made."""
    explicit = now is not None
    now = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt - 1
    ).update(attempts=attempt, last_attempt_at=now, next_attempt_at=now + ATTEMPT_LEASE)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        outcome = Outcome(False, None, "the endpoint is deactivated")
        _record(delivery, attempt, outcome, now, final=True)
        return False
    outcome = send(endpoint, delivery, attempt, now)
    _record(delivery, attempt, outcome, now if explicit else timezone.now(), final=outcome.final)
    return outcome.ok


def _record(
    delivery: Delivery, attempt: int, outcome: Outcome, now: datetime, *, final: bool = False
) -> None:
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=attempt)
    if outcome.ok:
        mine.update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_status_code=outcome.status_code,
            last_error="",
        )
        return
    error = outcome.error[:MAX_ERROR]
    if final or now >= delivery.give_up_at:
        mine.update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            last_status_code=outcome.status_code,
            last_error=error,
        )
        log.warning("webhook delivery %s failed for good: %s", delivery.pk, error)
        return
    retry_at = min(now + timedelta(seconds=backoff_seconds(attempt)), delivery.give_up_at)
    mine.update(next_attempt_at=retry_at, last_status_code=outcome.status_code, last_error=error)
    log.info("webhook delivery %s attempt %d failed (%s); next at %s", delivery.pk, attempt, error, retry_at)


def queue_attempt(delivery: Delivery, now: datetime) -> OutboxMessage:
    """An outbox row asking a worker for the delivery's next attempt. The
    caller holds the delivery row (or has just set its lease). The key is new
    each time; the attempt claim keeps a second row for the same attempt
    from sending twice."""
    attempt = delivery.attempts + 1
    message = OutboxMessage.objects.create(
        key=f"webhook:{delivery.pk}:{attempt}:{secrets.token_hex(6)}",
        topic=TOPIC,
        payload={"delivery": delivery.pk, "attempt": attempt},
        created_at=now,
    )
    dispatch_on_commit([message.pk])
    return message


def webhooks_redrive(*, now: datetime | None = None, limit: int = 500) -> int:
    """The beat job: queue the next attempt of every pending delivery whose
    time has come (its backoff ran out, or the lease of an attempt whose
    worker vanished). Returns how many were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not due:
            return 0
        Delivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=now + ATTEMPT_LEASE)
        rows = [
            OutboxMessage(
                key=f"webhook:{d.pk}:{d.attempts + 1}:{secrets.token_hex(6)}",
                topic=TOPIC,
                payload={"delivery": d.pk, "attempt": d.attempts + 1},
                created_at=now,
            )
            for d in due
        ]
        created = OutboxMessage.objects.bulk_create(rows)
        dispatch_on_commit([m.pk for m in created if m.pk is not None])
    return len(due)
