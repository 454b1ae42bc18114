"""govflow's error hierarchy. Every error a user can cause has a stable
`code` and a plain message; views, the API and commands turn these into
responses in one place each, never into a traceback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class GovflowError(Exception):
    code = "error"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, fields: Mapping[str, Sequence[str]] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = dict(fields or {})


class NotFound(GovflowError):
    code = "not_found"
    status = 404


class Forbidden(GovflowError):
    code = "forbidden"
    status = 403

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A refusal is audited even when the caller handles it (the audit
        # app registers here; the service's own transaction rolls back).
        for observe in REFUSAL_OBSERVERS:
            observe(self)


REFUSAL_OBSERVERS: list = []


class Conflict(GovflowError):
    """The object changed under the caller: a task a colleague already
    decided, a case that moved on. Nothing was written."""

    code = "conflict"
    status = 409


class InvalidInput(GovflowError):
    code = "invalid"
    status = 400


class FormInvalid(InvalidInput):
    """Form data failed validation; `errors` holds the engine's FieldErrors
    and `fields` maps each path to its messages in the caller's language."""

    code = "form_invalid"

    def __init__(self, errors, *, language: str = "zh") -> None:
        self.errors = tuple(errors)
        fields: dict[str, list[str]] = {}
        for error in self.errors:
            fields.setdefault(error.path, []).append(
                error.message.get(language[:2], error.message.get("en", ""))
            )
        super().__init__("the form has errors", fields=fields)


class ConfigurationError(GovflowError):
    code = "configuration"
    status = 500
