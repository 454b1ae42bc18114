"""simulate_process scripts 容缺 and 告知承诺 (no database): materials not
supplied terminate the case at their make-up deadline; a commitment found
false after approval reports the certificates it revokes."""

from __future__ import annotations

from pathlib import Path

import pytest

from govflow.engine.loader import load_definition_file
from govflow.engine.simulate import Script, material_days, simulate

pytestmark = pytest.mark.procedure

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = load_definition_file(ROOT / "tests" / "data" / "services" / "commitments.yaml")


def test_materials_not_supplied_terminate_at_the_make_up_deadline():
    # The review would take 5 working days; the photos are due after 3
    result = simulate(DEFINITION, Script(durations={"intake": 5}, commitments={"materials": "missing"}))

    assert material_days(DEFINITION) == 3
    assert result.outcome == "withdrawn"
    assert result.working_days == 3
    assert result.decisions == [{"node": "materials", "outcome": "terminated", "day": 3.0}]
    assert result.as_json()["commitments"]["materials"]["terminated"] is True


def test_materials_supplied_let_the_case_finish():
    result = simulate(DEFINITION, Script(durations={"intake": 5}, commitments={"materials": "supplied"}))

    assert result.outcome == "approved"
    assert result.as_json()["commitments"]["materials"] == {
        "slots": ["site_photos"],
        "working_days": 3.0,
        "supplied": True,
        "terminated": False,
    }


def test_a_false_commitment_reports_the_revocation():
    result = simulate(DEFINITION, Script(commitments={"verification": "false"}))

    verification = result.as_json()["commitments"]["verification"]
    assert result.outcome == "approved"
    assert verification["finding"] == "false"
    assert verification["certificates_revoked"] == ["test_licence"]
    assert verification["credit_record"] is True
    assert verification["department"] == "market_regulation"


def test_without_a_commitments_script_the_json_is_unchanged():
    assert "commitments" not in simulate(DEFINITION, Script()).as_json()
