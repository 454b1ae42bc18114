"""延期 in the engine: the template key (default 10 working days once,
`max`, `none`, errors with their position) and ExtendTask (counted per node,
refused one too many, never on an added signer or a step without an SLA)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govflow.engine import Start, check_definition, load_definition, step
from govflow.engine.definition import DEFAULT_EXTENSION, Duration, Extension
from govflow.engine.effects import TaskExtended
from govflow.engine.events import ExtendTask
from govflow.engine.problems import IllegalEvent
from govflow.engine.simulate import SimulationError, script_from_mapping, simulate
from govflow.engine.state import dump_state, load_state
from govflow.timers.calendar import WorkingCalendar, load_calendar_file
from govflow.timers.deadlines import extension_entry, replay

from .conftest import DEPARTMENTS, T0

pytestmark = pytest.mark.procedure

TEMPLATE = """
id: ext
title: {zh: 测试, en: Test}
form: {fields: [{id: x, type: number, label: {zh: x, en: x}}]}
nodes:
  - {id: start, type: start, next: a}
  - id: a
    type: user_task
    title: {zh: 审查, en: Review}
    department: fire
    %s
    outcomes: {approve: ok}
  - {id: ok, type: end, title: {zh: 通过, en: OK}, outcome: approved}
"""


def check(keys: str):
    return check_definition(TEMPLATE % keys, departments=DEPARTMENTS)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("sla: {days: 20}", DEFAULT_EXTENSION),
        ("sla: {days: 20}\n    extension: {days: 15}", Extension(Duration(days=15), 1)),
        ("sla: {days: 3}\n    extension: {hours: 4, max: 3}", Extension(Duration(hours=4), 3)),
        ("sla: {days: 3}\n    extension: {max: 2}", Extension(Duration(days=10), 2)),
        ("sla: {days: 20}\n    extension: none", None),
        ("clearance: []", None),  # no SLA: nothing to extend
    ],
)
def test_the_template_says_how_much_and_how_often(keys, expected):
    definition, problems = check(keys)

    assert problems == []
    assert definition.nodes["a"].extension == expected


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("extension: {days: 5}", "an extension moves the step's time limit, so the step needs an 'sla'"),
        ("sla: {days: 3}\n    extension: {days: 5, max: 0}", "max"),
        ("sla: {days: 3}\n    extension: {days: 5, months: 1}", "months"),
        ("sla: {days: 3}\n    extension: {days: 5, hours: 2}", "not days and hours"),
        ("sla: {days: 3}\n    extension: forever", "extension"),
    ],
)
def test_a_bad_extension_is_an_error_with_its_position(keys, message):
    _definition, problems = check(keys)

    assert problems, keys
    assert any(message in p.message for p in problems), [p.message for p in problems]
    assert all(p.line > 0 for p in problems)


def test_extend_task_is_counted_per_node_and_refused_one_too_many():
    definition, _ = check("sla: {days: 3}\n    extension: {days: 5, max: 2}")
    state = step(definition, None, Start({"x": 1}), T0).state
    (task_id,) = state["tasks"]

    effects = []
    for _ in range(2):
        result = step(definition, state, ExtendTask(task_id, actor="7"), T0)
        state = load_state(dump_state(result.state))
        effects.extend(e for e in result.effects if isinstance(e, TaskExtended))
    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, ExtendTask(task_id), T0)

    assert [(e.days, e.hours, e.count) for e in effects] == [(5, None, 1), (5, None, 2)]
    assert state["extensions"] == {"a": 2}
    assert len(state["tasks"][task_id]["extensions"]) == 2
    assert refused.value.code == "extension_limit_reached"


def test_extend_task_is_refused_where_the_template_forbids_it():
    definition, _ = check("sla: {days: 3}\n    extension: none")
    state = step(definition, None, Start({"x": 1}), T0).state
    (task_id,) = state["tasks"]

    with pytest.raises(IllegalEvent) as refused:
        step(definition, state, ExtendTask(task_id), T0)

    assert refused.value.code == "extension_not_allowed"


# -- simulate_process --------------------------------------------------------

EXTENSION_YAML = Path(__file__).parent.parent / "data" / "services" / "extension.yaml"
CN = WorkingCalendar(load_calendar_file(Path(__file__).parents[2] / "fixtures" / "calendar" / "cn.yaml"))


def simulated(decisions, **options):
    definition = load_definition(EXTENSION_YAML.read_text(encoding="utf-8"))
    script = script_from_mapping({"data": {"company_name": "测试"}, "decisions": decisions})
    return simulate(definition, script, **options)


def test_a_scripted_extension_moves_the_breach_and_the_worst_case_on_the_calendar():
    # accepted Tuesday 2026-03-03 (Beijing)
    start = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    result = simulated({"review": ["extend", "approve"], "fire": ["extend", "extend", "approve"]})
    dated = simulated({"review": ["extend", "approve"]}, start=start, calendar=CN).as_json()

    assert result.outcome == "approved"
    assert result.working_days == 20 + 10 + 3 + 5 + 5 + 2
    assert [d["outcome"] for d in result.decisions if d["node"] == "fire"] == ["extend", "extend", "approve"]
    due = {(d["node"], d["kind"]): d["due"] for d in dated["deadlines"]}
    # 20 working days end 3-31; ten more skip Qingming (4-4 to 4-6)
    assert due[("review", "sla_breach")] == "2026-04-15"
    assert due[("review", "sla_reminder")] == "2026-03-31"


def test_a_scripted_extension_the_template_does_not_allow_fails_the_run():
    with pytest.raises(SimulationError) as failed:
        simulated({"review": ["extend", "extend", "approve"]})

    assert "already extended once" in failed.value.message


# -- the timers' arithmetic (what timers_recompute replays) --------------------

SHANGHAI = timedelta(hours=8)


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=UTC) - SHANGHAI


def test_replay_moves_a_running_timer_from_its_old_due_date():
    start = beijing(2026, 3, 3, 10, 0)
    moved = replay(
        CN,
        start=start,
        days=20,
        hours=None,
        fraction=1.0,
        pauses=[extension_entry(beijing(2026, 3, 20, 10), days=10, hours=None, paused=False)],
    )

    assert moved.due_at == beijing(2026, 4, 15, 17, 0)
    assert moved.provisional is False


def test_replay_adds_an_extension_granted_during_a_pause_to_the_time_left():
    start, paused_at = beijing(2026, 3, 3, 10, 0), beijing(2026, 3, 10, 12, 0)
    plain = replay(CN, start=start, days=20, hours=None, fraction=1.0, pauses=[[paused_at.isoformat(), None]])
    extended = replay(
        CN,
        start=start,
        days=20,
        hours=None,
        fraction=1.0,
        pauses=[
            extension_entry(beijing(2026, 3, 11, 9), days=10, hours=None, paused=True),
            [paused_at.isoformat(), None],
        ],
    )

    assert extended.due_at is None
    assert extended.remaining_seconds == plain.remaining_seconds + 10 * 8 * 3600


def test_an_extension_into_a_year_the_calendar_lacks_is_provisional():
    start = beijing(2026, 12, 1, 10, 0)
    exact = replay(CN, start=start, days=20, hours=None, fraction=1.0, pauses=[])
    moved = replay(
        CN,
        start=start,
        days=20,
        hours=None,
        fraction=1.0,
        pauses=[extension_entry(start, days=10, hours=None, paused=False)],
    )

    assert exact.provisional is False
    assert moved.due_at.year == 2027
    assert moved.provisional is True
