"""Rate limits backed by the Django cache (Redis in production, so every
web process shares the counts; memory in tests and the embedded default).

    from govflow.security.ratelimit import rate_limit

    @rate_limit("verify", key="ip")            # rate from GOVFLOW_RATE_LIMITS["verify"]
    def verify_page(request, number): ...

    decision = rate_check(request, "api_submit", rate="60/m")   # for DRF views
    if not decision.allowed:
        raise Throttled(wait=decision.retry_after)

A fixed window per scope and client: every hit increments the window's
counter atomically, the first creating it with its expiry
(govflow.cache.cache_count_hit: one script on Redis), so parallel requests
cannot slip past the limit. The API's throttles count the same way
(govflow.api.throttling). A rate that does not parse stops start-up
(system check govflow.E410). If the cache is down the
request is let through (govflow.cache: a warning logged once a minute, and
`govflow_rate_limit_unchecked_total{scope}` on /metrics counts each such
request): a rate limit must not take the service down with it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.checks import Error, register
from django.shortcuts import render
from django.utils.translation import gettext as _
from prometheus_client import Counter

from govflow.cache import cache_call, cache_count_hit
from govflow.security.client import client_ip

log = logging.getLogger(__name__)

# COUNT/[N]UNIT; the unit may be spelled out as DRF's rates are ("600/minute").
_RATE = re.compile(
    r"^\s*(\d+)\s*/\s*(\d*)\s*"
    r"(?:(s)(?:ec(?:ond)?s?)?|(m)(?:in(?:ute)?s?)?|(h)(?:ours?)?|(d)(?:ays?)?)\s*$"
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

RATE_LIMIT_UNCHECKED = Counter(
    "govflow_rate_limit_unchecked",
    "Requests let through without a rate-limit check because the cache was unavailable.",
    ["scope"],
)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int


def parse_rate(text: str) -> Rate:
    """'30/m', '5/10m', '1000/d' -> Rate(count, window seconds)."""
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(f"not a rate: {text!r} (write it as COUNT/UNIT, e.g. 30/m or 5/10m)")
    unit = next(letter for letter in match.groups()[2:] if letter)
    return Rate(int(match[1]), int(match[2] or 1) * _UNITS[unit])


@register()
def rate_settings_check(app_configs=None, **kwargs):
    """govflow.E410: a rate in GOVFLOW_RATE_LIMITS or the API's
    DEFAULT_THROTTLE_RATES that does not parse (every request it limits
    would fail)."""
    rates = [
        (f"GOVFLOW_RATE_LIMITS[{scope!r}]", text)
        for scope, text in getattr(settings, "GOVFLOW_RATE_LIMITS", {}).items()
    ]
    throttles = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    rates += [
        (f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'][{scope!r}]", text) for scope, text in throttles.items()
    ]
    errors = []
    for name, text in rates:
        if not text:
            continue  # no limit
        try:
            parse_rate(text)
        except ValueError as exc:
            errors.append(
                Error(
                    f"{name}: {exc}",
                    hint="Set it (GOVFLOW_RATE_<NAME>, GOVFLOW_API_RATE_USER, GOVFLOW_API_RATE_ANON) "
                    "as COUNT/UNIT: 30/m, 5/10m, 600/minute.",
                    id="govflow.E410",
                )
            )
    return errors


def rate_for(scope: str, default: str | None = None) -> Rate | None:
    configured = getattr(settings, "GOVFLOW_RATE_LIMITS", {}).get(scope, default)
    return parse_rate(configured) if configured else None


def client_key(request, key: str | Callable = "user") -> str:
    """'user': the logged-in user (their address when anonymous); 'ip': the
    address; or a callable(request) -> str."""
    if callable(key):
        return str(key(request))
    user = getattr(request, "user", None)
    if key == "user" and user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return f"ip{client_ip(request) or '-'}"


def rate_hit(
    scope: str, ident: str, rate: Rate, *, now: float | None = None, use: str | None = None
) -> RateDecision:
    """Count one hit of `ident` in `scope`; allowed while within the rate.
    `use` names the count in govflow.cache's fallback metric and log
    (default `ratelimit.<scope>`)."""
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    retry_after = max(1, int((window + 1) * rate.seconds - now))
    alias = getattr(settings, "GOVFLOW_RATE_LIMIT_CACHE", "default")
    name = f"ratelimit:{scope}:{ident}:{rate.seconds}:{window}"

    count = cache_call(
        use or f"ratelimit.{scope}",
        None,
        lambda: cache_count_hit(name, rate.seconds + 5, alias=alias),
        alias=alias,
    )
    if count is None:  # the cache is down: let the request through
        rate_limit_unchecked(scope)
        return RateDecision(True, 0, rate.count, 0)
    return RateDecision(count <= rate.count, count, rate.count, retry_after)


def rate_limit_unchecked(scope: str) -> None:
    """Count a request let through because its limit could not be counted
    (govflow.cache has logged why)."""
    RATE_LIMIT_UNCHECKED.labels(scope=scope).inc()


def rate_check(request, scope: str, *, rate: str | None = None, key: str | Callable = "user") -> RateDecision:
    """One hit of the request's client in `scope` (rate from
    GOVFLOW_RATE_LIMITS[scope], else `rate`). Always allowed when rate limits
    are switched off (GOVFLOW_RATE_LIMITS_ENABLED) or no rate is set."""
    limit = rate_for(scope, rate)
    if limit is None or not getattr(settings, "GOVFLOW_RATE_LIMITS_ENABLED", True):
        return RateDecision(True, 0, 0, 0)
    return rate_hit(scope, client_key(request, key), limit)


def too_many_requests(request, decision: RateDecision):
    message = _("Too many requests in a short time. Please wait %(seconds)s seconds and try again.") % {
        "seconds": decision.retry_after
    }
    response = render(request, "errors/error.html", {"message": message, "status": 429}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def is_submit(request) -> bool:
    """The application and correction forms post action=submit to submit."""
    return request.POST.get("action") == "submit"


def has_files(request) -> bool:
    return bool(request.FILES)


def rate_limit(
    scope: str,
    *,
    rate: str | None = None,
    key: str | Callable = "user",
    methods: tuple[str, ...] = ("POST",),
    when: Callable | None = None,
):
    """Limit a view: requests with one of `methods` (and for which
    `when(request)` holds, if given) beyond the rate get a 429 page (in the
    user's language) with Retry-After."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods and (when is None or when(request)):
                decision = rate_check(request, scope, rate=rate, key=key)
                if not decision.allowed:
                    log.warning("rate limit %s exceeded by %s", scope, client_key(request, key))
                    return too_many_requests(request, decision)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
