"""The one rule for the characters text may hold (govflow.engine.text), and
the form fields that apply it: NUL, controls, bidi and invisible formatting
characters are refused, ordinary text of any script is not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govflow.engine.text import code_point, forbidden_character, refusal_message

from .test_forms import spec, validate_one

INVISIBLE = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\u2063", "\ufeff", "\U000e0041"]
BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069"]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"]
ALLOWED = [
    "北京示例科技有限公司",
    "Zhāng Sān & Co., Ltd.",
    "ئۇيغۇر تىلى",  # Uyghur (Arabic script) without marks
    "ᠮᠣᠩᠭᠣᠯ",  # Mongolian
    "བོད་ཡིག",  # Tibetan
    "𠀀𪚥",  # ideographs beyond the BMP
    "😀",
]


@pytest.mark.parametrize("char", INVISIBLE + BIDI + CONTROLS, ids=code_point)
def test_refused_everywhere(char):
    assert forbidden_character(f"a{char}b") == char
    assert forbidden_character(f"a{char}b", multiline=True) == char


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_text_of_any_script_passes(text):
    assert forbidden_character(text) is None


def test_line_breaks_and_tabs_only_in_multi_line_text():
    for char in ("\n", "\r", "\t"):
        assert forbidden_character(f"a{char}b") == char
        assert forbidden_character(f"a{char}b", multiline=True) is None


def test_a_lone_surrogate_is_refused():
    assert forbidden_character("a\ud800") == "\ud800"


def test_the_message_names_the_character_it_refuses():
    message = refusal_message("\u200b")

    assert "U+200B" in message["zh"]
    assert "U+200B" in message["en"]
    assert code_point("\U000e0041") == "U+E0041"


@pytest.mark.parametrize("char", INVISIBLE, ids=code_point)
@pytest.mark.parametrize("field_type", ["text", "textarea", "address"])
def test_form_fields_refuse_invisible_characters(char, field_type):
    error = validate_one(spec(field_type=field_type), f"北京{char}示例").errors[0]

    assert error.code == "control_chars"
    assert code_point(char) in error.message["zh"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_whatever_passes_can_be_stored_and_holds_nothing_invisible(text):
    if forbidden_character(text, multiline=True) is None:
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogate
        assert not any(char in text for char in INVISIBLE + BIDI)
