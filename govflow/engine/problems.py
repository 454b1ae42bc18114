"""Errors the engine reports.

Validation problems carry a line and column (1-based) so that every consumer,
the `validate_process` command, the admin's YAML editor and the API, can point
at the exact place in the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Message(str):
    """A message in English that keeps the template and the values it was
    made from (`str.format` fields), so that a caller holding a translation
    catalogue can say it in the reader's language without the engine
    importing one: the template is the catalogue's key (govflow.engine_text
    translates it, and any value that is a Message itself). It compares,
    hashes and prints as the English text."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        self = super().__new__(cls, template.format(**params) if params else template)
        self.template = template
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_message, (self.template, dict(self.params)))


def _message(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    line: int
    col: int
    message: str

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.col}: {self.message}"


class EngineError(Exception):
    """Base of everything the engine raises on purpose; `code` is stable."""

    code = "engine_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidDefinition(EngineError):
    """A template that does not validate; `problems` lists every error at once."""

    code = "invalid_definition"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        first = self.problems[0] if self.problems else Problem(1, 1, "invalid definition")
        super().__init__(
            f"{len(self.problems)} problem(s); first at {first.line}:{first.col}: {first.message}"
        )

    def lines(self, path: str) -> list[str]:
        return [p.format(path) for p in self.problems]


class IllegalEvent(EngineError):
    """An event that does not apply to the current state (a task that is not
    open, an outcome the node does not offer, a case that has ended)."""

    code = "illegal_event"


class NoBranchMatched(EngineError):
    """An exclusive or inclusive gateway found no true condition and has no
    default flow: the case cannot move on until its data changes."""

    code = "no_branch_matched"
