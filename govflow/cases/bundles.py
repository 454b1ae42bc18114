"""一件事一次办: a bundle case's line per item, as the case page and the API
show it (docs/process-language.md section 11a). Reads only.

The engine keeps each item's line in the case state
(`bundles.<node>.items.<item>`); here it gets its title, its department's
name, its outcome in words, and the certificates its sub-process issued."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from govflow.accounts.models import Department
from govflow.engine.definition import Definition

from .models import Case

#: How an item's line reads, by its status in the engine's state.
ITEM_STATUS_LABELS = {
    "waiting": _("waiting for an earlier item"),
    "running": _("in progress"),
    "approved": _("approved"),
    "rejected": _("refused"),
    "withdrawn": _("withdrawn"),
    "not_started": _("not started: an earlier item was not approved"),
    "not_applicable": _("does not apply"),
    "cancelled": _("ended with the case"),
}
ITEM_STATUSES = tuple(ITEM_STATUS_LABELS)
#: How the bundle's outcome reads once every item has ended.
BUNDLE_OUTCOME_LABELS = {
    "approved": _("every item approved"),
    "partially_approved": _("partly approved: some items refused"),
    "rejected": _("no item approved"),
    "withdrawn": _("withdrawn"),
}
BUNDLE_OUTCOMES = tuple(BUNDLE_OUTCOME_LABELS)


@dataclass(frozen=True)
class ItemLine:
    item: str
    title: str
    department: str
    department_name: str
    status: str
    status_label: str
    started_at: datetime | None
    ended_at: datetime | None
    after: tuple[str, ...]
    certificates: list[Any] = field(default_factory=list)  # certificate rows the item issued

    @property
    def is_open(self) -> bool:
        return self.status in ("waiting", "running")


@dataclass(frozen=True)
class BundleView:
    node: str
    title: str
    lead: str
    lead_name: str
    outcome: str | None  # None while an item is open
    outcome_label: str
    items: list[ItemLine]


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _label(labels: dict[str, Any], key: str, lang: str) -> str:
    with override("en" if lang == "en" else "zh-hans"):
        return str(labels.get(key, key))


def item_words(definition: Definition, item_id: str, status: str, lang: str) -> tuple[str, str, str]:
    """An item's title, its department's name and `status` in words."""
    node = definition.bundle()
    item = next((i for i in node.items if i.id == item_id), None) if node is not None else None
    process = definition.processes.get(item_id)
    title = (process.title or {}) if process is not None else {}
    department = Department.objects.filter(code=item.department).first() if item is not None else None
    return (
        title.get(lang) or title.get("zh") or item_id,
        department.name(lang) if department is not None else "",
        _label(ITEM_STATUS_LABELS, status, lang),
    )


def case_bundle(case: Case, definition: Definition, lang: str) -> BundleView | None:
    """The bundle's lines for a case whose template has one (None otherwise,
    and for a case whose bundle has not started: nothing to show yet)."""
    node = definition.bundle()
    if node is None:
        return None
    record = ((case.state or {}).get("bundles") or {}).get(node.id)
    codes = {item.department for item in node.items} | {node.lead or ""}
    names = {d.code: d.name(lang) for d in Department.objects.filter(code__in=codes)}
    by_node: dict[str, list[Any]] = {}
    if record is not None:
        issued = case.certificates.filter(status__in=["valid", "revoked"]).select_related("department")
        for certificate in issued.order_by("issued_at", "id"):
            by_node.setdefault(certificate.node_id, []).append(certificate)
    lines = []
    for item in node.items:
        line = (record or {}).get("items", {}).get(item.id, {"status": "waiting"})
        process = definition.processes.get(item.id)
        title = (process.title or {}) if process is not None else {}
        ends = [n.id for n in definition.nodes.values() if n.process == item.id and n.type == "end"]
        status = line.get("status", "waiting")
        lines.append(
            ItemLine(
                item=item.id,
                title=title.get(lang) or title.get("zh") or item.id,
                department=item.department,
                department_name=names.get(item.department, item.department),
                status=status,
                status_label=_label(ITEM_STATUS_LABELS, status, lang),
                started_at=_moment(line.get("started")),
                ended_at=_moment(line.get("ended")),
                after=item.after,
                certificates=[c for end in ends for c in by_node.get(end, [])],
            )
        )
    outcome = (record or {}).get("outcome")
    return BundleView(
        node=node.id,
        title=node.label(lang),
        lead=node.lead or "",
        lead_name=names.get(node.lead or "", node.lead or ""),
        outcome=outcome,
        outcome_label=_label(BUNDLE_OUTCOME_LABELS, outcome, lang) if outcome else "",
        items=lines,
    )
