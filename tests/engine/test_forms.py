from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.engine.forms import (
    FIELD_TYPES,
    AttachmentSpec,
    Choice,
    FieldSpec,
    FormResult,
    FormSpec,
    mask_value,
    resolve_date_limit,
    validate_form_data,
)

TODAY = date(2026, 1, 5)
LABEL = {"zh": "字段", "en": "Field"}


def spec(field_id="value", field_type="text", **options):
    return FieldSpec(id=field_id, type=field_type, label=LABEL, **options)


def choices(*values):
    return tuple(Choice(value=value, label={"zh": value, "en": value}) for value in values)


SHAREHOLDERS = spec(
    "shareholders",
    "table",
    columns=(
        spec("name", required=True),
        spec("id_number", "cn_id_number", required=True, sensitivity="secret"),
        spec("amount", "decimal", min=Decimal("0.01")),
    ),
    min_rows=1,
    max_rows=3,
)

EVERY_TYPE = FormSpec(
    fields=(
        spec("company_name", required=True, max_length=100),
        spec("scope", "textarea"),
        spec("employees", "number", min=0, max=100_000),
        spec("capital", "decimal", min=Decimal("0.01"), max=Decimal("1000000000")),
        spec("paid_by", "date", min="today", max="today+5y"),
        spec("entity_type", "choice", choices=choices("llc", "sole")),
        spec("services", "multichoice", choices=choices("seal", "tax", "bank")),
        spec("agree", "boolean"),
        spec("legal_rep_id", "cn_id_number", sensitivity="secret"),
        spec("credit_code", "uscc"),
        spec("mobile", "phone", sensitivity="secret"),
        spec("email", "email"),
        spec("address", "address"),
        SHAREHOLDERS,
    ),
    attachments=(AttachmentSpec(id="licence_scan", label=LABEL, types=("application/pdf",)),),
)


def validate_one(field, value, *, partial=False):
    return validate_form_data(FormSpec(fields=(field,)), {field.id: value}, today=TODAY, partial=partial)


def only_error(result):
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def assert_bilingual(error):
    assert set(error.message) == {"zh", "en"}
    assert error.message["zh"].strip()
    assert error.message["en"].strip()
    assert error.message["zh"] != error.message["en"]
    assert error.message["en"][0].isupper()
    assert error.message["en"].endswith(".")


# --- accepted values, per type -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "cleaned"),
    [
        (spec(), "  有限公司  ", "有限公司"),
        (spec(field_type="textarea"), "line one\r\nline\ttwo\n", "line one\nline\ttwo"),
        (spec(field_type="address"), "北京市东城区 1 号", "北京市东城区 1 号"),
        (spec(field_type="number"), "12", 12),
        (spec(field_type="number"), " -3 ", -3),
        (spec(field_type="number"), 12, 12),
        (spec(field_type="number"), 12.0, 12),
        (spec(field_type="decimal"), "3.5", "3.50"),
        (spec(field_type="decimal"), "1000000", "1000000.00"),
        (spec(field_type="decimal"), 1000000, "1000000.00"),
        (spec(field_type="decimal"), 0.1, "0.10"),
        (spec(field_type="decimal"), Decimal("2.500"), "2.50"),
        (spec(field_type="decimal"), "-0.00", "0.00"),
        (spec(field_type="decimal", decimals=0), "42", "42"),
        (spec(field_type="decimal", decimals=4), ".1234", "0.1234"),
        (spec(field_type="date"), "2026-01-05", "2026-01-05"),
        (spec(field_type="date"), date(2024, 2, 29), "2024-02-29"),
        (spec(field_type="choice", choices=choices("a", "b")), "b", "b"),
        (spec(field_type="multichoice", choices=choices("a", "b", "c")), ["c", "a", "c"], ["a", "c"]),
        (spec(field_type="multichoice", choices=choices("a", "b")), "b", ["b"]),
        (spec(field_type="boolean"), "on", True),
        (spec(field_type="boolean"), "TRUE", True),
        (spec(field_type="boolean"), "1", True),
        (spec(field_type="boolean"), "false", False),
        (spec(field_type="boolean"), "0", False),
        (spec(field_type="boolean"), False, False),
        (spec(field_type="boolean"), 1, True),
        (spec(field_type="cn_id_number"), "11010519491231002x", "11010519491231002X"),
        (spec(field_type="uscc"), " 91110000600037341l ", "91110000600037341L"),
        (spec(field_type="phone"), "138 0013 8000", "13800138000"),
        (spec(field_type="phone"), "+86-138-0013-8000", "13800138000"),
        (spec(field_type="email"), "Zhang.San@Example.COM", "Zhang.San@example.com"),
    ],
)
def test_accepted_values_are_cleaned_to_json_safe_values(field, raw, cleaned):
    result = validate_one(field, raw)

    assert result.errors == ()
    assert result.ok
    assert result.cleaned == {field.id: cleaned}
    assert type(result.cleaned[field.id]) is type(cleaned)


