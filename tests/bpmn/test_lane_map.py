"""Lanes and pools name departments (docs/bpmn.md): by code, Chinese or
English name, exactly after trimming and case-insensitively, or by an
explicit --lane-map; an unmapped lane is refused naming the lane and the
options that fix it. The command reads departments from the database when it
has any, else from fixtures/departments.yaml."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.management import call_command
from ruamel.yaml import YAML

from govflow.bpmn.common import BpmnError, department_named

from .conftest import DEPARTMENTS
from .test_commands import manage

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def laned(*lanes: tuple[str, str], pool: str = "") -> str:
    """One process; lane (id, name) i holds task t<i>; the tasks run one after another."""
    refs = "".join(
        f'<lane id="{lane_id}" name="{name}"><flowNodeRef>t{i}</flowNodeRef></lane>'
        for i, (lane_id, name) in enumerate(lanes)
    )
    tasks = "".join(f'<userTask id="t{i}" name="任务{i}"/>' for i in range(len(lanes)))
    chain = ["s", *(f"t{i}" for i in range(len(lanes))), "e"]
    flows = "".join(
        f'<sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(chain))
    )
    collaboration = (
        f'<collaboration id="c"><participant id="P" name="{pool}" processRef="Demo"/></collaboration>'
        if pool
        else ""
    )
    lane_set = f'<laneSet id="ls">{refs}</laneSet>' if lanes and lanes[0][0] else ""
    return (
        f'<definitions {NS} id="d">{collaboration}<process id="Demo" name="示例">{lane_set}'
        f'<startEvent id="s"/>{tasks}{flows}<endEvent id="e" name="结束"/></process></definitions>'
    )


def departments_of(result) -> dict[str, str]:
    data = YAML(typ="safe", pure=True).load(result.yaml)
    return {n["id"]: n.get("department") for n in data["nodes"] if n["type"] == "user_task"}


@pytest.mark.parametrize(
    "name",
    [
        "市场监督管理局",
        " 市场监督管理局 ",
        "market_regulation",
        "Market regulation",
        "MARKET-REGULATION",
        "Administration for Market Regulation",
        "administration  for market regulation",
    ],
)
def test_a_lane_names_its_department_by_code_or_name(importer, name):
    result = importer(laned(("L0", name)), department=None)
    assert departments_of(result) == {"t0": "market_regulation"}


def test_names_match_exactly_not_by_part():
    assert department_named("市场监督管理局（窗口）", DEPARTMENTS) is None
    assert department_named("Market", DEPARTMENTS) is None
    assert department_named("Tax Bureau", DEPARTMENTS) == "tax"


def test_the_lane_map_names_lanes_by_name_or_id(importer):
    source = laned(("L0", "Clerk"), ("L1", "Manager"), ("L2", "Customer"))
    result = importer(
        source,
        department=None,
        lane_map={" clerk ": "tax", "L1": "fire", "Customer": "applicant"},
    )
    assert departments_of(result) == {"t0": "tax", "t1": "fire"}
    data = YAML(typ="safe", pure=True).load(result.yaml)
    assert {n["id"]: n["type"] for n in data["nodes"]}["t2"] == "correction"


def test_the_lane_map_comes_before_department_names(importer):
    result = importer(laned(("L0", "税务局")), department=None, lane_map={"税务局": "bank"})
    assert departments_of(result) == {"t0": "bank"}


def test_a_pool_names_the_department_of_tasks_in_no_lane(importer):
    assert departments_of(importer(laned(("", ""), pool="消防救援支队"), department=None)) == {"t0": "fire"}
    mapped = importer(
        laned(("", ""), pool="Fire brigade"), department=None, lane_map={"Fire brigade": "fire"}
    )
    assert departments_of(mapped) == {"t0": "fire"}


def test_an_unmapped_lane_is_refused_once_naming_it_and_the_options(importer):
    source = laned(("L0", "Clerk"), ("L1", "Clerk desk"), ("L2", "税务局"))
    with pytest.raises(BpmnError) as refused:
        importer(source, department=None)
    lines = refused.value.lines("m.bpmn")
    assert len(lines) == 2
    assert lines[0].startswith(
        "m.bpmn:1: element 'L0': lane 'Clerk' names no department govflow knows (its tasks: 't0')"
    )
    assert "--lane-map 'Clerk=CODE'" in lines[0]
    assert "--department CODE" in lines[0]
    assert "market_regulation" in lines[0]
    assert "element 'L1': lane 'Clerk desk'" in lines[1]


def test_an_unmapped_pool_is_refused_naming_it(importer):
    with pytest.raises(BpmnError) as refused:
        importer(laned(("", ""), pool="Customer Onboarding"), department=None)
    assert "element 'P': pool 'Customer Onboarding' names no department" in refused.value.lines()[0]


def test_with_a_default_department_an_unmapped_lane_is_a_note(importer):
    result = importer(laned(("L0", "Clerk"), ("L1", "税务局")), department="bank")
    assert departments_of(result) == {"t0": "bank", "t1": "tax"}
    notes = [n for n in result.notes if n.element == "L0"]
    assert len(notes) == 1
    assert "went to the default department 'bank'" in notes[0].message


def test_a_lane_map_entry_with_an_unknown_code_is_refused_and_one_matching_nothing_is_noted(importer):
    with pytest.raises(BpmnError) as refused:
        importer(laned(("L0", "Clerk")), lane_map={"Clerk": "planning"})
    assert (
        "--lane-map 'Clerk=planning': 'planning' is not a department code govflow knows"
        in refused.value.lines()[0]
    )
    result = importer(laned(("L0", "税务局")), department=None, lane_map={"Nobody": "tax"})
    assert any("--lane-map 'nobody=tax' matches no lane or pool" in n.message for n in result.notes)


def test_the_command_takes_repeated_lane_maps(tmp_path):
    path = tmp_path / "m.bpmn"
    path.write_text(laned(("L0", "Clerk"), ("L1", "Manager")), encoding="utf-8")
    result = manage("import_bpmn", str(path), "--lane-map", "Clerk=tax", "--lane-map", "Manager=fire")
    assert result.returncode == 0, result.stderr
    assert "department: tax" in result.stdout
    assert "department: fire" in result.stdout
    refused = manage("import_bpmn", str(path), "--lane-map", "Clerk=tax")
    assert refused.returncode == 1
    assert "lane 'Manager' names no department" in refused.stderr
    assert "--lane-map 'Manager=CODE'" in refused.stderr
    malformed = manage("import_bpmn", str(path), "--lane-map", "Clerk")
    assert malformed.returncode == 1
    assert "expected LANE=CODE" in malformed.stderr
    assert "Traceback" not in malformed.stderr


@pytest.mark.django_db
def test_the_command_reads_departments_from_the_database(tmp_path):
    from govflow.accounts.models import Department

    Department.objects.create(
        code="culture_tourism", name_zh="文化和旅游局", name_en="Culture and Tourism Bureau"
    )
    path = tmp_path / "m.bpmn"
    path.write_text(laned(("L0", "文化和旅游局")), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_bpmn", str(path), stdout=out, stderr=err, language="en")
    assert "department: culture_tourism" in out.getvalue()
