"""Errors the catalogue's users cause, already in their language.

Services elsewhere raise plain English and the web and API translate known
messages; the catalogue's messages are written with gettext at the point
they are raised, and marked `translated` so the API passes them through."""

from __future__ import annotations

from typing import Any

from govflow.errors import GovflowError
from govflow.messages import error_text


def user_error(kind: type[GovflowError], message: Any, **kwargs: Any) -> GovflowError:
    error = kind(str(message), **kwargs)
    error.translated = True  # type: ignore[attr-defined]
    return error


def message_of(error: GovflowError) -> str:
    if getattr(error, "translated", False):
        return error.message

    return error_text(error)
