"""Service-task handlers: the automated steps a template may name.

A template's `service_task` names a handler registered here; YAML never holds
code. A handler takes the case's form data (and the case id, for lookups
against earlier cases) and returns a small JSON-safe result that conditions
can read as `result.<node>.<key>`. Handlers must be idempotent: a redelivered
task may run one twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from govflow.engine.identifiers import cn_id_problem, make_uscc, uscc_problem


@dataclass(frozen=True)
class HandlerContext:
    case_id: int | None
    data: Mapping[str, Any]
    today: date


Handler = Callable[[HandlerContext], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
INLINE: set[str] = set()


def handler(name: str, *, inline: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler. `inline` handlers are quick checks against local
    data: they run inside the transaction that reaches the service task,
    under the case lock. Anything that calls another system, or may be slow,
    must not be inline: it runs on a worker with retries."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        if inline:
            INLINE.add(name)
        else:
            INLINE.discard(name)
        return fn

    return register


def is_inline(name: str) -> bool:
    return name in INLINE


def handler_names() -> frozenset[str]:
    return frozenset(HANDLERS)


class HandlerFailed(Exception):
    """A handler could not do its work this time (a system it needs is down);
    the task is retried with backoff and, if it keeps failing, becomes an
    incident an admin can retry."""


@handler("id_numbers_check", inline=True)
def id_numbers_check(ctx: HandlerContext) -> dict[str, Any]:
    """Re-check every resident ID number in the data (fields named *id_number
    and table columns of that kind) against GB 11643 before reviewers spend
    time on the case."""
    bad: list[str] = []

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                visit(f"{prefix}.{key}" if prefix else key, item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(f"{prefix}[{index}]", item)
        elif (
            isinstance(value, str)
            and prefix.split(".")[-1].endswith("id_number")
            and cn_id_problem(value, today=ctx.today) is not None
        ):
            bad.append(prefix)

    visit("", ctx.data)
    return {"valid": not bad, "invalid_fields": bad}


@handler("company_name_check", inline=True)
def company_name_check(ctx: HandlerContext) -> dict[str, Any]:
    """Is the proposed company name free? Taken when an approved or open
    business-setup case already uses it."""
    from django.db.models import Q

    from govflow.cases.models import OPEN_CASE_STATUSES, Case, CaseStatus

    name = str(ctx.data.get("company_name", "")).strip()
    if not name:
        return {"available": False, "reason": "empty"}
    taken = (
        Case.objects.filter(data__company_name=name)
        .filter(Q(status=CaseStatus.APPROVED) | Q(status__in=OPEN_CASE_STATUSES))
        .exclude(pk=ctx.case_id)
        .exists()
    )
    return {"available": not taken, "reason": "taken" if taken else ""}


@handler("credit_code_assign", inline=True)
def credit_code_assign(ctx: HandlerContext) -> dict[str, Any]:
    """Give a newly registered company its unified social credit code
    (GB 32100): '91' (enterprise), the registering region, and a 9-character
    organisation code derived from the case, then the check character.
    Deterministic, so a redelivered task assigns the same code."""
    if ctx.case_id is None:
        raise HandlerFailed("a credit code can only be assigned to a stored case")
    region = str(ctx.data.get("region_code") or "110105")[:6].ljust(6, "0")
    return {"credit_code": make_uscc(f"91{region}{ctx.case_id:09d}")}


@handler("credit_code_check", inline=True)
def credit_code_check(ctx: HandlerContext) -> dict[str, Any]:
    """Check the builder's unified social credit code (GB 32100) and whether
    a business-setup case approved here issued it."""
    from govflow.cases.models import Case, CaseStatus

    code = str(ctx.data.get("builder_credit_code", "")).strip().upper()
    if uscc_problem(code) is not None:
        return {"valid": False, "registered_here": False}
    registered = Case.objects.filter(
        status=CaseStatus.APPROVED, state__results__assign_credit_code__credit_code=code
    ).exists()
    return {"valid": True, "registered_here": registered}
