"""The admin console's dry run: a template (as typed in the editor) run
through the engine's simulator with example data, approving everything
unless a small script says otherwise. Pure reads: nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from govflow.engine import EngineError, Problem
from govflow.engine.definition import TASK_OUTCOMES
from govflow.engine.simulate import Script, Simulation, SimulationDataError, simulate
from govflow.messages import engine_text

from .selectors import template_check

SCRIPT_KEYS = ("decisions", "durations")
MAX_SCRIPT = 20_000


@dataclass
class DryRun:
    problems: list[Problem] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    result: Simulation | None = None
    error: str = ""

    @property
    def json(self) -> dict[str, Any] | None:
        return self.result.as_json() if self.result else None


def _script(text: str, node_ids: set[str]) -> tuple[Script | None, list[str]]:
    """decisions: {node: outcome or [outcomes in turn]}, durations: {node: working days}."""
    text = (text or "").strip()
    if not text:
        return Script(), []
    if len(text) > MAX_SCRIPT:
        return None, [_("the script is longer than %(count)s characters") % {"count": MAX_SCRIPT}]
    try:
        raw = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
        return None, [where + _("YAML syntax error: %(problem)s") % {"problem": getattr(exc, "problem", exc)}]
    if raw is None:
        return Script(), []
    if not isinstance(raw, dict):
        return None, [_("the script is a mapping with decisions: and durations:")]
    errors = [
        _("unknown key '%(key)s' (allowed: decisions, durations)") % {"key": key}
        for key in raw
        if key not in SCRIPT_KEYS
    ]
    decisions = raw.get("decisions") or {}
    durations = raw.get("durations") or {}
    if not isinstance(decisions, dict) or not isinstance(durations, dict):
        return None, [*errors, _("decisions and durations must be mappings of node ids")]
    for node_id, value in decisions.items():
        values = value if isinstance(value, list) else [value]
        if node_id not in node_ids:
            errors.append(_("decisions: unknown node '%(node)s'") % {"node": node_id})
        elif not values or not all(isinstance(v, str) and v in TASK_OUTCOMES for v in values):
            errors.append(
                _("decisions: '%(node)s' takes approve, reject or return (or a list of them)")
                % {"node": node_id}
            )
    for node_id, value in durations.items():
        if node_id not in node_ids:
            errors.append(_("durations: unknown node '%(node)s'") % {"node": node_id})
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            errors.append(_("durations: '%(node)s' takes a number of working days") % {"node": node_id})
    if errors:
        return None, errors
    return Script(decisions=dict(decisions), durations={k: float(v) for k, v in durations.items()}), []


def template_dry_run(*, source: str, script_text: str = "", today: date, language: str = "zh") -> DryRun:
    definition, problems = template_check(source)
    if problems or definition is None:
        return DryRun(problems=problems)
    script, errors = _script(script_text, set(definition.nodes))
    if script is None:
        return DryRun(script_errors=errors)
    try:
        return DryRun(result=simulate(definition, script, today=today))
    except SimulationDataError as exc:
        lang = "en" if language.startswith("en") else "zh"
        return DryRun(error="; ".join(f"{e.path}: {e.message.get(lang, e.code)}" for e in exc.errors))
    except EngineError as exc:  # said in the reader's language, with the template lines it names
        return DryRun(error=engine_text(exc.message))
