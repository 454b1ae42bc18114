"""What an incident says its outbox row was for.

An outbox row given up becomes an incident (govflow.incidents.services);
the incident names the case, task, step and handler the row was working
for, so an admin sees what is stuck. Incidents know no cases: the apps
whose rows they are (govflow.cases) register a describer here in their
AppConfig.ready, as the outbox tells incidents through govflow.outbox.hooks.
A describer returns the fields it knows (case_id, task_engine_id, node_id,
handler) or None when the row is not its; the first answer wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Describer = Callable[[Any], dict | None]  # (message) -> fields or None

_describers: list[Describer] = []
NOTHING = {"case_id": None, "task_engine_id": "", "node_id": "", "handler": ""}


def on_describe(describer: Describer) -> Describer:
    if describer not in _describers:
        _describers.append(describer)
    return describer


def describe(message) -> dict:
    for describer in list(_describers):
        found = describer(message)
        if found is not None:
            return {**NOTHING, **found}
    return dict(NOTHING)
