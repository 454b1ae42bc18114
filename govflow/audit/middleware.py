"""The audit context for a web request: who is acting and from which address
(govflow.audit.context), and a refused request audited once it has been
answered (a 403, or a 404 to a signed-in user's attempt to change something)."""

from __future__ import annotations

from collections.abc import Callable

from govflow.security.client import client_ip

from .actions import Action
from .context import audit_context
from .signals import record


def _request_actor(request) -> Callable[[], int | None]:
    def actor() -> int | None:
        user = getattr(request, "user", None)
        return user.pk if user is not None and user.is_authenticated else None

    return actor


class AuditContextMiddleware:
    """Sets the audit context (source IP, the logged-in user) for the
    request. The user is looked up only when an event needs it, so an API
    view that authenticates later is still attributed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(source_ip=client_ip(request), actor=_request_actor(request)) as context:
            object.__setattr__(context, "refusals", [])
            response = self.get_response(request)
            if context.refusals:
                for refusal in context.refusals:
                    _record_refusal(request, response, reason=refusal)
            elif _is_refusal(request, response):
                _record_refusal(request, response)
            return response


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _is_refusal(request, response) -> bool:
    """A 403 (not allowed, or a failed CSRF check), or a 404 answering an
    attempt by a logged-in user to change something (the services answer
    'not found' to whoever may not see an object, so a reviewer posting a
    decision on another department's task ends here)."""
    if response.status_code == 403:
        return True
    if response.status_code == 404 and request.method not in _SAFE_METHODS:
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated
    return False


def _record_refusal(request, response, *, reason: str | None = None) -> None:
    extra = {"reason": reason} if reason else {}
    record(
        Action.ACCESS_DENIED,
        object_type="request",
        object_id="",
        outcome="denied",
        method=request.method,
        path=request.path[:300],
        status=response.status_code,
        **extra,
    )
