"""Request rate limits: per user, and per address for anonymous callers
(public certificate verification). Rates come from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, read on every request so tests and deployments can
change them; an exceeded limit is a 429 with Retry-After. The counts live in
the cache: while it is down requests are let through, as the site's own rate
limits do (govflow.cache, govflow.security.ratelimit)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from govflow.cache import cache_call
from govflow.security.ratelimit import rate_limit_unchecked


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self):
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        super().__init__()

    def allow_request(self, request, view):
        check = super().allow_request
        allowed = cache_call(f"throttle.{self.scope}", None, lambda: check(request, view))
        if allowed is None:
            rate_limit_unchecked(f"api_{self.scope}")
            return True
        return allowed


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    scope = "user"


class AnonymousThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"
