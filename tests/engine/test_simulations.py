"""Simulations of the shipped templates, scripted by the files in
tests/data/simulations/ (each file's header says what it exercises)."""

from pathlib import Path

import pytest

from govflow.engine import load_definition
from govflow.engine.simulate import Script, script_from_mapping, simulate

ROOT = Path(__file__).resolve().parents[2]
SIMULATIONS = ROOT / "tests" / "data" / "simulations"
DEPARTMENTS = None


def _definition(name):
    return load_definition((ROOT / "workflows" / f"{name}.yaml").read_bytes())


def _run(template, script_name=None):
    from ruamel.yaml import YAML

    definition = _definition(template)
    script = Script()
    if script_name:
        raw = YAML(typ="safe", pure=True).load(
            (SIMULATIONS / f"{script_name}.yaml").read_text(encoding="utf-8")
        )
        script = script_from_mapping(raw or {})
    return simulate(definition, script).as_json()


BUSINESS_CERTS = ["business_licence", "seal_filing"]
CONSTRUCTION_CERTS = [
    "land_use_planning_permit",
    "construction_planning_permit",
    "construction_permit",
    "joint_acceptance_opinion",
    "completion_filing",
]

# file, outcome, working days, certificate types, nodes that must run, nodes that must not
CASES = [
    (
        "business_setup",
        "business_setup_approve_all",
        "approved",
        1,
        BUSINESS_CERTS,
        ["housing_fund", "end_approved"],
        ["fix_name", "end_partially_approved"],
    ),
    (
        "business_setup",
        "business_setup_rejected",
        "rejected",
        0.5,
        [],
        ["registration_refused", "end_rejected"],
        ["assign_credit_code", "seal_start", "seal"],
    ),
    (
        "business_setup",
        "business_setup_correction",
        "approved",
        1.5,
        BUSINESS_CERTS,
        ["correct_registration"],
        [],
    ),
    ("business_setup", "business_setup_name_taken", "withdrawn", 0, [], ["fix_name"], ["registration"]),
    ("business_setup", "business_setup_silent_consent", "approved", 1, BUSINESS_CERTS, ["housing_fund"], []),
    (
        "business_setup",
        "business_setup_no_employees",
        "approved",
        1,
        BUSINESS_CERTS,
        ["seal", "tax", "end_approved"],
        ["social_insurance", "medical_insurance", "housing_fund", "bank_account"],
    ),
    (
        # 一件事: the bank's refusal ends its item alone; the licence stands
        "business_setup",
        "business_setup_bank_refuses",
        "approved",
        1,
        BUSINESS_CERTS,
        ["bank_account_refused", "end_partially_approved"],
        ["end_approved", "end_rejected"],
    ),
    (
        "construction_permit",
        "construction_permit_approve_all",
        "approved",
        67,
        CONSTRUCTION_CERTS,
        ["construction", "stage_4"],
        [],
    ),
    (
        "construction_permit",
        "construction_permit_small_project",
        "approved",
        67,
        CONSTRUCTION_CERTS,
        [
            "s2_design_review",
            "s3_fire_filing",
            "construction",
            "s4_land_check",
            "s4_utilities",
            "s4_fire_filing",
        ],
        ["s2_eia_evaluation", "s2_air_defence", "s3_fire_expert", "s3_fire_review", "s4_fire_acceptance"],
    ),
    (
        "construction_permit",
        "construction_permit_large_project",
        "approved",
        114.86,
        CONSTRUCTION_CERTS,
        [
            "s2_eia_evaluation",
            "s2_eia_report",
            "s2_air_defence",
            "s3_fire_expert",
            "s3_fire_review",
            "s4_fire_acceptance",
            "s4_land_check",
            "s4_utilities",
            "s4_air_defence",
        ],
        ["s2_eia_form", "s3_fire_filing", "s4_fire_filing"],
    ),
    (
        "construction_permit",
        "construction_permit_correction",
        "approved",
        74,
        CONSTRUCTION_CERTS,
        ["s1_correct_land"],
        [],
    ),
    (
        "construction_permit",
        "construction_permit_rejected",
        "rejected",
        72.86,
        CONSTRUCTION_CERTS[:2],
        ["s3_fire_review", "s3_rejected"],
        ["s3_fire_expert", "construction", "stage_4"],
    ),
    (
        "construction_permit",
        "construction_permit_countersign_reject",
        "rejected",
        43,
        CONSTRUCTION_CERTS[:2],
        ["s3_joint_opinion"],
        ["s3_permit"],
    ),
    (
        "construction_permit",
        "construction_permit_invalid_credit_code",
        "rejected",
        0,
        [],
        ["check_builder_credit"],
        ["stage_1"],
    ),
    (
        "construction_permit",
        "construction_permit_silent_consent",
        "approved",
        67,
        CONSTRUCTION_CERTS,
        ["s4_archives"],
        [],
    ),
    (
        "construction_permit",
        "construction_permit_rectification_missed",
        "withdrawn",
        60,
        CONSTRUCTION_CERTS[:3],
        ["s4_rectify_filing"],
        ["s4_notice"],
    ),
]


