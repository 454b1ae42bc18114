"""The language of API answers.

The web speaks Chinese unless the user chose English (a cookie; see
govflow.web.middleware). The API honours that choice too, and otherwise the
request's Accept-Language when it names a language govflow speaks; without
either it answers in Chinese. Only messages are translated: codes, field
ids and values never are.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


def _from_header(header: str) -> str | None:
    supported = {code for code, _name in settings.LANGUAGES}
    for tag, _quality in parse_accept_lang_header(header or ""):
        if tag == "*":
            return None
        try:
            variant = translation.get_supported_language_variant(tag)
        except LookupError:
            continue
        if variant in supported:
            return variant
    return None


def activate_for(request) -> str:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    supported = {code for code, _name in settings.LANGUAGES}
    if chosen not in supported:
        chosen = _from_header(request.headers.get("Accept-Language", "")) or settings.LANGUAGE_CODE
    translation.activate(chosen)
    request.LANGUAGE_CODE = chosen
    return chosen


def is_english() -> bool:
    return (translation.get_language() or "").startswith("en")


def lang() -> str:
    """'en' or 'zh', as the selectors and services take it."""
    return "en" if is_english() else "zh"