# --- rejected values, per type -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "code"),
    [
        (spec(), {"a": 1}, "type"),
        (spec(), 12, "type"),
        (spec(max_length=3), "四个字符", "too_long"),
        (spec(), "x" * 201, "too_long"),
        (spec(field_type="textarea"), "x" * 2001, "too_long"),
        (spec(min_length=3), "ab", "too_short"),
        (spec(pattern=r"[A-Z]{2}\d{4}"), "AB12345", "pattern"),
        (spec(), "line\nbreak", "control_chars"),
        (spec(), "tab\there", "control_chars"),
        (spec(), "nul\x00", "control_chars"),
        (spec(field_type="textarea"), "bell\x07", "control_chars"),
        (spec(field_type="textarea"), "\x1b[31mred", "control_chars"),
        (spec(field_type="textarea"), "form\x0cfeed", "control_chars"),
        (spec(field_type="textarea"), "a\u202eb", "control_chars"),
        (spec(field_type="multichoice", choices=choices("a")), ["a\x00"], "control_chars"),
        (spec(), "abc\u202edcba", "control_chars"),
        (spec(), "isolate\u2066x\u2069", "control_chars"),
        (spec(), "mark\u200f", "control_chars"),
        (spec(), "\ud800", "control_chars"),
        (spec(field_type="number"), [1], "type"),
        (spec(field_type="number"), True, "type"),
        (spec(field_type="number"), "1.5", "invalid"),
        (spec(field_type="number"), 1.5, "invalid"),
        (spec(field_type="number"), "1_000", "invalid"),
        (spec(field_type="number"), "١٢", "invalid"),
        (spec(field_type="number"), "NaN", "invalid"),
        (spec(field_type="number"), float("inf"), "invalid"),
        (spec(field_type="number"), "9" * 40, "invalid"),
        (spec(field_type="number"), 10**40, "invalid"),
        (spec(field_type="number", min=1), "0", "too_small"),
        (spec(field_type="number", max=10), "11", "too_large"),
        (spec(field_type="decimal"), "3.501", "decimals"),
        (spec(field_type="decimal", decimals=0), "3.5", "decimals"),
        (spec(field_type="decimal"), "1e3", "invalid"),
        (spec(field_type="decimal"), "Infinity", "invalid"),
        (spec(field_type="decimal"), float("nan"), "invalid"),
        (spec(field_type="decimal"), Decimal("NaN"), "invalid"),
        (spec(field_type="decimal"), Decimal("sNaN"), "invalid"),
        (spec(field_type="decimal"), "1,000.00", "invalid"),
        (spec(field_type="decimal"), False, "type"),
        (spec(field_type="decimal", min=Decimal("0.01")), "0", "too_small"),
        (spec(field_type="decimal", max=Decimal("100")), "100.01", "too_large"),
        (spec(field_type="date"), "2026-02-30", "invalid"),
        (spec(field_type="date"), "20260105", "invalid"),
        (spec(field_type="date"), "2026-W01-1", "invalid"),
        (spec(field_type="date"), 20260105, "type"),
        (spec(field_type="date", min="today"), "2026-01-04", "too_small"),
        (spec(field_type="date", max="today+5y"), "2031-01-06", "too_large"),
        (spec(field_type="date", max="today-18y"), "2008-01-06", "too_large"),
        (spec(field_type="date", min=date(2020, 1, 1)), "2019-12-31", "too_small"),
        (spec(field_type="choice", choices=choices("a", "b")), "c", "choice"),
        (spec(field_type="choice", choices=choices("a", "b")), ["a"], "type"),
        (spec(field_type="multichoice", choices=choices("a", "b")), ["a", "z"], "choice"),
        (spec(field_type="multichoice", choices=choices("a", "b")), ["a", 1], "type"),
        (spec(field_type="multichoice", choices=choices("a", "b")), {"a": True}, "type"),
        (spec(field_type="boolean"), "maybe", "invalid"),
        (spec(field_type="boolean"), 2, "type"),
        (spec(field_type="cn_id_number"), "11010519491231002", "invalid"),
        (spec(field_type="cn_id_number"), "110105194912310021", "checksum"),
        (spec(field_type="cn_id_number"), "110105202601060020", "birth_date"),
        (spec(field_type="cn_id_number"), 110105194912310021, "type"),
        (spec(field_type="uscc"), "91110000600037341M", "checksum"),
        (spec(field_type="uscc"), "9111000060003734IL", "invalid"),
        (spec(field_type="phone"), "12800138000", "invalid"),
        (spec(field_type="phone"), "010-12345678", "invalid"),
        (spec(field_type="email"), "not-an-email", "invalid"),
        (spec(field_type="email"), "a@localhost", "invalid"),
        (spec(field_type="email"), "a b@example.com", "invalid"),
        (spec(field_type="table", columns=(spec("name"),)), "rows", "type"),
        (spec(field_type="table", columns=(spec("name"),)), {"name": "x"}, "type"),
    ],
)
def test_rejected_values_give_one_coded_bilingual_error(field, raw, code):
    result = validate_one(field, raw)

    error = only_error(result)
    assert error.code == code
    assert error.path == field.id
    assert_bilingual(error)
    assert result.cleaned == {}
    assert not result.ok


