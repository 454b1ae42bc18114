"""Chinese identifier checksums, generators and display masking.

Resident ID numbers follow GB 11643-1999 and unified social credit codes follow
GB 32100-2015. Pure Python: the engine imports this, so no Django here.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "USCC_ALPHABET",
    "cn_id_problem",
    "is_cn_mobile",
    "make_cn_id",
    "make_uscc",
    "mask",
    "uscc_problem",
]

_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK_CHARS = "10X98765432"
_CN_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

# GB 32100-2015 leaves out I, O, S, V and Z; a character's value is its index here.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# python-stdnum rejects a leading A, N or Y, but the standard allows them.
_USCC_SHAPE = re.compile(r"[1-9ANY][0-9A-HJ-NPQRTUWXY][0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
_USCC_FIRST17_SHAPE = re.compile(r"[1-9ANY][0-9A-HJ-NPQRTUWXY][0-9]{6}[0-9A-HJ-NPQRTUWXY]{9}")

_CN_MOBILE_SHAPE = re.compile(r"1[3-9][0-9]{9}")

_EARLIEST_BIRTH_YEAR = 1900


def _cn_id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK_CHARS[total % 11]


def _uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _parse_birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def cn_id_problem(value: str, *, today: date) -> str | None:
    """Return None for a valid resident ID number, else an error code.

    Codes: ``"length"`` (not 18 characters), ``"characters"`` (anything but 17
    digits and a digit or X), ``"birth_date"`` (not a real date, in the future
    or before 1900) and ``"checksum"``. A lowercase ``x`` is accepted; the value
    is not stripped, so callers strip user input first.
    """
    if not isinstance(value, str):
        return "characters"
    if len(value) != 18:
        return "length"
    normalised = value.upper()
    if not _CN_ID_SHAPE.fullmatch(normalised):
        return "characters"
    birth = _parse_birth_date(normalised[6:14])
    if birth is None or birth > today or birth.year < _EARLIEST_BIRTH_YEAR:
        return "birth_date"
    if _cn_id_check_char(normalised[:17]) != normalised[17]:
        return "checksum"
    return None


def uscc_problem(value: str) -> str | None:
    """Return None for a valid unified social credit code, else an error code.

    Codes: ``"length"``, ``"characters"`` (outside the GB 32100 alphabet or in
    the wrong place) and ``"checksum"``. Lowercase letters are accepted as
    their uppercase forms.
    """
    if not isinstance(value, str):
        return "characters"
    if len(value) != 18:
        return "length"
    normalised = value.upper()
    if not _USCC_SHAPE.fullmatch(normalised):
        return "characters"
    if _uscc_check_char(normalised[:17]) != normalised[17]:
        return "checksum"
    return None


def is_cn_mobile(value: object) -> bool:
    """Whether ``value`` is an 11-digit mainland mobile number (no prefix or spaces)."""
    return isinstance(value, str) and _CN_MOBILE_SHAPE.fullmatch(value) is not None


def make_cn_id(region: str, birth: date, sequence: int) -> str:
    """Build a resident ID number with its check character (for tests and demo data).

    An odd ``sequence`` (0..999) denotes a man, an even one a woman.
    """
    if not (isinstance(region, str) and len(region) == 6 and region.isascii() and region.isdigit()):
        raise ValueError(f"region must be 6 ASCII digits, got {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be between 0 and 999, got {sequence}")
    first17 = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return first17 + _cn_id_check_char(first17)


def make_uscc(first17: str) -> str:
    """Append the check character to the first 17 characters of a credit code."""
    if not (isinstance(first17, str) and _USCC_FIRST17_SHAPE.fullmatch(first17)):
        raise ValueError(f"not the first 17 characters of a unified social credit code: {first17!r}")
    return first17 + _uscc_check_char(first17)


# Characters kept visible at the start and end of a masked value.
_MASK_KEEP = {
    "cn_id_number": (4, 4),
    "phone": (3, 4),
    "uscc": (4, 4),
}


def mask(kind: str, value: str | None) -> str:
    """Mask a value for display, one ``*`` per hidden character.

    ``kind`` is a form field type: ``cn_id_number`` and ``uscc`` keep the first
    and last 4 characters, ``phone`` the first 3 and last 4, anything else the
    first and last character. A value too short to hide anything under its
    kind's rule falls back to the general rule, and a value of one or two
    characters becomes all ``*``.
    """
    if value is None:
        return ""
    text = str(value)
    if not text:
        return ""
    head, tail = _MASK_KEEP.get(kind, (1, 1))
    if len(text) <= head + tail:
        head, tail = 1, 1
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]
