"""A dry run that cannot finish says where: the node(s) the case is stuck on
with their lines in the template, and, when a scripted decision is the
cause, the entry of the decisions file (simulate_process prints its line).

The command is exercised through its own line builder (`failure_line`), which
reads no database, so the test stays with the other engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from govflow.engine.simulate import SimulationError, script_from_mapping, simulate
from govflow.processes.management.commands.simulate_process import Command

from .conftest import load

TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
form:
  fields:
    - {id: x, type: number, label: {zh: x, en: x}}
nodes:
  - {id: start, type: start, next: review}
  - id: review
    type: user_task
    title: {zh: 审查, en: Review}
    department: fire
    sla: {days: 5, on_breach: escalate}
    outcomes: {approve: gate, return: fix}
  - {id: fix, type: correction, title: {zh: 补正, en: Correct}, next: review}
  - id: gate
    type: exclusive
    branches:
      - {to: done, when: x > 5}
      - {to: fix, when: x < 0}
  - {id: done, type: end, title: {zh: 通过, en: Approved}, outcome: approved}
"""


def failure(script: dict, data: dict | None = None) -> SimulationError:
    definition = load(TEMPLATE)
    with pytest.raises(SimulationError) as caught:
        simulate(definition, script_from_mapping({"data": data or {"x": 9}, **script}))
    return caught.value


def command_line(tmp_path: Path, decisions: str) -> str:
    """What simulate_process prints for the run scripted by `decisions`."""
    template = tmp_path / "demo.yaml"
    template.write_text(TEMPLATE, encoding="utf-8")
    script_file = tmp_path / "decisions.yaml"
    script_file.write_text(decisions, encoding="utf-8")
    definition = load(TEMPLATE)
    command = Command()
    raw, errors = command.read_script(str(script_file), definition)
    assert errors == []
    with pytest.raises(SimulationError) as caught:
        simulate(definition, script_from_mapping(raw))
    with translation.override("en"):  # the command speaks the configured language (Chinese by default)
        return command.failure_line(caught.value, str(template), str(script_file))


def test_a_timeout_that_only_escalates_leaves_the_case_stuck_at_the_task():
    # Given a review scripted to let its SLA pass, whose breach only escalates
    error = failure({"decisions": {"review": ["timeout"]}})

    # Then the run names the stuck node with its line, and the scripted entry behind it
    assert error.message == (
        "the case is stuck: nothing is left to happen at 'review' (template line 8): the scripted "
        "'timeout' lets the SLA of 'review' pass, and its on_breach 'escalate' decides nothing"
    )
    assert error.nodes == (("review", 8, 5),)
    assert error.script == ("decisions", "review", 0)


def test_a_correction_timeout_without_a_deadline_leaves_the_case_stuck():
    error = failure({"decisions": {"review": ["return"], "fix": "timeout"}})
    assert error.message == (
        "the case is stuck: nothing is left to happen at 'fix' (template line 14): the scripted "
        "'timeout' waits for a deadline 'fix' does not have"
    )
    assert error.script == ("decisions", "fix", None)


def test_a_decision_not_offered_names_its_entry():
    error = failure({"decisions": {"review": ["approve", "reject"]}}, data={"x": 1})
    # x = 1: no branch holds, so the first failure is the gateway's
    assert error.message.startswith("no condition of gateway 'gate' holds")
    assert error.message.endswith("(at 'gate' (template line 15))")
    assert error.nodes == (("gate", 15, 5),)
    assert error.script is None

    error = failure({"decisions": {"review": ["return", "reject"]}})
    assert error.message == (
        "decision 'reject' for 'review' is not offered there (offered: approve, return), "
        "at 'review' (template line 8)"
    )
    assert error.script == ("decisions", "review", 1)


def test_an_endless_loop_names_the_decision_used_every_round():
    error = failure({"decisions": {"review": "return"}})
    assert "did not end" in error.message
    assert "the scripted decision 'return' for 'review' is used every round" in error.message
    assert error.script == ("decisions", "review", None)


def test_the_command_prints_the_line_of_the_decisions_entry(tmp_path: Path):
    line = command_line(tmp_path, "decisions:\n  review: [approve, timeout]\n  fix: timeout\n")
    # The list's second entry is not used (the first approves); x is example data (1): gateway first.
    assert line.startswith(
        f"{tmp_path / 'demo.yaml'}:15:5: simulation failed: no condition of gateway 'gate'"
    )

    line = command_line(tmp_path, "data: {x: 9}\ndecisions:\n  review:\n    - return\n    - timeout\n")
    assert line == (
        f"{tmp_path / 'decisions.yaml'}:5:7: simulation failed: the case is stuck: nothing is left to "
        "happen at 'review' (template line 8): the scripted 'timeout' lets the SLA of 'review' pass, "
        "and its on_breach 'escalate' decides nothing"
    )


def test_the_command_falls_back_to_the_start_of_the_file():
    # An error with neither a node nor a scripted cause keeps today's place.
    command = Command()
    with translation.override("en"):
        line = command.failure_line(SimulationError("something else"), "t.yaml", None)
    assert line == "t.yaml:1:1: simulation failed: something else"
