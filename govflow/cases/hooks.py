"""What the apps built on cases add to the case services and selectors.

Cases sit below the apps that work on them (govflow.collab, ...): those
import cases, never the other way round (pyproject.toml, "No import cycles
between govflow's apps"). Where a case service or selector must ask such an
app something, the app registers a function here in its AppConfig.ready,
as the incidents listen to the outbox (govflow.outbox.hooks). With nothing
registered each question has its plain answer: nobody else sees the case,
nobody acts for a holder, nothing makes a decision wait.

- `on_case_reader(fn)`: fn(*, user, case) -> the departments whose
  clearance `user` reads the case with although none of them has a task on
  it (a copy, a delegation, a consultation: 抄送, 委派, 会商), or None.
- `on_acts_for(fn)`: fn(actor, holder_id, *, now) -> may `actor` decide the
  task claimed by `holder_id` for them (代理)?
- `on_decision_guard(fn, probe=SQL)`: fn(task, *, now) raises Conflict
  while the task must not be decided yet (a delegation or a consultation
  still open). Called under the case lock; reads only. `probe`, if given, is
  an SQL condition on the task row (alias `t`) that holds whenever fn might
  refuse: the case lock's read of the task (govflow.cases.rows) evaluates
  it in the same round trip, and fn is not called for a task it found
  false, so the common decision (nothing open) costs no query of its own.
- `on_reconcile(fn)`: fn(now) -> the problems (one line each) the app finds
  in its own rows, for the consistency check (govflow.cases.reconcile).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

CaseReader = Callable[..., Any]  # (*, user, case) -> tuple[Department, ...] | None
ActsFor = Callable[..., bool]  # (actor, holder_id, *, now)
DecisionGuard = Callable[..., None]  # (task, *, now)
DecisionProbe = str  # SQL condition over the task row `t`
ReconcileCheck = Callable[[datetime], list[str]]

_readers: list[CaseReader] = []
_acts_for: list[ActsFor] = []
_decision_guards: list[tuple[DecisionGuard, DecisionProbe | None]] = []
_reconcile_checks: list[ReconcileCheck] = []


def _add(listeners: list, fn):
    if fn not in listeners:
        listeners.append(fn)
    return fn


def on_case_reader(fn: CaseReader) -> CaseReader:
    return _add(_readers, fn)


def on_acts_for(fn: ActsFor) -> ActsFor:
    return _add(_acts_for, fn)


def on_decision_guard(fn: DecisionGuard, *, probe: DecisionProbe | None = None) -> DecisionGuard:
    _add(_decision_guards, (fn, probe))
    return fn


def decision_probes() -> tuple[DecisionProbe, ...]:
    """The registered guards' probes, for the task read under the case lock."""
    return tuple(probe for _fn, probe in _decision_guards if probe is not None)


def on_reconcile(fn: ReconcileCheck) -> ReconcileCheck:
    return _add(_reconcile_checks, fn)


def reader_departments(*, user, case) -> tuple | None:
    """The first registered answer that puts `user` on the case, or None."""
    for reader in list(_readers):
        departments = reader(user=user, case=case)
        if departments is not None:
            return departments
    return None


def acts_for(actor, holder_id: int | None, *, now: datetime) -> bool:
    return any(fn(actor, holder_id, now=now) for fn in list(_acts_for))


def refuse_while_waiting(task, *, now: datetime) -> None:
    """Every guard's refusal; a guard whose probe the lock's read of `task`
    found false is skipped (`task.probed`, absent on a task read otherwise)."""
    probed = getattr(task, "probed", None) or {}
    for guard, probe in list(_decision_guards):
        if probe is not None and probed.get(probe) is False:
            continue
        guard(task, now=now)


def reconcile_problems(now: datetime) -> list[str]:
    return [problem for check in list(_reconcile_checks) for problem in check(now)]
