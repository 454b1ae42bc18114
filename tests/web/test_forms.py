"""Posted HTML form fields to draft data and back (no database)."""

from django.http import QueryDict

from govflow.engine.forms import Choice, FieldSpec, FormSpec
from govflow.web.forms import bind, data_from_post, error_summary

FORM = FormSpec(
    fields=(
        FieldSpec("name", "text", {"zh": "名称", "en": "Name"}, required=True),
        FieldSpec(
            "kinds",
            "multichoice",
            {"zh": "类别", "en": "Kinds"},
            choices=(Choice("a", {"zh": "甲", "en": "A"}), Choice("b", {"zh": "乙", "en": "B"})),
        ),
        FieldSpec("agree", "boolean", {"zh": "同意", "en": "Agree"}),
        FieldSpec(
            "people",
            "table",
            {"zh": "人员", "en": "People"},
            columns=(
                FieldSpec("who", "text", {"zh": "姓名", "en": "Who"}),
                FieldSpec("vip", "boolean", {"zh": "重要", "en": "VIP"}),
            ),
        ),
    )
)


def _post(text: str) -> QueryDict:
    return QueryDict(text, mutable=False)


def test_posted_fields_become_draft_data_as_typed():
    post = _post(
        "name=+%E6%B5%8B+&kinds=a&kinds=b&people-3-who=B&people-1-who=A&people-1-vip=true"
        "&people-9-who=&people-x-who=bad&people-2-nope=bad&unknown=1"
    )
    data = data_from_post(FORM, post)
    assert data == {
        "name": " 测 ",
        "kinds": ["a", "b"],
        "agree": False,
        "people": [{"who": "A", "vip": True}, {"who": "B"}],
    }


def test_a_row_is_dropped_by_its_number():
    post = _post("people-0-who=A&people-5-who=B&people-7-who=C")
    assert data_from_post(FORM, post, drop_row=("people", 5))["people"] == [{"who": "A"}, {"who": "C"}]


def test_binding_pairs_values_with_errors_and_builds_a_summary():
    data = {"name": "x", "kinds": ["b"], "agree": True, "people": [{"who": "A"}]}
    errors = {"name": ["太短"], "people[0].who": ["不对"], "people": ["至少两行"], "stray": ["?"]}
    bound = bind(FORM, data, errors, language="zh", extra_rows={"people": 1})
    name, kinds, agree, people = bound
    assert name.value == "x"
    assert name.errors == ["太短"]
    assert name.required
    assert [o.selected for o in kinds.options] == [False, True]
    assert agree.checked
    assert len(people.rows) == 2
    assert people.rows[0].cells[0].errors == ["不对"]
    assert people.rows[1].cells[0].name == "people-1-who"
    summary = error_summary(bound, [], errors)
    assert summary[0] == ("f-name", "名称", "太短")
    assert ("f-people-0-who", "人员 1 · 姓名", "不对") in summary
    assert summary[-1] == ("", "stray", "?")