@pytest.mark.parametrize(
    ("field", "raw", "limit"),
    [
        (spec(max_length=100), "x" * 101, "100"),
        (spec(min_length=5), "abc", "5"),
        (spec(field_type="number", min=18), "17", "18"),
        (spec(field_type="decimal", max=Decimal("1000000")), "1000000.01", "1000000"),
        (spec(field_type="decimal", decimals=3), "1.2345", "3"),
        (spec(field_type="date", max="today+30d"), "2026-02-05", "2026-02-04"),
    ],
)
def test_limit_errors_name_the_limit_in_both_languages(field, raw, limit):
    error = only_error(validate_one(field, raw))

    assert limit in error.message["zh"]
    assert limit in error.message["en"]


def test_max_length_counts_characters_not_bytes():
    field = spec(max_length=4)

    assert validate_one(field, "统一社会").ok
    assert only_error(validate_one(field, "统一社会信")).code == "too_long"


def test_textarea_keeps_inner_newlines_but_text_does_not_allow_them():
    assert validate_one(spec(field_type="textarea"), "a\nb").cleaned == {"value": "a\nb"}
    assert only_error(validate_one(spec(), "a\nb")).code == "control_chars"


# --- empty values, required and partial ------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000"])
@pytest.mark.parametrize(
    "field_type", [t for t in FIELD_TYPES if t not in ("choice", "multichoice", "table")]
)
def test_required_empty_value_is_an_error_unless_partial(field_type, empty):
    field = spec(field_type=field_type, required=True)

    full = validate_one(field, empty)
    draft = validate_one(field, empty, partial=True)

    assert only_error(full).code == "required"
    assert_bilingual(full.errors[0])
    assert draft.ok
    assert draft.cleaned == {}


