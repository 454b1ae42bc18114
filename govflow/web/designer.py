"""The console's process designer: the chain of cards the page draws, the
properties panel of the chosen card, and the operations its buttons post.
The model (reading, operations) is govflow.processes.designer; this module
adds what the page needs in the reader's language: labels, the problems of
the full validator (departments and handlers known) on their cards, and the
approve-all run of the simulator."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govflow.engine.problems import Problem
from govflow.messages import engine_text, translated_problems
from govflow.processes.designer import chain as chains
from govflow.processes.designer import operations
from govflow.processes.designer.checks import approve_all, problems_by_node
from govflow.processes.designer.document import DocumentError, Located, flows, load

from .selectors import template_check

TYPE_LABELS = {
    "start": gettext_lazy("Start"),
    "user_task": gettext_lazy("Review"),
    "countersign": gettext_lazy("Countersign"),
    "vote": gettext_lazy("Vote"),
    "service_task": gettext_lazy("Automatic step"),
    "acceptance": gettext_lazy("Acceptance"),
    "correction": gettext_lazy("Correction"),
    "applicant_task": gettext_lazy("Applicant's step"),
    "wait": gettext_lazy("Wait"),
    "signal": gettext_lazy("Wait for a message"),
    "publicity": gettext_lazy("Public notice"),
    "fee": gettext_lazy("Fee"),
    "call": gettext_lazy("Sub-process"),
    "bundle": gettext_lazy("Bundle of items"),
    "end": gettext_lazy("End"),
    "exclusive": gettext_lazy("Condition branch"),
    "inclusive": gettext_lazy("Inclusive branch"),
    "parallel": gettext_lazy("Parallel branch"),
}
ROUTE_LABELS = {
    "approve": gettext_lazy("approve"),
    "reject": gettext_lazy("reject"),
    "return": gettext_lazy("send back (退回)"),
    "accept": gettext_lazy("accept"),
    "refuse": gettext_lazy("refuse to accept"),
    "notice": gettext_lazy("correction notice"),
    "approved": gettext_lazy("approved"),
    "rejected": gettext_lazy("rejected"),
    "withdrawn": gettext_lazy("withdrawn"),
    "partially_approved": gettext_lazy("partially approved"),
    "on_timeout": gettext_lazy("deadline missed"),
    "objection": gettext_lazy("objection"),
    "default": gettext_lazy("otherwise"),
    "next": gettext_lazy("always"),
}
# The outcomes a card's panel can route, by the node's type.
ROUTABLE = {
    "user_task": ("approve", "reject", "return"),
    "acceptance": ("accept", "refuse", "notice"),
    "call": ("approved", "rejected", "withdrawn"),
    "bundle": ("approved", "partially_approved", "rejected", "withdrawn"),
    "correction": ("on_timeout",),
    "applicant_task": ("on_timeout",),
}


UNIT_LABELS = {
    "days": gettext_lazy("working days"),
    "hours": gettext_lazy("office hours"),
    "calendar_days": gettext_lazy("calendar days"),
}
MODE_LABELS = {
    "all": gettext_lazy("all sign (会签)"),
    "any": gettext_lazy("any one signs (或签)"),
    "sequential": gettext_lazy("one after another (依次审批)"),
    "vote": gettext_lazy("vote (票签)"),
}
ROLE_LABELS = {
    "department_head": gettext_lazy("heads of the step's department"),
    "leader": gettext_lazy("leaders"),
    "auditor": gettext_lazy("auditors"),
}


def kind_of(raw) -> str:
    """The card's kind: a user task with a countersign is a countersign (or a vote)."""
    kind = str(raw.get("type", ""))
    sign = raw.get("countersign")
    if kind == "user_task" and isinstance(sign, dict):
        return "vote" if sign.get("mode") == "vote" else "countersign"
    return kind


