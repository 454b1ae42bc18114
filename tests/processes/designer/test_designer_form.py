"""The designer's form editor (govflow.processes.designer.form): fields,
a table's columns, materials and clearances edited in the YAML text with
untouched lines kept byte for byte, and renames or removals of a field the
template still names refused with where it is named."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.engine.loader import check_definition
from govflow.processes.designer.document import load
from govflow.processes.designer.form import apply_form, fields, materials, references

WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"
FOOD = (WORKFLOWS / "food_business_licence.yaml").read_text(encoding="utf-8")
SETUP = (WORKFLOWS / "business_setup.yaml").read_text(encoding="utf-8")


def _diff(before: str, after: str) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))[2:]


def _valid(text: str) -> bool:
    return not check_definition(text)[1]


def test_a_label_change_changes_one_line():
    result = apply_form(
        FOOD, {"op": "set_field", "field": "operator_name", "values": {"label_en": "Operator"}}
    )
    assert result.changed
    assert result.refused is None
    assert _diff(FOOD, result.text) == [
        "@@ -57 +57 @@",
        "-      label: {zh: 经营者名称, en: Name of the food business operator}",
        "+      label: {zh: 经营者名称, en: Operator}",
    ]


def test_setting_the_same_values_leaves_the_text_byte_identical():
    result = apply_form(
        FOOD,
        {
            "op": "set_field",
            "field": "region_code",
            "values": {
                "id": "region_code",
                "label_zh": "经营场所所在区",
                "label_en": "District of the business premises",
                "type": "choice",
                "required": True,
                "sensitivity": "public",
                "choices": next(f for f in fields(load(FOOD)) if f.id == "region_code").choices,
                "clearance": [],
            },
        },
    )
    assert not result.changed
    assert result.text == FOOD


def test_adding_a_field_and_a_material_keeps_the_blank_line_before_the_nodes():
    result = apply_form(FOOD, {"op": "add_material"})
    assert result.focus == "material"
    assert _diff(FOOD, result.text) == [
        "@@ -176,0 +177,4 @@",
        "+    - id: material",
        "+      label: {zh: 新材料, en: New document}",
        "+      types: [application/pdf]",
        "+      required: true",
    ]
    after = apply_form(result.text, {"op": "add_field"})
    assert after.focus == "field"
    assert _valid(after.text)
    assert [f.id for f in fields(load(after.text))][-1] == "field"


def test_moving_a_material_keeps_the_comments_and_blank_lines_in_place():
    up = apply_form(FOOD, {"op": "move_material", "material": "safety_rules", "direction": "up"})
    assert [m.id for m in materials(load(up.text))][-2:] == ["safety_rules", "premises_layout"]
    assert "\n\nnodes:" in up.text
    assert _valid(up.text)
    down = apply_form(up.text, {"op": "move_material", "material": "safety_rules", "direction": "down"})
    assert down.text == FOOD
    first = apply_form(FOOD, {"op": "move_field", "field": "operator_name", "direction": "up"})
    assert first.refused
    assert first.text == FOOD


def test_removing_a_field_a_clearance_names_is_refused_naming_the_steps():
    result = apply_form(FOOD, {"op": "remove_field", "field": "contact_phone"})
    assert not result.changed
    assert result.text == FOOD
    assert "clearance of 'review'" in result.refused
    assert "clearance of 'inspection'" in result.refused


def test_renaming_a_field_a_condition_names_is_refused_naming_the_condition():
    result = apply_form(SETUP, {"op": "set_field", "field": "employees_count", "values": {"id": "staff"}})
    assert not result.changed
    assert result.text == SETUP
    assert "employees_count > 0" in result.refused
    assert references(load(SETUP), "employees_count")


def test_renaming_the_title_field_is_refused():
    result = apply_form(FOOD, {"op": "set_field", "field": "operator_name", "values": {"id": "operator"}})
    assert "title_field" in result.refused
    assert result.text == FOOD


def test_a_field_no_one_names_is_renamed_and_removed():
    renamed = apply_form(
        FOOD, {"op": "set_field", "field": "safety_manager", "values": {"id": "food_safety_manager"}}
    )
    assert renamed.changed
    assert renamed.focus == "food_safety_manager"
    assert _valid(renamed.text)
    assert _diff(FOOD, renamed.text) == [
        "@@ -144 +144 @@",
        "-    - id: safety_manager",
        "+    - id: food_safety_manager",
    ]
    removed = apply_form(FOOD, {"op": "remove_field", "field": "safety_manager"})
    assert removed.changed
    assert _valid(removed.text)
    assert "safety_manager" not in removed.text


def test_a_duplicate_or_malformed_id_is_refused():
    for new_id in ("operator_name", "Bad-Id", "1x", "application_form"):
        result = apply_form(FOOD, {"op": "set_field", "field": "safety_manager", "values": {"id": new_id}})
        assert result.refused, new_id
        assert result.text == FOOD


def test_sensitivity_and_clearance_go_together():
    secret = apply_form(
        FOOD,
        {
            "op": "set_field",
            "field": "safety_manager",
            "values": {"sensitivity": "secret", "clearance": ["inspection"]},
        },
    )
    assert _valid(secret.text)
    assert _diff(FOOD, secret.text) == [
        "@@ -147 +147 @@",
        "-      sensitivity: internal",
        "+      sensitivity: secret",
        "@@ -244 +244 @@",
        "-    clearance: [contact_phone]",
        "+    clearance: [contact_phone, safety_manager]",
    ]
    # public again while a step is still cleared: refused, naming the step
    refused = apply_form(
        secret.text,
        {
            "op": "set_field",
            "field": "safety_manager",
            "values": {"sensitivity": "public", "clearance": ["inspection"]},
        },
    )
    assert refused.refused
    assert "inspection" in refused.refused
    # the clearance taken away in the same change: back to the original lines but one
    public = apply_form(
        secret.text,
        {
            "op": "set_field",
            "field": "safety_manager",
            "values": {"sensitivity": "internal", "clearance": []},
        },
    )
    assert public.text == FOOD
    # a clearance on a field that is not sensitive is refused
    wrong = apply_form(FOOD, {"op": "set_field", "field": "address", "values": {"clearance": ["review"]}})
    assert wrong.refused
    assert wrong.text == FOOD


def test_a_type_change_drops_keys_that_no_longer_apply_and_adds_what_the_new_type_needs():
    choice = apply_form(FOOD, {"op": "set_field", "field": "address", "values": {"type": "choice"}})
    assert _valid(choice.text)
    raw = next(f for f in fields(load(choice.text)) if f.id == "address")
    assert raw.type == "choice"
    assert raw.choices.startswith("option_1 | 选项一 | Option 1")
    table = apply_form(FOOD, {"op": "set_field", "field": "safety_manager", "values": {"type": "table"}})
    assert _valid(table.text)
    column = apply_form(table.text, {"op": "add_field", "table": "safety_manager"})
    assert column.focus == "safety_manager.column_2"
    assert _valid(column.text)
    edited = apply_form(
        column.text,
        {
            "op": "set_field",
            "field": "safety_manager.column_2",
            "values": {"label_zh": "姓名", "required": True},
        },
    )
    assert _valid(edited.text)
    view = next(f for f in fields(load(edited.text)) if f.id == "safety_manager")
    assert [(c.path, c.label_zh, c.required) for c in view.columns] == [
        ("safety_manager.column", "新列", False),
        ("safety_manager.column_2", "姓名", True),
    ]
    last = apply_form(table.text, {"op": "remove_field", "field": "safety_manager.column"})
    assert last.refused  # a table keeps one column


def test_choices_are_written_from_lines():
    result = apply_form(
        FOOD,
        {
            "op": "set_field",
            "field": "business_format",
            "values": {"choices": "food_sales | 食品销售经营者 | Food seller\ncatering | 餐饮 | Catering"},
        },
    )
    assert _valid(result.text)
    assert _diff(FOOD, result.text) == [
        "@@ -120,2 +120 @@",
        "-        - {value: catering, label: {zh: 餐饮服务经营者, en: Catering business}}",
        "-        - {value: canteen, label: {zh: 集中用餐单位食堂, en: Canteen of a collective dining unit}}",
        "+        - {value: catering, label: {zh: 餐饮, en: Catering}}",
    ]


def test_material_properties():
    result = apply_form(
        FOOD,
        {
            "op": "set_material",
            "material": "safety_rules",
            "values": {"types": ["application/pdf", "image/png"], "max_count": "3", "max_size_mb": "10"},
        },
    )
    assert _valid(result.text)
    assert _diff(FOOD, result.text) == [
        "@@ -174 +174 @@",
        "-      types: [application/pdf]",
        "+      types: [application/pdf, image/png]",
        "@@ -177,0 +178 @@",
        "+      max_count: 3",
    ]
    for values in (
        {"types": []},
        {"types": ["text/html"]},
        {"max_count": "0"},
        {"max_size_mb": "500"},
        {"label_zh": " "},
    ):
        refused = apply_form(FOOD, {"op": "set_material", "material": "safety_rules", "values": values})
        assert refused.refused, values
        assert refused.text == FOOD


OPS = st.one_of(
    st.builds(lambda: {"op": "add_field"}),
    st.builds(lambda: {"op": "add_material"}),
    st.builds(
        lambda i, d: {"op": "move_field", "field": i, "direction": d},
        st.sampled_from(["operator_name", "address", "contact_phone", "safety_manager", "field"]),
        st.sampled_from(["up", "down"]),
    ),
    st.builds(
        lambda i: {"op": "remove_field", "field": i},
        st.sampled_from(["operator_name", "address", "premises", "contact_phone", "safety_manager", "field"]),
    ),
    st.builds(
        lambda i, d: {"op": "move_material", "material": i, "direction": d},
        st.sampled_from(["application_form", "safety_rules", "material"]),
        st.sampled_from(["up", "down"]),
    ),
    st.builds(
        lambda i: {"op": "remove_material", "material": i}, st.sampled_from(["premises_layout", "material"])
    ),
    st.builds(
        lambda i, s: {"op": "set_field", "field": i, "values": {"sensitivity": s, "clearance": []}},
        st.sampled_from(["safety_manager", "contact_phone", "field"]),
        st.sampled_from(["public", "internal", "secret"]),
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=5))
def test_form_operations_keep_the_food_licence_valid_or_change_nothing(ops):
    text = FOOD
    for op in ops:
        result = apply_form(text, op)
        if result.refused:
            assert result.text == text
        else:
            assert _valid(result.text), (op, check_definition(result.text)[1][:2])
        # the nodes' text never changes but for clearances
        nodes_before = [line for line in text.split("\nnodes:")[1].splitlines() if "clearance" not in line]
        nodes_after = [
            line for line in result.text.split("\nnodes:")[1].splitlines() if "clearance" not in line
        ]
        assert nodes_before == nodes_after
        text = result.text


@pytest.mark.parametrize("field_id", ["legal_rep_id_number", "contact_phone", "region_code"])
def test_references_name_the_places(field_id):
    assert references(load(FOOD), field_id) or field_id == "region_code"


def test_a_field_the_data_catalogue_names_is_not_removed():
    result = apply_form(SETUP, {"op": "remove_field", "field": "company_name"})
    assert result.text == SETUP
    assert "the data catalogue (catalog)" in result.refused
