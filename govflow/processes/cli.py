"""Shared helpers of the template commands (validate_process, simulate_process)."""

from __future__ import annotations

from pathlib import Path

from django.db import DatabaseError

from govflow.engine import Definition, Problem, check_definition
from govflow.engine.problems import Message
from govflow.messages import translated_problems

from .handlers import handler_names
from .placeholders import placeholder_problems
from .services import fixture_departments, known_departments


def departments_for_validation() -> frozenset[str]:
    """The database's departments when it has any, else the shipped list, so
    the commands work on a fresh checkout with no database."""
    try:
        found = known_departments()
    except DatabaseError:
        found = frozenset()
    return found or fixture_departments()


def read_definition(path: str) -> tuple[Definition | None, list[str]]:
    """The template in `path`, or its problems as `PATH:LINE:COL: message`
    lines in the active language."""
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        problem = Problem(1, 1, Message("cannot read the file: {reason}", reason=exc.strerror or str(exc)))
        return None, [p.format(path) for p in translated_problems([problem])]
    definition, problems = check_definition(
        source, departments=departments_for_validation(), handlers=handler_names()
    )
    if definition is not None:
        problems = placeholder_problems(source)
        definition = None if problems else definition
    return definition, [p.format(path) for p in translated_problems(problems)]