@pytest.mark.parametrize(
    ("field", "empty"),
    [
        (spec(field_type="choice", choices=choices("a"), required=True), None),
        (spec(field_type="choice", choices=choices("a"), required=True), " "),
        (spec(field_type="multichoice", choices=choices("a"), required=True), []),
        (spec(field_type="multichoice", choices=choices("a"), required=True), ""),
        (spec(field_type="table", columns=(spec("name"),), required=True), []),
        (spec(field_type="table", columns=(spec("name"),), required=True), None),
        (spec(field_type="table", columns=(spec("name"),), required=True), [{"name": ""}, {}]),
    ],
)
def test_required_empty_choices_and_tables_are_errors(field, empty):
    assert only_error(validate_one(field, empty)).code == "required"
    assert validate_one(field, empty, partial=True).ok


def test_missing_required_field_is_reported():
    result = validate_form_data(EVERY_TYPE, {}, today=TODAY)

    assert [(error.path, error.code) for error in result.errors] == [
        ("company_name", "required"),
        ("shareholders", "too_few_rows"),
    ]


def test_optional_empty_values_are_omitted_from_cleaned():
    form = FormSpec(fields=(spec("a"), spec("b", "number"), spec("c", "boolean")))

    result = validate_form_data(form, {"a": " ", "b": None}, today=TODAY)

    assert result.ok
    assert result.cleaned == {}


def test_required_boolean_must_be_ticked():
    field = spec(field_type="boolean", required=True)

    assert only_error(validate_one(field, "false")).code == "required"
    assert validate_one(field, "on").cleaned == {"value": True}
    assert validate_one(field, "false", partial=True).cleaned == {"value": False}


def test_partial_still_reports_invalid_values():
    result = validate_form_data(
        EVERY_TYPE, {"company_name": "", "employees": "many"}, today=TODAY, partial=True
    )

    assert [(error.path, error.code) for error in result.errors] == [("employees", "invalid")]


# --- whole forms -----------------------------------------------------------------


def test_a_complete_submission_is_cleaned():
    data = {
        "company_name": "北京示例科技有限公司",
        "scope": "软件开发\r\n技术咨询",
        "employees": "25",
        "capital": "1000000",
        "paid_by": "2030-12-31",
        "entity_type": "llc",
        "services": ["tax", "seal"],
        "agree": "on",
        "legal_rep_id": "11010519491231002x",
        "credit_code": "91110000600037341L",
        "mobile": "13800138000",
        "email": "li@Example.cn",
        "address": "北京市东城区",
        "shareholders": [
            {"name": "李四", "id_number": "360426199101010071", "amount": "600000"},
            {"name": "王五", "id_number": "11010519491231002X", "amount": 400000},
        ],
    }

    result = validate_form_data(EVERY_TYPE, data, today=TODAY)

    assert result.errors == ()
    assert result.cleaned == {
        "company_name": "北京示例科技有限公司",
        "scope": "软件开发\n技术咨询",
        "employees": 25,
        "capital": "1000000.00",
        "paid_by": "2030-12-31",
        "entity_type": "llc",
        "services": ["seal", "tax"],
        "agree": True,
        "legal_rep_id": "11010519491231002X",
        "credit_code": "91110000600037341L",
        "mobile": "13800138000",
        "email": "li@example.cn",
        "address": "北京市东城区",
        "shareholders": [
            {"name": "李四", "id_number": "360426199101010071", "amount": "600000.00"},
            {"name": "王五", "id_number": "11010519491231002X", "amount": "400000.00"},
        ],
    }


def test_unknown_keys_are_reported_including_attachment_ids():
    result = validate_form_data(
        EVERY_TYPE,
        {
            "company_name": "x",
            "shareholders": [{"name": "a", "id_number": "360426199101010071"}],
            "is_admin": True,
            "licence_scan": "file",
            3: "x",
        },
        today=TODAY,
    )

    assert sorted((error.path, error.code) for error in result.errors) == [
        ("3", "unknown_field"),
        ("is_admin", "unknown_field"),
        ("licence_scan", "unknown_field"),
    ]
    assert "is_admin" not in result.cleaned
    assert result.cleaned["company_name"] == "x"
    for error in result.errors:
        assert_bilingual(error)


