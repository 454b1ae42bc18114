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


def note_refusal(error) -> None:
    """Called for every govflow.errors.Forbidden: remembered for the request
    (if there is one) and audited once it has been answered."""
    refusals = current().refusals
    if refusals is not None:
        refusals.append(f"{getattr(error, 'code', 'forbidden')}: {getattr(error, 'message', error)}"[:300])
