"""撤回 of a decision that ended a sub-process (issue 19): the engine opens
the sub-process again and puts the caller back on its call node while the
caller's next step has not acted; refuses otherwise."""

from pathlib import Path

import pytest

from govflow.engine import CompleteTask, Start, check_definition, load_definition, step
from govflow.engine.events import TakeBack
from govflow.engine.operations import can_take_back, has_frame_ended, taken_back_tasks
from govflow.engine.problems import IllegalEvent

from .conftest import DEPARTMENTS, T0

pytestmark = pytest.mark.operations

CALL = Path(__file__).parent.parent / "data" / "services" / "call_take_back.yaml"


def task_at(state, node):
    return next(t for t, task in sorted(state["tasks"].items()) if task["node"] == node)


def inspected(definition=None):
    """A case whose inspection (the sub-process's last step) was just approved."""
    definition = definition or load_definition(CALL.read_text(encoding="utf-8"))
    state = step(definition, None, Start({"company_name": "甲"}), T0).state
    inspect = task_at(state, "inspect")
    before = state
    state = step(definition, state, CompleteTask(inspect, "approve", actor="u1"), T0).state
    return definition, before, state, inspect


def test_the_sub_process_opens_again_and_the_caller_waits_on_the_call():
    definition, before, state, inspect = inspected()
    assert state["frames"] == {}
    assert state["decisions"]["check"]["outcome"] == "approved"
    assert can_take_back(state, inspect)
    assert taken_back_tasks(state, inspect) == [task_at(state, "sign_off")]

    result = step(definition, state, TakeBack(inspect), T0)

    after = result.state
    assert after["frames"] == before["frames"]
    assert "check" not in after["decisions"]
    caller = next(t for t in after["tokens"].values() if t["frame"] == "")
    assert caller["node"] == "check"
    again = task_at(after, "inspect")
    assert after["tasks"][again]["created"] == before["tasks"][inspect]["created"]  # its time runs on
    assert [t["node"] for t in after["tasks"].values()] == ["inspect"]
    # decided again, the sub-process ends again and the sign-off follows
    done = step(definition, after, CompleteTask(again, "approve"), T0).state
    assert [t["node"] for t in done["tasks"].values()] == ["sign_off"]


def test_it_is_refused_once_the_next_step_decided():
    definition, _before, state, inspect = inspected()
    state = step(definition, state, CompleteTask(task_at(state, "sign_off"), "approve"), T0).state
    assert not can_take_back(state, inspect)
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, TakeBack(inspect), T0)
    assert refused.value.code == "take_back_closed"
    assert refused.value.message == "this decision can no longer be taken back"


def test_a_decision_that_ended_the_whole_case_through_the_call_cannot_be_taken_back():
    definition = load_definition(CALL.read_text(encoding="utf-8"))
    state = step(definition, None, Start({"company_name": "甲"}), T0).state
    inspect = task_at(state, "inspect")
    state = step(definition, state, CompleteTask(inspect, "reject"), T0).state
    assert state["status"] == "completed"
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, TakeBack(inspect), T0)
    assert refused.value.code == "case_ended"


CERTIFIED = """
id: certified
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: check}
  - {id: check, title: {zh: 甲, en: A}, type: call, process: sub, outcomes: {approved: sign_off}}
  - {id: sign_off, title: {zh: 甲, en: A}, type: user_task, department: fire, outcomes: {approve: ok}}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
subprocesses:
  sub:
    title: {zh: 子, en: Sub}
    nodes:
      - {id: s, type: start, next: inspect}
      - id: inspect
        title: {zh: 甲, en: A}
        type: user_task
        department: market_regulation
        outcomes: {approve: done}
      - id: done
        title: {zh: 甲, en: A}
        type: end
        outcome: approved
        certificates: [{type: site_record, department: market_regulation, title: {zh: 核查记录, en: Record}}]
"""

PARALLEL = """
id: parallel_sub
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: check}
  - {id: check, title: {zh: 甲, en: A}, type: call, process: sub, outcomes: {approved: sign_off}}
  - {id: sign_off, title: {zh: 甲, en: A}, type: user_task, department: fire, outcomes: {approve: ok}}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
subprocesses:
  sub:
    title: {zh: 子, en: Sub}
    nodes:
      - {id: s, type: start, next: split}
      - {id: split, type: parallel, next: [inspect, survey]}
      - {id: inspect, title: {zh: 甲, en: A}, type: user_task, department: market_regulation,
         outcomes: {approve: join}}
      - {id: survey, title: {zh: 甲, en: A}, type: user_task, department: natural_resources,
         outcomes: {approve: join}}
      - {id: join, type: parallel, next: done}
      - {id: done, title: {zh: 甲, en: A}, type: end, outcome: approved}
"""


def test_an_end_that_issued_certificates_is_not_taken_back():
    definition, problems = check_definition(CERTIFIED, departments=DEPARTMENTS)
    assert problems == [], problems
    _definition, _before, state, inspect = inspected(definition)
    assert state["certificates"]
    assert not can_take_back(state, inspect)


def test_a_sub_process_of_two_branches_ended_by_the_last_signature_is_taken_back_to_it():
    definition, problems = check_definition(PARALLEL, departments=DEPARTMENTS)
    assert problems == [], problems
    state = step(definition, None, Start({"x": 1}), T0).state
    state = step(definition, state, CompleteTask(task_at(state, "survey"), "approve"), T0).state
    inspect = task_at(state, "inspect")
    before = state
    state = step(definition, state, CompleteTask(inspect, "approve"), T0).state
    assert state["frames"] == {}
    after = step(definition, state, TakeBack(inspect), T0).state
    assert after["frames"] == before["frames"]
    assert after["scopes"] == before["scopes"]
    assert sorted(t["node"] for t in after["tasks"].values()) == ["inspect"]


