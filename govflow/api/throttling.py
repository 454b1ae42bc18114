"""Request rate limits: per user, and per address for anonymous callers
(public certificate verification). Rates come from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES ("600/minute"), read on every request so tests and
deployments can change them; an exceeded limit is a 429 with Retry-After.

They count as the site's own rate limits do (govflow.security.ratelimit):
fixed windows in the cache, one atomic increment per request, so parallel
requests cannot slip past the limit (DRF's own throttles read a history,
append to it and write it back: two requests read the same history and one
of them goes uncounted). While the cache is down requests are let through
(govflow.cache), counted in `govflow_rate_limit_unchecked_total{scope}`
as `api_user` / `api_anon`."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from govflow.security.ratelimit import client_key, parse_rate, rate_hit


class _Throttle(BaseThrottle):
    scope = ""
    key = ""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def applies(self, request) -> bool:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        text = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not text or not self.applies(request):
            return True
        decision = rate_hit(
            f"api_{self.scope}",
            client_key(request, self.key),
            parse_rate(text),
            use=f"throttle.{self.scope}",
        )
        self.retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> int | None:
        return self.retry_after


class UserThrottle(_Throttle):
    """Per signed-in user (token or session)."""

    scope = "user"
    key = "user"

    def applies(self, request) -> bool:
        return bool(request.user and request.user.is_authenticated)


class AnonymousThrottle(_Throttle):
    """Per address, for callers without a user."""

    scope = "anon"
    key = "ip"

    def applies(self, request) -> bool:
        return not (request.user and request.user.is_authenticated)