@pytest.mark.parametrize("data", [None, [], "company_name=x", 42])
def test_data_that_is_not_a_mapping_is_a_type_error(data):
    result = validate_form_data(EVERY_TYPE, data, today=TODAY)

    error = only_error(result)
    assert (error.path, error.code) == ("", "type")
    assert_bilingual(error)


# --- tables ------------------------------------------------------------------------


def validate_rows(rows, *, partial=False):
    return validate_form_data(
        FormSpec(fields=(SHAREHOLDERS,)), {"shareholders": rows}, today=TODAY, partial=partial
    )


def test_table_errors_carry_zero_based_row_paths():
    result = validate_rows(
        [
            {"name": "李四", "id_number": "360426199101010071"},
            {"name": "", "id_number": "360426199101010072", "amount": "-1", "extra": 1},
            "not a row",
        ]
    )

    assert [(error.path, error.code) for error in result.errors] == [
        ("shareholders[1].name", "required"),
        ("shareholders[1].id_number", "checksum"),
        ("shareholders[1].amount", "too_small"),
        ("shareholders[1].extra", "unknown_field"),
        ("shareholders[2]", "type"),
    ]
    assert "shareholders" not in result.cleaned


def test_table_row_limits():
    row = {"name": "a", "id_number": "360426199101010071"}

    too_many = validate_rows([row] * 4)
    too_few = validate_form_data(
        FormSpec(fields=(SHAREHOLDERS,)), {"shareholders": [{"name": ""}]}, today=TODAY
    )

    assert [(e.path, e.code) for e in too_many.errors] == [("shareholders", "too_many_rows")]
    assert "3" in too_many.errors[0].message["en"]
    assert [(e.path, e.code) for e in too_few.errors] == [("shareholders", "too_few_rows")]


def test_table_min_rows():
    table = spec("people", "table", columns=(spec("name"),), min_rows=2)

    result = validate_one(table, [{"name": "a"}])

    assert [(e.path, e.code) for e in result.errors] == [("people", "too_few_rows")]
    assert validate_one(table, [{"name": "a"}], partial=True).ok


def test_blank_rows_are_dropped_but_paths_keep_submitted_indices():
    result = validate_rows(
        [{"name": "", "id_number": " ", "amount": None}, {"name": "a", "id_number": "bad"}]
    )

    assert [(e.path, e.code) for e in result.errors] == [("shareholders[1].id_number", "invalid")]


def test_table_rows_are_cleaned():
    result = validate_rows([{"name": " a ", "id_number": "360426199101010071", "amount": "1.5"}, {}])

    assert result.cleaned == {
        "shareholders": [{"name": "a", "id_number": "360426199101010071", "amount": "1.50"}]
    }


def test_partial_applies_inside_rows():
    result = validate_rows([{"name": "a"}], partial=True)

    assert result.ok
    assert result.cleaned == {"shareholders": [{"name": "a"}]}


# --- the whole-form property -------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "12", "3.50", "2026-01-05", "true", "on", "NaN", "1e999", "llc", "11010519491231002X"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
field_ids = st.sampled_from([field.id for field in EVERY_TYPE.fields]) | st.text(max_size=12)


@settings(max_examples=300)
@given(st.dictionaries(field_ids, json_values, max_size=16), st.booleans())
def test_arbitrary_json_never_raises(data, partial):
    result = validate_form_data(EVERY_TYPE, data, today=TODAY, partial=partial)

    assert isinstance(result, FormResult)
    for error in result.errors:
        assert_bilingual(error)
    assert set(result.cleaned) <= {field.id for field in EVERY_TYPE.fields}