def title_of(raw, language: str) -> str:
    title = raw.get("title")
    if isinstance(title, dict):
        return str(title.get(language) or title.get("zh") or title.get("en") or raw.get("id", ""))
    return str(raw.get("id", ""))


def _days(value) -> str:
    if isinstance(value, dict):
        for unit, text in (
            ("days", _("%(n)s working days")),
            ("hours", _("%(n)s hours")),
            ("calendar_days", _("%(n)s calendar days")),
        ):
            if unit in value:
                return text % {"n": value[unit]}
    return ""


def facts_of(raw, departments: dict[str, str]) -> list[str]:
    """The few things a card says under its title."""
    facts = []
    if isinstance(raw.get("department"), str):
        facts.append(departments.get(raw["department"], raw["department"]))
    sign = raw.get("countersign")
    if isinstance(sign, dict) and isinstance(sign.get("signers"), list):
        names = "、".join(departments.get(str(s), str(s)) for s in sign["signers"])
        facts.append(_("signers: %(names)s") % {"names": names})
    if isinstance(raw.get("sla"), dict):
        facts.append(_("time limit %(limit)s") % {"limit": _days(raw["sla"])})
    for key in ("days", "hours", "calendar_days"):
        if key in raw and raw.get("type") in ("acceptance", "wait", "publicity"):
            facts.append(_days({key: raw[key]}))
    if isinstance(raw.get("deadline"), dict):
        facts.append(_("deadline %(limit)s") % {"limit": _days(raw["deadline"])})
    if isinstance(raw.get("handler"), str):
        facts.append(_("handler %(name)s") % {"name": raw["handler"]})
    if isinstance(raw.get("process"), str):
        facts.append(_("runs %(name)s") % {"name": raw["process"]})
    cc = raw.get("cc")
    copied = cc if isinstance(cc, list) else (cc.get("departments") or []) if isinstance(cc, dict) else []
    roles = (cc.get("roles") or []) if isinstance(cc, dict) else []
    if copied or roles:
        names = [departments.get(str(s), str(s)) for s in copied]
        names += [str(ROLE_LABELS.get(str(r), r)) for r in roles]
        facts.append(_("copy to %(names)s") % {"names": "、".join(names)})
    if raw.get("clock") == "excluded" or (
        isinstance(raw.get("clock"), dict) and raw["clock"].get("excluded")
    ):
        facts.append(_("off the statutory clock"))
    if raw.get("type") == "end":
        facts.append(ROUTE_LABELS.get(str(raw.get("outcome")), str(raw.get("outcome", ""))))
        for cert in raw.get("certificates") or []:
            if isinstance(cert, dict):
                facts.append(_("certificate: %(type)s") % {"type": cert.get("type", "")})
    return [str(f) for f in facts if f]


@dataclass
class Page:
    source: str
    processes: list[dict[str, Any]] = field(default_factory=list)
    template_problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    unreadable: str = ""
    selected: dict[str, Any] | None = None
    simulation: Any = None
    not_chain: list[str] = field(default_factory=list)


