"""The acceptance kind (受理), structured notices and the re-run of checks
after a correction, in the pure engine and in the dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govflow.engine import runtime as rt
from govflow.engine.loader import load_definition_file
from govflow.engine.notices import changed_fields, notice_scope, outside_notice
from govflow.engine.problems import IllegalEvent
from govflow.engine.simulate import Script, simulate

pytestmark = pytest.mark.procedure

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "acceptance.yaml"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIELDS = ("company_name", "scope")


@pytest.fixture(scope="module")
def definition(departments):
    return load_definition_file(TEMPLATE, departments=departments)


@pytest.fixture(scope="module")
def departments():
    return {"market_regulation"}


def start(definition):
    result = rt.step(definition, None, rt.Start({"company_name": "甲公司", "scope": "软件"}), NOW)
    (task_id,) = result.state["tasks"]
    return result.state, task_id


def only(state, kind):
    (task_id,) = [t for t, task in state["tasks"].items() if task["kind"] == kind]
    return task_id


def test_a_notice_must_list_known_fields_and_materials_with_reasons(definition):
    state, task = start(definition)
    for notice in (
        None,
        ({"kind": "field", "id": "capital", "reason": "x"},),
        ({"kind": "material", "id": "company_name", "reason": "x"},),
        ({"kind": "field", "id": "scope", "reason": " "},),
        ({"kind": "field", "id": "scope", "reason": "a"}, {"kind": "field", "id": "scope", "reason": "b"}),
    ):
        with pytest.raises(IllegalEvent) as refused:
            rt.step(definition, state, rt.CompleteTask(task, "notice", notice=notice), NOW)
        assert refused.value.code == "notice_invalid"
    with pytest.raises(IllegalEvent) as stray:
        rt.step(
            definition,
            state,
            rt.CompleteTask(task, "accept", notice=({"kind": "field", "id": "scope", "reason": "x"},)),
            NOW,
        )
    assert stray.value.code == "notice_not_allowed"


def test_the_notice_reaches_the_correction_task_and_the_state_records_the_acceptance(definition):
    state, task = start(definition)
    notice = ({"kind": "material", "id": "proof", "reason": "未盖章"},)
    state = rt.step(definition, state, rt.CompleteTask(task, "notice", notice=notice), NOW).state
    correction = only(state, "correction")
    assert state["tasks"][correction]["notice"] == [{"kind": "material", "id": "proof", "reason": "未盖章"}]
    assert state["decisions"]["accept"]["notice"] == list(notice)
    assert "accepted" not in state

    state = rt.step(definition, state, rt.SubmitCorrection(correction, {}), NOW).state
    accept = only(state, "acceptance")
    result = rt.step(definition, state, rt.CompleteTask(accept, "accept", actor="7"), NOW)
    assert result.state["accepted"] == {"node": "accept", "at": NOW.isoformat(), "deemed": False}
    assert [type(e).__name__ for e in result.effects if type(e).__name__ == "Accepted"] == ["Accepted"]


def test_a_refusal_needs_reasons_and_a_legal_basis_and_ends_rejected(definition):
    state, task = start(definition)
    with pytest.raises(IllegalEvent):
        rt.step(definition, state, rt.CompleteTask(task, "refuse", legal_basis="第三十二条"), NOW)
    with pytest.raises(IllegalEvent):
        rt.step(definition, state, rt.CompleteTask(task, "refuse", opinion="不属本机关"), NOW)
    done = rt.step(
        definition,
        state,
        rt.CompleteTask(task, "refuse", opinion="不属本机关", legal_basis="第三十二条"),
        NOW,
    ).state
    assert (done["status"], done["outcome"]) == ("completed", "rejected")
    assert done["decisions"]["accept"]["legal_basis"] == "第三十二条"


def test_a_correction_changing_a_checked_field_runs_the_check_again(definition):
    # Given a case in review after the name check
    state, task = start(definition)
    state = rt.step(definition, state, rt.CompleteTask(task, "accept"), NOW).state
    state = rt.step(definition, state, rt.ServiceDone(only(state, "service"), {"available": True}), NOW).state
    review = only(state, "review")
    state = rt.step(definition, state, rt.CompleteTask(review, "return", opinion="改"), NOW).state

    # When the correction changes only the scope, the case goes straight back to review
    unchanged = rt.step(
        definition, state, rt.SubmitCorrection(only(state, "correction"), {"scope": "咨询"}), NOW
    )
    assert [t["node"] for t in unchanged.state["tasks"].values()] == ["review"]
    # but when it changes the company name, the name check runs again first
    renamed = rt.step(
        definition, state, rt.SubmitCorrection(only(state, "correction"), {"company_name": "乙公司"}), NOW
    )
    assert [t["node"] for t in renamed.state["tasks"].values()] == ["check_name"]
    taken = rt.step(
        definition, renamed.state, rt.ServiceDone(only(renamed.state, "service"), {"available": False}), NOW
    ).state
    assert [t["node"] for t in taken["tasks"].values()] == ["fix_name"]


@pytest.mark.parametrize(
    ("decisions", "outcome", "deemed"),
    [
        ({}, "approved", False),
        ({"accept": "silence"}, "approved", True),
        ({"accept": "refuse"}, "rejected", None),
        ({"accept": ["notice", "accept"]}, "approved", False),
    ],
)
def test_the_dry_run_scripts_the_acceptance(definition, decisions, outcome, deemed):
    script = Script(
        data={"company_name": "甲公司", "scope": "软件"},
        decisions=decisions,
        results={"check_name": {"available": True}},
        corrections={"supply": {"company_name": "丙公司"}},
    )
    result = simulate(definition, script).as_json()
    assert result["outcome"] == outcome
    if deemed is None:
        assert "accepted" not in result
        return
    assert result["accepted"]["deemed"] is deemed
    if deemed:
        # accepted when the limit of 5 working days ran out, by an automatic decision
        assert result["accepted"]["day"] == 5
        assert result["decisions"][0]["silent_consent"] is True
    if "notice" in str(decisions):
        assert result["trace"][:4] == ["start", "accept", "supply", "accept"]


def test_a_second_notice_is_refused_by_max_rounds(definition):
    with pytest.raises(Exception, match="as many as the process allows"):
        simulate(definition, Script(decisions={"accept": ["notice", "notice"]}))


values = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers(0, 2))
notices = st.lists(
    st.lists(st.sampled_from(FIELDS), unique=True).map(
        lambda ids: [{"kind": "field", "id": i, "reason": "r"} for i in ids]
    ),
    min_size=1,
    max_size=3,
)


@given(
    notices=notices,
    before=st.fixed_dictionaries({f: values for f in FIELDS}),
    updates=st.dictionaries(st.sampled_from(FIELDS), values),
)
def test_only_listed_fields_may_change(notices, before, updates):
    # Given open corrections with their notices and a correction's updates
    outside = outside_notice(notices, before, updates)
    scope = notice_scope(notices)
    changed = changed_fields(before, updates)

    # Then a change is refused exactly when some changed field is not listed
    if scope is None:  # one notice listed nothing: the whole form is open
        assert outside == []
    else:
        assert set(outside) == changed - scope[0]
        allowed = {k: v for k, v in updates.items() if k not in outside}
        assert changed_fields(before, allowed) <= scope[0]