@pytest.mark.parametrize(
    ("template", "script", "outcome", "days", "certs", "present", "absent"), CASES, ids=[c[1] for c in CASES]
)
def test_scripted_simulation(template, script, outcome, days, certs, present, absent):
    result = _run(template, script)

    assert result["outcome"] == outcome
    assert result["working_days"] == days
    assert [c["type"] for c in result["certificates"]] == certs
    for node in present:
        assert node in result["trace"], f"{node} should run"
    for node in absent:
        assert node not in result["trace"], f"{node} should not run"


def test_every_simulation_file_is_covered():
    assert {p.stem for p in SIMULATIONS.glob("*.yaml")} == {c[1] for c in CASES}


def test_the_correction_clock_pause_makes_the_applicants_time_free():
    # The same correction with the applicant taking 3 or 15 working days
    # (both inside the 20-day correction deadline)
    from ruamel.yaml import YAML

    raw = YAML(typ="safe").load(
        (SIMULATIONS / "construction_permit_correction.yaml").read_text(encoding="utf-8")
    )
    definition = _definition("construction_permit")
    quick = simulate(definition, script_from_mapping({**raw, "durations": {"s1_correct_land": 3}})).as_json()
    slow = simulate(definition, script_from_mapping({**raw, "durations": {"s1_correct_land": 15}})).as_json()
    assert quick["working_days"] == slow["working_days"] == 74
    # Past the deadline the application is deemed withdrawn
    late = simulate(definition, script_from_mapping({**raw, "durations": {"s1_correct_land": 21}})).as_json()
    assert late["outcome"] == "withdrawn"


def test_silent_consent_is_reported_with_its_legal_basis():
    result = _run("business_setup", "business_setup_silent_consent")
    automatic = [d for d in result["decisions"] if d.get("silent_consent")]
    assert [d["node"] for d in automatic] == ["housing_fund"]
    assert automatic[0]["legal_basis"]


def test_approve_all_stays_within_the_statutory_limits():
    for template in ("business_setup", "construction_permit"):
        result = _run(template)
        assert result["within_time_limit"] is True, template


def test_a_gateway_right_after_the_start_with_no_matching_branch_is_a_simulation_error():
    """The first step runs under the same error handling as the others: the
    command prints a message, not a traceback."""
    from govflow.engine.simulate import SimulationError

    definition = load_definition(
        b"""
id: no_branch
title: {zh: x, en: x}
calendar: cn
form:
  fields:
    - {id: x, type: number, required: true, sensitivity: public, label: {zh: x, en: x}}
nodes:
  - {id: start, type: start, title: {zh: s, en: s}, next: gate}
  - id: gate
    type: exclusive
    title: {zh: g, en: g}
    branches:
      - {to: big, when: x > 1}
      - {to: small, when: x < 1}
  - {id: big, type: end, title: {zh: b, en: b}, outcome: approved}
  - {id: small, type: end, title: {zh: s, en: s}, outcome: rejected}
"""
    )
    with pytest.raises(SimulationError, match="branch"):
        simulate(definition, Script(data={"x": 1}))


EXCLUDED_BRANCH = Path(__file__).resolve().parents[1] / "data" / "services" / "excluded_branch.yaml"


@pytest.mark.procedure
def test_simulation_reports_promised_and_statutory_days_and_the_excluded_time():
    # Given a promise of 5 days, a statutory limit of 20, a 15-day expert
    # review excluded from the clock beside a 5-day tax review
    source = EXCLUDED_BRANCH.read_text(encoding="utf-8").replace(
        "time_limit: {days: 20}", "time_limit: {days: 5}\nstatutory_limit: {days: 20}"
    )
    definition = load_definition(source)

    result = simulate(definition, Script(durations={"experts": 15})).as_json()

    # Then the tax days count (a department was working), the other 10 do not
    assert result["working_days"] == 5
    assert (result["time_limit_days"], result["within_time_limit"]) == (5, True)
    assert (result["statutory_limit_days"], result["within_statutory_limit"]) == (20, True)
    assert result["not_counted_days"] == {"excluded": 10, "applicant": 0}
    assert result["excluded_steps"] == [{"node": "experts", "days": 15}]


@pytest.mark.procedure
def test_a_bundle_simulation_shows_each_item_and_the_licence_first():
    # 一件事: the bank refusing leaves the licence and the other items standing
    result = _run("business_setup", "business_setup_bank_refuses")
    assert result["bundle_outcome"] == "partially_approved"
    lines = {line["item"]: line for line in result["items"]}
    assert {item: line["status"] for item, line in lines.items()} == {
        "registration": "approved",
        "seal": "approved",
        "tax": "approved",
        "social_insurance": "approved",
        "medical_insurance": "approved",
        "housing_fund": "approved",
        "bank_account": "rejected",
    }
    # The licence comes with the registration, half a day in, not at the end
    assert lines["registration"]["certificates"] == ["business_licence"]
    assert lines["registration"]["ended_day"] == 0.5
    assert lines["seal"]["started_day"] == 0.5
    assert lines["bank_account"]["ended_day"] == 1
    assert lines["bank_account"]["certificates"] == []
    assert result["trace"].index("registration_done") < result["trace"].index("seal_start")


@pytest.mark.procedure
def test_a_refused_registration_starts_no_other_item():
    result = _run("business_setup", "business_setup_rejected")
    assert result["bundle_outcome"] == "rejected"
    statuses = {line["item"]: line["status"] for line in result["items"]}
    assert statuses.pop("registration") == "rejected"
    assert set(statuses.values()) == {"not_started"}