def page(
    source: str,
    *,
    language: str,
    selected: str,
    today: date,
    departments: dict[str, str],
    check=template_check,
) -> Page:
    result = Page(source)
    try:
        document = load(source)
    except DocumentError as exc:
        result.unreadable = engine_text(exc.message)
        return result
    chain = chains.read(document)
    definition, problems = check(source)
    problems = translated_problems(problems)
    result.problem_count = len(problems)
    on_cards = problems_by_node(source, problems)
    result.template_problems = on_cards.pop(None, [])
    # a problem on a node drawn inside a route (a detour) or an absorbed join shows on the card it hangs off
    nodes = chain.nodes
    drawn: set[str] = set()
    for process in chain.processes:
        for card in chains.walk(process.items):
            drawn.add(card.id)

    def card_view(card: chains.Card, plus: str | None) -> dict[str, Any]:
        located = nodes[card.id]
        raw = located.raw
        kind = kind_of(raw)
        own = list(on_cards.get(card.id, []))
        routes = []
        for route in card.routes:
            target = nodes.get(route.target)
            through = [title_of(nodes[t].raw, language) for t in route.through if t in nodes]
            back = ""
            if route.route == "detour" and route.through:
                last = nodes[route.through[-1]]
                backs = [
                    f.target for f in flows(last.raw) if nodes.get(f.target) and nodes[f.target].type != "end"
                ]
                back = title_of(nodes[backs[0]].raw, language) if backs else ""
                for t in route.through:
                    own += on_cards.get(t, [])
            routes.append(
                {
                    "label": _route_label(route.label),
                    "target": title_of(target.raw, language) if target else route.target,
                    "route": route.route,
                    "through": through,
                    "back": back,
                }
            )
        return {
            "kind": "card",
            "id": card.id,
            "type": kind,
            "type_label": TYPE_LABELS.get(kind, kind),
            "title": title_of(raw, language),
            "facts": facts_of(raw, departments),
            "routes": routes,
            "problems": own,
            "line": located.line,
            "selected": card.id == selected,
            "plus": plus,
            "is_end": located.type == "end",
            "is_start": located.type == "start",
        }

    # a process whose chain breaks is drawn as far as it goes, without the
    # "+" menus and column buttons: changes of its shape are refused
    shaped = True

    def items_view(items: list[Any], parent_plus_after: str | None) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if isinstance(item, chains.Block):
                split = card_view(item.split, None)
                if item.join:
                    split["problems"] += on_cards.get(item.join, [])
                columns = []
                for n, column in enumerate(item.columns):
                    columns.append(
                        {
                            "label": _route_label(column.label),
                            "number": n,
                            "plus": f"column:{item.id}:{n}" if shaped else None,
                            "items": items_view(column.items, None),
                        }
                    )
                out.append(
                    {
                        "kind": "block",
                        "id": item.id,
                        "split": split,
                        "columns": columns,
                        "plus": f"after:{item.id}" if shaped and (item.join or item.closes_into) else None,
                        "can_add": shaped and item.split.type in chains.GATEWAYS,
                    }
                )
            else:
                is_end = nodes[item.id].type == "end"
                out.append(card_view(item, None if is_end or not shaped else f"after:{item.id}"))
        return out

    for process in chain.processes:
        title = _("Main process") if not process.key else _("Sub-process %(key)s") % {"key": process.key}
        shaped = process.problem is None
        view = {"key": process.key, "title": title, "items": items_view(process.items, None), "problem": ""}
        if process.problem is not None:
            view["problem"] = engine_text(process.problem)
            result.not_chain.append(view["problem"])
        result.processes.append(view)
    if selected and selected in nodes:
        result.selected = panel(nodes[selected], nodes, language, departments, field_ids(source))
    if definition is not None and not problems:
        result.simulation = approve_all(definition, today=today)
    return result


def _route_label(label: str) -> str:
    return str(ROUTE_LABELS.get(label, label))


