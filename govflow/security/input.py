"""Text from the outside: NUL bytes and invisible characters are refused
with a clear message, never a 500 (PostgreSQL cannot store NUL in text,
and two names that look the same must be the same).

The rule is govflow.engine.text's, the one the engine applies to form
fields. Here it is applied to what reaches the views:

- `InputCharactersMiddleware`: the address (a path holding such a character
  names nothing: 404), every query parameter (every filter, web and API:
  400) and every posted form field of the web (400), file contents and
  password fields aside. Views that check their own fields, with a message
  next to each (the application and correction forms, through the form's
  rules), are marked `@checks_own_text` and skip the form-field check.
- `hidden_character_fields`: the same check over a parsed body, which the
  API's views apply to every request body (govflow.api.views.base), the
  case form's data aside: the form's rules check it, field by field.

Error answers under /api/ have the API's one JSON shape; elsewhere the
site's error page in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.http import Http404, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from govflow.api.errors import error_response
from govflow.api.language import activate_for
from govflow.engine.text import code_point, forbidden_character

API_PREFIX = "/api/"


def hidden_character_message(char: str, *, name: str | None = None) -> str:
    """The refusal in the active language, naming the character by code point."""
    if name:
        return _(
            "“%(name)s” contains a character that is not allowed (%(char)s: a control or invisible "
            "formatting character); please remove it."
        ) % {"name": name, "char": code_point(char)}
    return _(
        "The value contains a character that is not allowed (%(char)s: a control or invisible "
        "formatting character); please remove it."
    ) % {"char": code_point(char)}


def hidden_character_fields(value, path: str = "", *, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """{path: [message]} for every string in a parsed body (JSON objects and
    lists, a form's values; files aside) that holds a refused character.
    Top-level members named in `skip` are left to a check of their own."""
    if isinstance(value, str):
        char = forbidden_character(value, multiline=True)
        return {} if char is None else {path: [hidden_character_message(char)]}
    found: dict[str, list[str]] = {}
    if isinstance(value, QueryDict):
        value = {key: items if len(items) > 1 else items[0] for key, items in value.lists()}
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if not path and name in skip:
                continue
            char = forbidden_character(name)
            if char is not None:
                found[path] = [hidden_character_message(char)]
                continue
            found.update(hidden_character_fields(item, f"{path}.{name}" if path else name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.update(hidden_character_fields(item, f"{path}.{index}" if path else str(index)))
    return found


def checks_own_text(view):
    """Mark a view whose form reports refused characters field by field."""
    view.checks_own_text = True
    return view


def _first_refused(items: Iterable[tuple[str, list[str]]], *, multiline: bool) -> tuple[str, str] | None:
    for key, values in items:
        for text in (key, *values):
            char = forbidden_character(text, multiline=multiline)
            if char is not None:
                return key, char
    return None


def _is_password(name: str) -> bool:
    # A password is compared, never stored or shown; any character the user
    # chose must keep working.
    return "password" in name.lower()


class InputCharactersMiddleware:
    """See the module docstring. After CsrfViewMiddleware: a forged post is
    refused as such first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if forbidden_character(request.path_info) is not None:
            return self._not_found(request)
        refused = _first_refused(request.GET.lists(), multiline=False)
        if refused is None and self._checks_form(request, view_func):
            fields = ((k, v) for k, v in request.POST.lists() if not _is_password(k))
            refused = _first_refused(fields, multiline=True)
        if refused is None:
            return None
        name, char = refused
        return self._refused(request, name, char)

    @staticmethod
    def _checks_form(request, view_func) -> bool:
        # The API's bodies are parsed by DRF and checked by its views
        # (govflow.api.views.base); some views check field by field.
        return (
            request.method == "POST"
            and not request.path_info.startswith(API_PREFIX)
            and not getattr(view_func, "checks_own_text", False)
        )

    def _not_found(self, request):
        if request.path_info.startswith(API_PREFIX):
            activate_for(request)
            return error_response(404, "not_found", _("The page or item was not found."))
        return defaults.page_not_found(request, Http404())

    def _refused(self, request, name: str, char: str):
        # A parameter name that is itself refused is not repeated.
        shown = name if forbidden_character(name) is None else None
        if request.path_info.startswith(API_PREFIX):
            activate_for(request)
            message = hidden_character_message(char, name=shown)
            return error_response(400, "invalid", message, {shown: [message]} if shown else None)
        message = hidden_character_message(char, name=shown)
        return render(request, "errors/error.html", {"message": message, "status": 400}, status=400)
