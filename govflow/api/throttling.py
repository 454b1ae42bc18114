"""Request rate limits: per user, and per address for anonymous callers
(public certificate verification). Rates come from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, read on every request so tests and deployments can
change them; an exceeded limit is a 429 with Retry-After."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self):
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        super().__init__()


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    scope = "user"


class AnonymousThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"
