"""simulate_process scripts every approval operation (issue 19): the
example decisions file of docs/process-language.md section 16 runs through
the command, and an operation the engine refuses points at its line."""

import json
from pathlib import Path

import pytest

from .test_commands import run

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "examples" / "operations.yaml"
DECISIONS = ROOT / "docs" / "examples" / "operations-decisions.yaml"

pytestmark = [pytest.mark.operations, pytest.mark.django_db]


def test_the_documented_example_scripts_every_operation():
    code, out = run("simulate_process", str(TEMPLATE), "--decisions", str(DECISIONS), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["outcome"] == "approved"
    outcomes = [(d["node"], d["outcome"]) for d in result["decisions"]]
    for done in [
        ("intake", "take_back"),  # 撤回
        ("review", "consult:health+tax:5:2"),  # 会商 and its answer
        ("review", "consult_answered"),
        ("review", "delegate:1"),  # 委派 and the colleague's opinion
        ("review", "delegate_answered"),
        ("review", "add_signer:tax:after"),  # 加签 and 减签
        ("review", "remove_signer:tax"),
        ("review", "transfer:archives"),  # 转办
        ("inspect", "take_back"),  # 撤回 of the decision that ended the sub-process
        ("sign_off", "return:review"),  # 退回
    ]:
        assert done in outcomes, done
    # 票签: the first round is decided by two approvals, the third signer's task is cancelled
    first_vote = [o for n, o in outcomes[: outcomes.index(("inspect", "take_back"))] if n == "vote"]
    assert first_vote == ["approve", "approve"]
    # a decision taken back is made again, and a transferred task decided, within the
    # task's own time limit (intake, inspect; review)
    assert result["working_days"] == 28
    assert result["within_time_limit"] is True


def test_the_example_runs_on_the_calendar_with_a_date_for_every_entry():
    code, out = run(
        "simulate_process", str(TEMPLATE), "--decisions", str(DECISIONS), "--start", "2026-03-02", "--json"
    )
    assert code == 0, out
    result = json.loads(out)
    assert all("date" in d for d in result["decisions"])
    assert [d["date"] for d in result["decisions"]] == sorted(d["date"] for d in result["decisions"])


def test_an_operation_the_engine_refuses_points_at_its_entry(tmp_path):
    script = tmp_path / "d.yaml"
    script.write_text('decisions:\n  review: [approve]\n  vote:\n    - "return:sign_off"\n', encoding="utf-8")
    code, out = run("simulate_process", str(TEMPLATE), "--decisions", str(script))
    assert code == 1
    assert out.startswith(f"{script}:")
    assert "cannot send the case back to 'sign_off'" in out


def test_an_unreadable_consultation_points_at_its_entry(tmp_path):
    script = tmp_path / "d.yaml"
    script.write_text('decisions:\n  review: [approve]\n  sign_off: ["consult:fire:99"]\n', encoding="utf-8")
    code, out = run("simulate_process", str(TEMPLATE), "--decisions", str(script))
    assert code == 1
    assert out.strip() == (
        f"{script}:3:14: simulation failed: the scripted 'consult:fire:99' for 'sign_off' gives a limit "
        "that is not a whole number of working days from 1 to 30, at 'sign_off' (template line 41)"
    )


def test_scripted_signers_approve_a_repeat_and_unreadable_ones_point_at_their_entries(tmp_path):
    script = tmp_path / "d.yaml"
    # 审批人去重: wang decided the intake; the sign-off is approved at once in his name
    script.write_text("signers:\n  intake: wang\n  sign_off: wang\n", encoding="utf-8")
    code, out = run("simulate_process", str(TEMPLATE), "--decisions", str(script), "--json")
    assert code == 0, out
    decisions = json.loads(out)["decisions"]
    assert {"node": "sign_off", "outcome": "approve", "day": 14.0, "repeat_signer": "intake"} in decisions
    refused = tmp_path / "r.yaml"
    refused.write_text("signers:\n  intake: wang\n  nowhere: li\n  review: [7]\n", encoding="utf-8")
    code, out = run("simulate_process", str(TEMPLATE), "--decisions", str(refused))
    assert code == 1
    assert f"{refused}:3:3: signers: unknown node 'nowhere'" in out
    assert f"{refused}:4:11: signers: 'review' takes a person's name or a list of them" in out
