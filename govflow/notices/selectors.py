"""Reads of public notices (公示): which cases are in notice now and what
the public may see of them, and a case's objections (for its reviewers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from govflow.cases.models import OPEN_CASE_STATUSES, Case
from govflow.processes.services import version_definition
from govflow.timers.models import Timer

from .models import Objection

NOTICE_TIMER = "notice"


def notice_nodes(case: Case) -> list[str]:
    """The publicity nodes the case's tokens rest on (in token order)."""
    if case.state is None:
        return []
    nodes = version_definition(case.version).nodes
    return [
        token["node"]
        for token in case.state.get("tokens", {}).values()
        if token["node"] in nodes and nodes[token["node"]].type == "publicity"
    ]


@dataclass(frozen=True)
class PublicNotice:
    """What the public list shows of a case in notice: never the
    applicant's personal data. `public_title` is the value of the form field
    the template names as `public_title` (a public text field), else empty."""

    reference: str
    service_title: str
    step_title: str
    public_title: str
    started_at: datetime
    ends_at: datetime | None
    provisional: bool


def notices_open(*, language: str, limit: int = 200, reference: str | None = None) -> list[PublicNotice]:
    """Cases whose public notice runs now, the soonest to end first (only
    the case `reference`, when given)."""
    # open cases (a correction asked in a parallel branch leaves the notice running)
    timers = Timer.objects.filter(
        kind=NOTICE_TIMER, status=Timer.PENDING, case__status__in=OPEN_CASE_STATUSES
    )
    if reference is not None:
        timers = timers.filter(case__reference=reference)
    timers = timers.select_related("case__template", "case__version").order_by("due_at", "id")[:limit]
    found = []
    for timer in timers:
        case = timer.case
        node = version_definition(case.version).nodes.get(timer.node_id)
        if node is None or node.type != "publicity":
            continue
        field = node.settings.get("public_title")
        value = case.data.get(field) if field else ""
        found.append(
            PublicNotice(
                reference=case.reference,
                service_title=case.template.title(language),
                step_title=node.label(language),
                public_title=str(value or ""),
                started_at=timer.created_at,
                ends_at=timer.due_at,
                provisional=timer.provisional,
            )
        )
    return found


def notice_get(*, reference: str, language: str) -> PublicNotice | None:
    found = notices_open(language=language, limit=1, reference=reference)
    return found[0] if found else None


def objections_for_case(*, case: Case) -> list[Objection]:
    """A case's objections, oldest first: for the case's reviewers only
    (the caller checks who is looking)."""
    return list(Objection.objects.filter(case=case).order_by("filed_at", "id"))
