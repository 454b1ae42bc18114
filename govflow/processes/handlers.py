"""Service-task handlers: the automated steps a template may name.

A template's `service_task` names a handler registered here; YAML never holds
code. A handler takes the case's form data (and the case id, for lookups
against earlier cases) and returns a small JSON-safe result that conditions
can read as `result.<node>.<key>`. Handlers must be idempotent: a redelivered
task may run one twice. The checks against earlier cases are registered by
govflow.cases (govflow.cases.handlers, imported in its AppConfig.ready):
this app sits below cases and does not import them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from govflow.engine.identifiers import cn_id_problem, make_uscc, uscc_problem
from govflow.regions import UnknownRegion, region_get


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
            and value
            and prefix.split(".")[-1].endswith("id_number")
            and cn_id_problem(value, today=ctx.today) is not None
        ):
            bad.append(prefix)

    visit("", ctx.data)
    return {"valid": not bad, "invalid_fields": bad}


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


# -- business setup: shareholders, capital and address ------------------------

PASSPORT_RE = re.compile(r"[A-Z0-9]{5,20}")
COMPANY_TYPES = frozenset({"llc", "joint_stock"})
LLC_PAYMENT_YEARS = 5


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _shareholder_problems(index: int, row: Mapping[str, Any], today: date) -> list[str]:
    where = f"shareholders[{index}]"
    kind = row.get("holder_type") or "person"
    if kind == "person":
        number = str(row.get("id_number") or "")
        if not number:
            return [f"{where}.id_number: required for a natural person with a mainland ID card"]
        if cn_id_problem(number.upper(), today=today) is not None:
            return [f"{where}.id_number: not a valid resident ID number (GB 11643)"]
    elif kind == "foreign_person":
        problems = []
        if not PASSPORT_RE.fullmatch(str(row.get("passport_number") or "").upper()):
            problems.append(
                f"{where}.passport_number: required for a foreign natural person (5-20 letters or digits)"
            )
        if not str(row.get("country") or "").strip():
            problems.append(f"{where}.country: required for a foreign natural person")
        return problems
    elif kind == "company":
        code = str(row.get("credit_code") or "").upper()
        if not code:
            return [f"{where}.credit_code: required for a company or other organisation"]
        if uscc_problem(code) is not None:
            return [f"{where}.credit_code: not a valid unified social credit code (GB 32100)"]
    else:
        return [f"{where}.holder_type: unknown kind of shareholder {kind!r}"]
    return []


def _capital_problems(
    entity_type: str, rows: list[Mapping[str, Any]], capital: Any, today: date
) -> list[str]:
    problems: list[str] = []
    # Company Law 2023 art 47: an LLC's subscribed capital is paid within five
    # years of incorporation; art 98: a joint-stock company's promoters pay in
    # full before incorporation. For partnerships and sole proprietorships
    # ../shared/DOMAIN.md gives no statutory term: the form's five-year limit stands.
    latest: date | None
    if entity_type == "llc":
        latest = today.replace(
            year=today.year + LLC_PAYMENT_YEARS, day=min(today.day, 28 if today.month == 2 else 31)
        )
        rule = "more than five years after incorporation (Company Law art 47)"
    elif entity_type == "joint_stock":
        latest = today
        rule = "after incorporation: a joint-stock company's promoters pay in full before it (art 98)"
    else:
        latest, rule = None, ""
    for index, row in enumerate(rows):
        due = str(row.get("due_date") or "")
        if latest is not None and due and due > latest.isoformat():
            problems.append(f"shareholders[{index}].due_date: {due} is {rule}")
    # The registered capital (出资额) is what the shareholders subscribe together.
    total = sum((_decimal(row.get("subscribed_amount")) or Decimal(0) for row in rows), Decimal(0))
    registered = _decimal(capital)
    if registered is not None and rows and total != registered:
        problems.append(
            f"registered_capital: {registered} differs from the shareholders' subscribed total {total}"
        )
    if entity_type == "sole_proprietorship" and (
        len(rows) != 1 or (rows[0].get("holder_type") or "person") == "company"
    ):
        problems.append("shareholders: a sole proprietorship has exactly one investor, a natural person")
    if entity_type == "partnership" and len(rows) < 2:
        problems.append("shareholders: a partnership has at least two partners")
    return problems


@handler("entity_check", inline=True)
def entity_check(ctx: HandlerContext) -> dict[str, Any]:
    """Business setup: each shareholder identified as what it is (mainland ID,
    passport and country, or credit code), the capital rules of its entity
    type, and the address inside the registration district. `problems` lists
    `path: reason` lines for the applicant's correction."""
    data = ctx.data
    rows = [row for row in data.get("shareholders") or () if isinstance(row, Mapping)]
    problems: list[str] = []
    for index, row in enumerate(rows):
        problems.extend(_shareholder_problems(index, row, ctx.today))
    problems.extend(
        _capital_problems(str(data.get("entity_type") or ""), rows, data.get("registered_capital"), ctx.today)
    )
    region_code = str(data.get("region_code") or "")
    if region_code:
        try:
            region = region_get(region_code)
        except UnknownRegion:
            problems.append(f"region_code: unknown region code {region_code!r}")
        else:
            if not region.contains(str(data.get("address") or "")):
                problems.append(f"address: not in {region.name}, the district of the registration authority")
    return {"valid": not problems, "problems": problems}


# 食品经营许可: the items a food seller may hold (selling, no preparation).
FOOD_SALES_ITEMS = frozenset(
    {
        "prepackaged_sales",
        "bulk_sales",
        "health_food",
        "medical_formula",
        "infant_formula_milk",
        "infant_formula_other",
        "other_sales",
    }
)


@handler("food_licence_check", inline=True)
def food_licence_check(ctx: HandlerContext) -> dict[str, Any]:
    """Food business licence, before acceptance: the premises inside the
    district whose bureau issues the licence; a food seller (食品销售经营者)
    applying for selling items only, no preparation (制售); and a licensed
    item besides the sale of pre-packaged food, which alone needs a filing
    (备案, Food Safety Law art 35), not a licence. `problems` lists
    `path: reason` lines for the applicant's correction."""
    data = ctx.data
    problems: list[str] = []
    items = data.get("business_items") or []
    items = [str(item) for item in (items if isinstance(items, list | tuple) else [items])]
    if items and set(items) <= {"prepackaged_sales"}:
        problems.append("business_items: selling only pre-packaged food needs a filing (备案), not a licence")
    if str(data.get("business_format") or "") == "food_sales":
        preparing = [item for item in items if item not in FOOD_SALES_ITEMS]
        if preparing:
            problems.append(
                "business_items: a food seller (食品销售经营者) may not apply for preparation items: "
                + ", ".join(preparing)
            )
    region_code = str(data.get("region_code") or "")
    if region_code:
        try:
            region = region_get(region_code)
        except UnknownRegion:
            problems.append(f"region_code: unknown region code {region_code!r}")
        else:
            if not region.contains(str(data.get("premises") or "")):
                problems.append(f"premises: not in {region.name}, the district of the licensing bureau")
    return {"valid": not problems, "problems": problems}
