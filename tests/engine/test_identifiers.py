from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govflow.engine.identifiers import (
    USCC_ALPHABET,
    cn_id_problem,
    is_cn_mobile,
    make_cn_id,
    make_uscc,
    mask,
    uscc_problem,
)

TODAY = date(2026, 1, 5)

regions = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
uscc_first17 = st.tuples(
    st.sampled_from("123456789ANY"),
    st.sampled_from(USCC_ALPHABET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
).map("".join)


# --- resident ID numbers -----------------------------------------------------------


@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x", "360426199101010071"])
def test_cn_id_accepts_domain_examples(value):
    assert cn_id_problem(value, today=TODAY) is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002XX", "length"),
        ("1101051949123100X2", "characters"),
        ("11010519491231002Y", "characters"),
        ("11010519491231０02X", "characters"),  # a full-width digit
        ("11010519491231O02X", "characters"),
        ("110105194912320026", "birth_date"),  # 31 December + 1: 1949-12-32
        ("110105194902300020", "birth_date"),  # 30 February
        ("110105189912310020", "birth_date"),  # before 1900
        ("110105202601060020", "birth_date"),  # the day after TODAY
        ("110105194912310021", "checksum"),
        ("360426199101010072", "checksum"),
    ],
)
def test_cn_id_reports_each_problem(value, code):
    assert cn_id_problem(value, today=TODAY) == code


def test_cn_id_birth_date_today_is_allowed():
    value = make_cn_id("110105", TODAY, 1)

    assert cn_id_problem(value, today=TODAY) is None
    assert cn_id_problem(value, today=date(2026, 1, 4)) == "birth_date"


def test_cn_id_rejects_non_ascii_digits():
    arabic_indic = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"

    assert len(arabic_indic) == 18
    assert cn_id_problem(arabic_indic, today=TODAY) == "characters"


def test_make_cn_id_reproduces_known_numbers():
    assert make_cn_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"
    assert make_cn_id("360426", date(1991, 1, 1), 7) == "360426199101010071"


@pytest.mark.parametrize(
    ("region", "sequence"),
    [("11010", 1), ("11010a", 1), ("１１０１０５", 1), ("110105", 1000), ("110105", -1)],
)
def test_make_cn_id_refuses_bad_parts(region, sequence):
    with pytest.raises(ValueError):
        make_cn_id(region, date(1990, 1, 1), sequence)


@given(regions, births, sequences)
def test_generated_cn_ids_validate(region, birth, sequence):
    assert cn_id_problem(make_cn_id(region, birth, sequence), today=TODAY) is None


@given(regions, births, sequences, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_of_cn_id_is_rejected(region, birth, sequence, position, replacement):
    valid = make_cn_id(region, birth, sequence)
    changed = valid[:position] + replacement + valid[position + 1 :]

    if changed == valid:
        return
    assert cn_id_problem(changed, today=TODAY) is not None


# --- unified social credit codes ---------------------------------------------------


@pytest.mark.parametrize("value", ["91110000600037341L", "91110000600037341l"])
def test_uscc_accepts_domain_example(value):
    assert uscc_problem(value) is None


@pytest.mark.parametrize("first", ["A", "N", "Y"])
def test_uscc_accepts_authorities_that_python_stdnum_rejects(first):
    code = make_uscc(first + "1110000600037341")

    assert code[0] == first
    assert uscc_problem(code) is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "length"),
        ("91110000600037341", "length"),
        ("91110000600037341LL", "length"),
        ("01110000600037341L", "characters"),  # authority 0
        ("B1110000600037341L", "characters"),  # authority B
        ("9111000060003734IL", "characters"),  # I is not in the alphabet
        ("91A10000600037341L", "characters"),  # region must be digits
        ("91110000600037341S", "characters"),
        ("91110000600037341M", "checksum"),
        ("91110000600037342L", "checksum"),
    ],
)
def test_uscc_reports_each_problem(value, code):
    assert uscc_problem(value) == code


def test_make_uscc_reproduces_known_code():
    assert make_uscc("91110000600037341") == "91110000600037341L"


@pytest.mark.parametrize("first17", ["9111000060003734", "01110000600037341", "9111000060003734I"])
def test_make_uscc_refuses_bad_input(first17):
    with pytest.raises(ValueError):
        make_uscc(first17)


def reference_uscc_check(first17):
    """GB 32100-2015 as written in DOMAIN.md, independent of the module's arithmetic."""
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(first17, weights, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def reference_cn_id_check(first17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


@given(uscc_first17)
def test_make_uscc_matches_the_standard(first17):
    assert make_uscc(first17) == first17 + reference_uscc_check(first17)


@given(regions, births, sequences)
def test_make_cn_id_matches_the_standard(region, birth, sequence):
    value = make_cn_id(region, birth, sequence)

    assert value[17] == reference_cn_id_check(value[:17])


@given(uscc_first17)
def test_generated_usccs_validate(first17):
    assert uscc_problem(make_uscc(first17)) is None


@given(uscc_first17, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET))
def test_any_single_character_change_of_uscc_is_rejected(first17, position, replacement):
    valid = make_uscc(first17)
    changed = valid[:position] + replacement + valid[position + 1 :]

    if changed == valid:
        return
    assert uscc_problem(changed) is not None


# --- mobiles and masking -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", True),
        ("19912345678", True),
        ("12800138000", False),
        ("1380013800", False),
        ("138001380000", False),
        ("13800138000\n", False),
        ("+8613800138000", False),
        ("１３８００１３８０００", False),
        (13800138000, False),
        (None, False),
    ],
)
def test_is_cn_mobile(value, expected):
    assert is_cn_mobile(value) is expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("cn_id_number", "110105194912311234", "1101**********1234"),
        ("phone", "13812345678", "138****5678"),
        ("uscc", "91110000600037341L", "9111**********341L"),
        ("text", "张三丰", "张*丰"),
        ("email", "a@example.com", "a***********m"),
        ("text", "张三", "**"),
        ("text", "张", "*"),
        ("cn_id_number", "12345678", "1******8"),  # too short to keep 4 + 4
        ("text", "", ""),
        ("text", None, ""),
    ],
)
def test_mask(kind, value, expected):
    assert mask(kind, value) == expected


@given(st.sampled_from(["cn_id_number", "phone", "uscc", "text"]), st.text(min_size=1, max_size=40))
def test_mask_keeps_length_and_hides_something(kind, value):
    masked = mask(kind, value)

    assert len(masked) == len(value)
    assert "*" in masked