def panel(
    located: Located, nodes: dict[str, Located], language: str, departments: dict[str, str], fields: list[str]
) -> dict[str, Any]:
    """The properties panel of one card: what can be set, with the values now."""
    raw = located.raw
    kind = kind_of(raw)
    title = raw.get("title") if isinstance(raw.get("title"), dict) else {}
    data: dict[str, Any] = {
        "id": located.id,
        "type": kind,
        "type_label": TYPE_LABELS.get(kind, kind),
        "title_zh": title.get("zh", ""),
        "title_en": title.get("en", ""),
        "movable": located.type not in ("start", "end"),
    }
    if isinstance(raw.get("department"), str) or (located.type == "acceptance"):
        data["department"] = raw.get("department", "")
        data["departments"] = sorted(departments.items())
        if data["department"] and data["department"] not in departments:
            data["departments"].insert(0, (data["department"], data["department"]))
    sign = raw.get("countersign")
    if isinstance(sign, dict):
        data["signers"] = ", ".join(str(s) for s in sign.get("signers") or [])
        data["mode"] = sign.get("mode", "all")
    if isinstance(sign, dict):
        data["pass_ratio"] = str(sign.get("pass_ratio", ""))
        data["weights"] = ", ".join(str(w) for w in sign.get("weights") or [])
        data["modes"] = [(m, MODE_LABELS[m]) for m in operations.COUNTERSIGN_MODES]
    if located.type == "user_task":
        sla = raw.get("sla") if isinstance(raw.get("sla"), dict) else {}
        unit = next((u for u in operations.DURATION_UNITS if u in sla), "days")
        data["sla_days"] = sla.get(unit, "") if sla else ""
        data["sla_unit"] = unit
        data["units"] = [(u, UNIT_LABELS[u]) for u in operations.DURATION_UNITS]
        data["remind_at"] = sla.get("remind_at", "") if sla else ""
        data["sla_legal_basis"] = sla.get("legal_basis", "") if sla else ""
        data["has_sla"] = bool(sla)
        cc = raw.get("cc")
        if isinstance(cc, dict):
            data["cc"] = ", ".join(str(s) for s in cc.get("departments") or [])
            data["cc_roles"] = ", ".join(str(s) for s in cc.get("roles") or [])
        else:
            data["cc"] = ", ".join(str(s) for s in cc or []) if isinstance(cc, list) else ""
            data["cc_roles"] = ""
        data["role_choices"] = [(r, ROLE_LABELS[r]) for r in operations.CC_ROLES]
        extension = raw.get("extension")
        data["extension"] = (
            str(extension.get("days", ""))
            if isinstance(extension, dict)
            else ("none" if extension == "none" else "")
        )
        data["extension_max"] = str(extension.get("max", "")) if isinstance(extension, dict) else ""
        data["extension_other_unit"] = isinstance(extension, dict) and "days" not in extension
    if located.type in ("user_task", "publicity"):
        clock = raw.get("clock")
        data["clock"] = (
            "long" if isinstance(clock, dict) else ("excluded" if clock == "excluded" else "counted")
        )
    if located.type in ("exclusive", "inclusive") and isinstance(raw.get("branches"), list):
        data["conditions"] = [
            {
                "number": n,
                "when": str(b.get("when", "")),
                "default": b.get("default") is True,
                "to": title_of(nodes[b["to"]].raw, language) if b.get("to") in nodes else b.get("to"),
            }
            for n, b in enumerate(raw["branches"])
            if isinstance(b, dict)
        ]
        data["fields"] = fields
    routable = ROUTABLE.get(located.type, ())
    if routable:
        outcomes = raw.get("outcomes") if isinstance(raw.get("outcomes"), dict) else {}
        choices = [
            (n.id, f"{title_of(n.raw, language)} ({n.id})")
            for n in nodes.values()
            if n.process == located.process and n.type != "start" and n.id != located.id
        ]
        data["routes"] = [
            {
                "label": label,
                "text": _route_label(label),
                "target": raw.get("on_timeout", "") if label == "on_timeout" else outcomes.get(label, ""),
                "required": label in ("approve", "accept", "approved"),
            }
            for label in routable
        ]
        data["route_choices"] = choices
        data["new_end_choices"] = [
            ("new_end:approved", _("a new end: approved")),
            ("new_end:rejected", _("a new end: refused")),
            ("new_end:withdrawn", _("a new end: withdrawn")),
        ]
    if located.type in ("acceptance", "wait", "publicity"):
        data["has_days"] = True
        data["days"] = raw.get("days", "")
        data["days_other_unit"] = "days" not in raw and any(k in raw for k in ("hours", "calendar_days"))
    if located.type in ("correction", "applicant_task"):
        deadline = raw.get("deadline") if isinstance(raw.get("deadline"), dict) else {}
        data["deadline_days"] = deadline.get("days", "") if deadline else ""
        data["has_deadline_field"] = True
    if located.type == "end":
        data["outcome"] = str(raw.get("outcome", ""))
        data["outcome_choices"] = [(o, _route_label(o)) for o in ("approved", "rejected", "withdrawn")]
        certs = raw.get("certificates") if isinstance(raw.get("certificates"), list) else []
        rows = []
        for n, cert in enumerate([*certs, {}]):
            cert = cert if isinstance(cert, dict) else {}
            cert_title = cert.get("title") if isinstance(cert.get("title"), dict) else {}
            rows.append(
                {
                    "number": n,
                    "type": cert.get("type", ""),
                    "department": cert.get("department", ""),
                    "title_zh": cert_title.get("zh", ""),
                    "title_en": cert_title.get("en", ""),
                    "new": n == len(certs),
                }
            )
        data["certificates"] = rows
        data["cert_departments"] = sorted(departments.items())
    return data