@settings(max_examples=200)
@given(
    st.lists(st.dictionaries(st.sampled_from(["name", "id_number", "amount", "x"]), json_values), max_size=5)
)
def test_arbitrary_table_rows_never_raise(rows):
    result = validate_rows(rows)

    for error in result.errors:
        assert error.path.startswith("shareholders")
        assert_bilingual(error)


# --- date limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("today", date(2026, 1, 5)),
        ("today+30d", date(2026, 2, 4)),
        ("today-18y", date(2008, 1, 5)),
        ("today+5y", date(2031, 1, 5)),
        ("today+6m", date(2026, 7, 5)),
        ("today-13m", date(2024, 12, 5)),
        (date(2020, 5, 1), date(2020, 5, 1)),
    ],
)
def test_resolve_date_limit(limit, expected):
    assert resolve_date_limit(limit, TODAY) == expected


def test_a_limit_beyond_the_calendar_range_does_not_bound_anything():
    field = spec(field_type="date", max="today+7999y")  # valid syntax, but past 9999 from TODAY

    assert validate_one(field, "9999-12-31").cleaned == {"value": "9999-12-31"}


def test_month_and_year_steps_clamp_to_the_month_end():
    assert resolve_date_limit("today+1y", date(2024, 2, 29)) == date(2025, 2, 28)
    assert resolve_date_limit("today+1m", date(2026, 1, 31)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    "limit", ["tomorrow", "today+5", "today + 5y", "today+5w", "Today", "", 5, None, "today+9999y"]
)
def test_resolve_date_limit_refuses_bad_limits(limit):
    with pytest.raises(ValueError):
        resolve_date_limit(limit, TODAY)


# --- spec construction ----------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"field_type": "colour"},
        {"sensitivity": "top-secret"},
        {"field_type": "number", "min": "zero"},
        {"field_type": "number", "max": True},
        {"field_type": "date", "min": "yesterday"},
        {"min": 1},
        {"pattern": "("},
        {"field_type": "number", "pattern": "[0-9]+"},
        {"max_length": -1},
        {"field_type": "choice", "choices": choices("a", "a")},
    ],
)
def test_inconsistent_field_specs_are_refused(options):
    with pytest.raises(ValueError):
        spec(**options)


def test_float_limits_become_decimals():
    field = spec(field_type="decimal", min=0.1)

    assert field.min == Decimal("0.1")
    assert only_error(validate_one(field, "0.09")).code == "too_small"


def test_form_spec_looks_up_fields_and_refuses_duplicates():
    assert EVERY_TYPE.field("capital").type == "decimal"
    assert EVERY_TYPE.field("licence_scan") is None
    assert EVERY_TYPE.field("nope") is None
    with pytest.raises(ValueError):
        FormSpec(fields=(spec("a"), spec("a", "number")))


# --- masking -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        (spec("id", "cn_id_number", sensitivity="secret"), "11010519491231002X", "1101**********002X"),
        (spec("m", "phone", sensitivity="secret"), "13812345678", "138****5678"),
        (spec("c", "uscc", sensitivity="secret"), "91110000600037341L", "9111**********341L"),
        (spec("n", sensitivity="secret"), "张三丰", "张*丰"),
        (spec("n", sensitivity="internal"), "张三丰", "张三丰"),
        (spec("n"), "张三丰", "张三丰"),
        (spec("d", "decimal"), "1000000.00", "1000000.00"),
        (spec("b", "boolean"), True, "true"),
        (spec("s", "multichoice", choices=choices("a", "b")), ["a", "b"], "a, b"),
        (spec("n", sensitivity="secret"), None, ""),
        (spec("n", sensitivity="secret"), "", ""),
    ],
)
def test_mask_value(field, value, shown):
    assert mask_value(field, value) == shown


def test_mask_value_masks_secret_table_columns():
    rows = [{"name": "李四", "id_number": "360426199101010071", "amount": "1.00"}]

    assert mask_value(SHAREHOLDERS, rows) == "李四, 3604**********0071, 1.00"
