"""The validator's and the simulator's answers, put on the designer's cards.

Every problem the validator reports has a line; the node whose text holds
that line gets it on its card (a problem outside every node, in the form or
the top-level keys, belongs to the template). The approve-all run of the
simulator gives the working days of the path every step approves, against
the template's promise (time_limit). Pure Python (no Django).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from govflow.engine import EngineError
from govflow.engine.definition import Definition
from govflow.engine.problems import Problem
from govflow.engine.simulate import Script, SimulationDataError, simulate

from .document import DocumentError, index, load


def problems_by_node(text: str, problems: list[Problem]) -> dict[str | None, list[Problem]]:
    """The problems by the id of the node whose text holds their line (None:
    the template's own keys or the form)."""
    try:
        nodes = sorted(index(load(text)).values(), key=lambda n: n.line)
    except DocumentError:
        nodes = []
    found: dict[str | None, list[Problem]] = {}
    for problem in problems:
        owner = None
        for located in nodes:
            if located.line <= problem.line <= located.last_line:
                owner = located.id  # the innermost (latest starting) one wins
        found.setdefault(owner, []).append(problem)
    return found


@dataclass(frozen=True)
class ApproveAll:
    """The path on which every step approves: its working days, and the
    promise (time_limit) and statutory limit they are held against."""

    working_days: float
    time_limit_days: float | None
    statutory_limit_days: float | None
    outcome: str
    error: str = ""

    @property
    def within(self) -> bool | None:
        if self.time_limit_days is None:
            return None
        return self.working_days <= self.time_limit_days


def approve_all(definition: Definition, *, today: date) -> ApproveAll:
    try:
        run = simulate(definition, Script(), today=today)
    except SimulationDataError as exc:
        return ApproveAll(0, None, None, "", error="; ".join(e.path for e in exc.errors))
    except EngineError as exc:
        return ApproveAll(0, None, None, "", error=exc.message)
    days = round(run.working_days, 2)
    return ApproveAll(days, run.time_limit_days, run.statutory_limit_days, run.outcome)
