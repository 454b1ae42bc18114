"""Which characters text may hold: the one rule for every text input (form
fields here, and the web's filters and forms and the API through
govflow.security.input).

Refused everywhere:

- C0 and C1 control characters and DEL, NUL among them (PostgreSQL cannot
  store NUL in text at all); multi-line text keeps tab, line feed and
  carriage return;
- bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E,
  U+200F, U+202A-U+202E, U+2066-U+2069), which reorder what is shown;
- invisible formatting characters: soft hyphen (U+00AD), zero-width space,
  non-joiner and joiner (U+200B-U+200D), word joiner and the invisible
  operators (U+2060-U+2064), zero-width no-break space / byte-order mark
  (U+FEFF) and the tag characters (U+E0000-U+E007F): two company names that
  look the same must be the same;
- lone surrogates, which cannot be stored as UTF-8.
"""

from __future__ import annotations

import re

_INVISIBLE = "\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f"
_SURROGATES = "\ud800-\udfff"
SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}{_SURROGATES}]")
MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_INVISIBLE}{_SURROGATES}]")


def forbidden_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character `text` may not hold, or None when it is clean.
    `multiline` allows tab, line feed and carriage return."""
    found = (MULTI_LINE if multiline else SINGLE_LINE).search(text)
    return found.group() if found else None


def code_point(char: str) -> str:
    """'U+200B': how messages name a character that cannot be seen."""
    return f"U+{ord(char):04X}"


def refusal_message(char: str) -> dict[str, str]:
    """The message for a refused character, in Chinese and English."""
    point = code_point(char)
    return {
        "zh": f"内容包含不允许的控制字符或不可见的格式字符（{point}），请删除后重新输入。",
        "en": f"The value contains a control or invisible formatting character ({point}) that is not "
        "allowed; please remove it.",
    }
