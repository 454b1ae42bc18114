"""The procedure's node kinds on the engine alone (issue 20): a 5-day
public notice (公示) with `clock: excluded` keeps a food-business licence
within its 20-day limit where a counted one pushes it over; objections
interrupt the notice and a dismissed one resumes it to its published end;
an applicant step and a fee stop the clock; a fee of another amount is
refused."""

from __future__ import annotations

import pytest

from govflow.engine import IllegalEvent
from govflow.engine import runtime as rt
from govflow.engine.simulate import Script, simulate

from .conftest import T0, VALID_DIR, load

pytestmark = pytest.mark.procedure

FOOD = (VALID_DIR / "food_licence_notice.yaml").read_text(encoding="utf-8")


def test_an_excluded_notice_keeps_the_licence_within_its_limit():
    excluded = simulate(load(FOOD), Script()).as_json()
    assert excluded["working_days"] == 17  # review 12 + inspection 5
    assert excluded["within_time_limit"] is True
    counted = simulate(load(FOOD.replace("clock: excluded", "clock: counted")), Script()).as_json()
    assert counted["working_days"] == 22  # and the notice's 5
    assert counted["within_time_limit"] is False


def test_an_objection_goes_to_the_review_and_a_dismissal_resumes_the_notice():
    run = simulate(load(FOOD), Script(decisions={"notice": ["objection", "none"]})).as_json()
    assert run["trace"][:6] == ["start", "review", "inspection", "notice", "objection_review", "notice"]
    assert run["outcome"] == "approved"
    # objection on day 18 (1 into the notice), review 3 days (counted): the
    # notice resumed ends on day 22, as first published (excluded again)
    assert run["working_days"] == 20
    assert [d["day"] for d in run["decisions"]] == [12, 17, 18, 21]
    upheld = simulate(
        load(FOOD), Script(decisions={"notice": "objection", "objection_review": "reject"})
    ).as_json()
    assert upheld["outcome"] == "rejected"


def test_fee_unpaid_and_applicant_step_missed_lapse_the_case():
    assert simulate(load(FOOD), Script(decisions={"pay": "unpaid"})).outcome == "withdrawn"
    assert simulate(load(FOOD), Script(decisions={"declare": "timeout"})).outcome == "withdrawn"


def _to_notice():
    definition = load(FOOD)
    state = rt.step(definition, None, rt.Start({"shop_name": "好味"}), T0).state
    for node in ("review", "inspection"):
        task = next(t for t, v in state["tasks"].items() if v["node"] == node)
        state = rt.step(definition, state, rt.CompleteTask(task, "approve"), T0).state
    return definition, state


def test_the_engine_states():
    definition, state = _to_notice()
    assert state["paused"] == 1
    result = rt.step(definition, state, rt.Objection(), T0)
    assert result.state["paused"] == 0
    assert result.state["results"]["notice"]["objections"] == 1
    assert [t["node"] for t in result.state["tasks"].values()] == ["objection_review"]
    with pytest.raises(IllegalEvent, match="not in a public notice"):
        rt.step(definition, result.state, rt.Objection(), T0)
    review = next(iter(result.state["tasks"]))
    back = rt.step(definition, result.state, rt.CompleteTask(review, "approve"), T0)
    [timer] = [e for e in back.effects if isinstance(e, rt.TimerStarted)]
    assert timer.kind == "notice"
    assert timer.since == T0.isoformat()
    notice_timer = next(iter(back.state["timers"]))
    state = rt.step(definition, back.state, rt.FireTimer(notice_timer), T0).state
    step_task = next(iter(state["tasks"]))
    assert state["tasks"][step_task]["kind"] == "applicant"
    assert state["paused"] == 1
    with pytest.raises(IllegalEvent, match="must be confirmed"):
        rt.step(definition, state, rt.SubmitApplicantTask(step_task, {"opening_date": "2026-04-01"}), T0)
    with pytest.raises(IllegalEvent, match="does not ask for shop_name"):
        rt.step(definition, state, rt.SubmitApplicantTask(step_task, {"shop_name": "x"}, confirmed=True), T0)
    state = rt.step(
        definition,
        state,
        rt.SubmitApplicantTask(step_task, {"opening_date": "2026-04-01"}, confirmed=True),
        T0,
    ).state
    assert state["data"]["opening_date"] == "2026-04-01"
    assert state["paused"] == 1
    with pytest.raises(IllegalEvent, match=r"not the fee 300\.00"):
        rt.step(definition, state, rt.Signal("fee_paid", {"amount": "299.99"}), T0)
    done = rt.step(definition, state, rt.Signal("fee_paid", {"amount": 300}), T0).state
    assert done["outcome"] == "approved"
    assert done["paused"] == 0
