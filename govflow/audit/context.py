"""Who is acting, from where: the request's part of an audit event.

Services are called with the acting user but not with the request, so the
source IP (and, where it applies, the user an action is taken on behalf of)
travels beside them in a context variable that AuditContextMiddleware sets
for each request. `audit_write` fills these into events that do not carry
them; signal handlers (logins, role changes) also take the acting user from
here, since the signal does not name one.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from govflow.security.client import client_ip

from .actions import Action


@dataclass(frozen=True, slots=True)
class AuditContext:
    source_ip: str | None = None
    actor: Callable[[], int | None] | None = None
    on_behalf_of_id: int | None = None
    # Refusals (govflow.errors.Forbidden) raised while handling the request;
    # written after the response, outside the refused service's transaction.
    refusals: list | None = None

    @property
    def actor_id(self) -> int | None:
        return self.actor() if self.actor is not None else None


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("govflow_audit", default=None)


def current() -> AuditContext:
    return _current.get() or AuditContext()


@contextmanager
def audit_context(
    *,
    source_ip: str | None = None,
    actor: Callable[[], int | None] | None = None,
    on_behalf_of_id: int | None = None,
) -> Iterator[AuditContext]:
    """Attribute the events written inside the block (an API call made for
    another user passes `on_behalf_of_id`)."""
    outer = current()
    context = AuditContext(
        source_ip=source_ip if source_ip is not None else outer.source_ip,
        actor=actor if actor is not None else outer.actor,
        on_behalf_of_id=on_behalf_of_id if on_behalf_of_id is not None else outer.on_behalf_of_id,
    )
    if outer.refusals is not None:
        object.__setattr__(context, "refusals", outer.refusals)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


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


def note_refusal(error) -> None:
    """Called for every govflow.errors.Forbidden: remembered for the request
    (if there is one) and audited once it has been answered."""
    refusals = current().refusals
    if refusals is not None:
        refusals.append(f"{getattr(error, 'code', 'forbidden')}: {getattr(error, 'message', error)}"[:300])


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
    from .signals import record

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