def field_ids(source: str) -> list[str]:
    try:
        document = load(source)
    except DocumentError:
        return []
    form = document.get("form")
    fields = form.get("fields") if isinstance(form, dict) else None
    return [str(f["id"]) for f in fields or [] if isinstance(f, dict) and "id" in f]


# -- the buttons ------------------------------------------------------------------


def operation_of(do: str, post) -> dict[str, Any] | None:
    """The operation a button names ('insert_step|after:review|user_task',
    'set|review' with the panel's fields, ...), or None for one that only
    chooses a card or saves."""
    parts = do.split("|")
    name = parts[0]
    if name == "insert_step" and len(parts) == 3:
        return {"op": name, "at": parts[1], "kind": parts[2]}
    if name == "insert_block" and len(parts) == 4:
        return {"op": name, "at": parts[1], "kind": parts[2], "columns": parts[3]}
    if name in ("add_column", "copy", "delete") and len(parts) == 2:
        return {"op": name, "node": parts[1]}
    if name == "remove_column" and len(parts) == 3:
        return {"op": name, "node": parts[1], "column": parts[2]}
    if name == "move" and len(parts) == 3:
        return {"op": name, "node": parts[1], "direction": parts[2]}
    if name == "set" and len(parts) == 2:
        # only what the administrator changed: each field comes with the value it was drawn with
        values = {k.removeprefix("prop:"): post.get(k, "") for k in post if k.startswith("prop:")}
        original = {k.removeprefix("was:"): post.get(k, "") for k in post if k.startswith("was:")}
        changed = {k: v for k, v in values.items() if original.get(k) != v}
        return {"op": name, "node": parts[1], "values": changed}
    return None


def checker():
    """template_check for one request, remembering its last answers: an
    operation checks the text before and after, and the page the text after."""
    return functools.lru_cache(maxsize=4)(template_check)


def run(source: str, op: dict[str, Any], check=template_check) -> operations.Result:
    """Apply an operation, checking the result as publishing would."""
    return operations.apply(source, op, check=lambda text: list(check(text)[1]))


STEP_CHOICES = [
    ("user_task", gettext_lazy("Review")),
    ("countersign", gettext_lazy("Countersign")),
    ("vote", gettext_lazy("Vote")),
    ("acceptance", gettext_lazy("Acceptance")),
    ("service_task", gettext_lazy("Automatic step")),
    ("correction", gettext_lazy("Correction")),
    ("applicant_task", gettext_lazy("Applicant's step")),
    ("wait", gettext_lazy("Wait")),
    ("call", gettext_lazy("Sub-process")),
    ("publicity", gettext_lazy("Public notice (公示)")),
    ("end", gettext_lazy("End")),
]
BLOCK_CHOICES = [
    ("exclusive", gettext_lazy("Condition branch")),
    ("inclusive", gettext_lazy("Inclusive branch")),
    ("parallel", gettext_lazy("Parallel branch")),
]