ENDED_BRANCH = """
id: ended_branch
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: check}
  - {id: check, title: {zh: 甲, en: A}, type: call, process: sub, outcomes: {approved: sign_off}}
  - {id: sign_off, title: {zh: 甲, en: A}, type: user_task, department: fire, outcomes: {approve: ok}}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
subprocesses:
  sub:
    title: {zh: 子, en: Sub}
    nodes:
      - {id: s, type: start, next: split}
      - {id: split, type: parallel, next: [inspect, survey]}
      - {id: inspect, title: {zh: 甲, en: A}, type: user_task, department: market_regulation,
         outcomes: {approve: filed}}
      - {id: filed, title: {zh: 甲, en: A}, type: end, outcome: approved, terminate: false}
      - {id: survey, title: {zh: 甲, en: A}, type: user_task, department: natural_resources,
         outcomes: {approve: done}}
      - {id: done, title: {zh: 甲, en: A}, type: end, outcome: approved}
"""


def _both_branches_decided():
    """The inspection ended its own branch (an end with `terminate: false`),
    then the survey ended the sub-process: its frame is closed."""
    definition, problems = check_definition(ENDED_BRANCH, departments=DEPARTMENTS)
    assert problems == [], problems
    state = step(definition, None, Start({"x": 1}), T0).state
    inspect, survey = task_at(state, "inspect"), task_at(state, "survey")
    state = step(definition, state, CompleteTask(inspect, "approve"), T0).state
    assert can_take_back(state, inspect)  # while the sub-process still runs
    state = step(definition, state, CompleteTask(survey, "approve"), T0).state
    assert state["frames"] == {}
    return definition, state, inspect, survey


def test_a_branch_decision_is_not_taken_back_into_a_sub_process_that_has_ended():
    definition, state, inspect, _survey = _both_branches_decided()
    assert has_frame_ended(state, inspect)
    assert not can_take_back(state, inspect)

    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, TakeBack(inspect), T0)

    assert refused.value.code == "take_back_too_late"
    assert refused.value.message == (
        "the sub-process of 'inspect' has already ended; this decision can no longer be taken back"
    )


def test_a_branch_decision_can_be_taken_back_again_once_its_sub_process_is_open_again():
    # Given the survey (which ended the sub-process) taken back: the sub-process is open again
    definition, state, inspect, survey = _both_branches_decided()
    state = step(definition, state, TakeBack(survey), T0).state
    assert [f["call"] for f in state["frames"].values()] == ["check"]

    # When the inspection is taken back too
    assert can_take_back(state, inspect)
    state = step(definition, state, TakeBack(inspect), T0).state

    # Then both branches wait in the open sub-process, every token in an open frame
    assert sorted(t["node"] for t in state["tasks"].values()) == ["inspect", "survey"]
    assert all(t["frame"] == "" or t["frame"] in state["frames"] for t in state["tokens"].values())


NESTED = """
id: nested_branch
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: outer}
  - {id: outer, title: {zh: 甲, en: A}, type: call, process: mid, outcomes: {approved: sign_off}}
  - {id: sign_off, title: {zh: 甲, en: A}, type: user_task, department: fire, outcomes: {approve: ok}}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
subprocesses:
  mid:
    title: {zh: 中, en: Mid}
    nodes:
      - {id: ms, type: start, next: split}
      - {id: split, type: parallel, next: [inner, other]}
      - {id: inner, title: {zh: 甲, en: A}, type: call, process: sub, outcomes: {approved: mid_filed}}
      - {id: mid_filed, title: {zh: 甲, en: A}, type: end, outcome: approved, terminate: false}
      - {id: other, title: {zh: 甲, en: A}, type: user_task, department: fire, outcomes: {approve: mid_done}}
      - {id: mid_done, title: {zh: 甲, en: A}, type: end, outcome: approved}
  sub:
    title: {zh: 子, en: Sub}
    nodes:
      - {id: s, type: start, next: inspect}
      - {id: inspect, title: {zh: 甲, en: A}, type: user_task, department: market_regulation,
         outcomes: {approve: sub_done}}
      - {id: sub_done, title: {zh: 甲, en: A}, type: end, outcome: approved}
"""


def test_a_decision_that_ended_a_nested_sub_process_is_refused_once_its_callers_sub_process_ended():
    # Given the inspection ended the inner sub-process, whose caller then ended its own
    # branch of the middle one, and the other branch ended the middle sub-process
    definition, problems = check_definition(NESTED, departments=DEPARTMENTS)
    assert problems == [], problems
    state = step(definition, None, Start({"x": 1}), T0).state
    inspect = task_at(state, "inspect")
    state = step(definition, state, CompleteTask(inspect, "approve"), T0).state
    assert can_take_back(state, inspect)
    state = step(definition, state, CompleteTask(task_at(state, "other"), "approve"), T0).state
    assert state["frames"] == {}
    assert not can_take_back(state, inspect)

    # When it is taken back, it is refused: the call's token has no frame to go back to
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, TakeBack(inspect), T0)

    assert refused.value.code == "take_back_too_late"
