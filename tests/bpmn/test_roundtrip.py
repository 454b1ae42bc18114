"""export -> import gives back an equivalent template (govflow.bpmn.roundtrip
says what equivalent means), and the export is well-formed BPMN 2.0 with
diagram interchange for every node and flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from ruamel.yaml import YAML

from govflow.bpmn.common import BPMN, BPMNDI, DC, DI
from govflow.bpmn.exporter import export_bpmn
from govflow.bpmn.roundtrip import canonical
from govflow.engine import load_definition

from .conftest import DEPARTMENTS, HANDLERS, ROOT

TEMPLATES = [
    ROOT / "workflows" / "business_setup.yaml",  # 一件事: a bundle and its items
    ROOT / "workflows" / "construction_permit.yaml",
    ROOT / "workflows" / "food_business_licence.yaml",
    *sorted((ROOT / "tests" / "data" / "workflows" / "valid").glob("*.yaml")),
]


def _id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", TEMPLATES, ids=_id)
def test_importing_an_export_gives_back_the_same_template(path, importer):
    source = path.read_text("utf-8")
    # Given the template exported as BPMN
    xml = export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS)
    # When it is imported again (with no default department: lanes carry them)
    result = importer(xml, department=None)
    # Then the template is the same, node for node
    assert canonical(result.yaml) == canonical(source)
    # And exporting the import gives the same BPMN again
    assert export_bpmn(result.yaml, handlers=HANDLERS, departments=DEPARTMENTS) == xml


@pytest.mark.parametrize("path", TEMPLATES, ids=_id)
def test_the_export_has_a_shape_for_every_node_and_an_edge_for_every_flow(path):
    xml = export_bpmn(path.read_bytes(), handlers=HANDLERS, departments=DEPARTMENTS)
    root = etree.fromstring(xml)
    assert root.tag == f"{{{BPMN}}}definitions"
    flow_nodes = {
        el.get("id")
        for process in root.iter(f"{{{BPMN}}}process")
        for el in process
        if etree.QName(el).localname not in ("sequenceFlow", "laneSet", "extensionElements", "documentation")
    }
    flows = {el.get("id") for el in root.iter(f"{{{BPMN}}}sequenceFlow")}
    shapes = {el.get("bpmnElement"): el for el in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {el.get("bpmnElement"): el for el in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    assert flow_nodes <= set(shapes)
    assert flows == set(edges)
    for edge in edges.values():
        assert len(edge.findall(f"{{{DI}}}waypoint")) >= 2
    # Left to right: every forward flow's target starts right of its source's start.
    bounds = {k: v.find(f"{{{DC}}}Bounds") for k, v in shapes.items()}
    forward = 0
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        source, target = bounds[flow.get("sourceRef")], bounds[flow.get("targetRef")]
        if float(target.get("x")) > float(source.get("x")):
            forward += 1
    assert forward >= len(flows) * 0.7


def test_the_export_keeps_govflow_constructs_in_its_namespace():
    xml = export_bpmn((ROOT / "workflows" / "construction_permit.yaml").read_bytes(), handlers=HANDLERS)
    text = xml.decode("utf-8")
    assert 'xmlns:govflow="urn:govflow:bpmn:1.0"' in text
    assert '"countersign": {"mode": "all"' in text
    assert "certificates" in text
    assert "<govflow:template>" in text
    # Sub-processes are processes of their own, called by call activities
    root = etree.fromstring(xml)
    called = {el.get("calledElement") for el in root.iter(f"{{{BPMN}}}callActivity")}
    assert called <= {el.get("id") for el in root.iter(f"{{{BPMN}}}process")}
    assert len(called) == 4


def test_a_countersign_of_distinct_people_survives_export_and_import(importer):
    source = (ROOT / "tests/data/workflows/valid/countersign_distinct_people.yaml").read_text("utf-8")
    # Given a countersign that two different people of one department must sign
    xml = export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS)
    # When it goes to BPMN and back
    result = importer(xml, department=None)
    # Then the import still asks for distinct people (the default, so not written out)
    assert '"distinct_people"' not in xml.decode("utf-8")
    assert canonical(result.yaml)["nodes"]["pair"]["countersign"].get("distinct_people", True) is True
    assert load_definition(result.yaml).nodes["pair"].countersign.distinct_people is True


def test_the_opt_out_of_distinct_people_survives_export_and_import(importer):
    # Given a countersign of two departments that one person may sign both of
    source = (ROOT / "tests/data/workflows/valid/countersign_distinct_people.yaml").read_text("utf-8")
    source = source.replace(
        "signers: [market_regulation, market_regulation], distinct_people: true",
        "signers: [market_regulation, tax], distinct_people: false",
    )
    assert "distinct_people: false" in source
    # When it goes to BPMN and back
    result = importer(export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS), department=None)
    # Then the opt-out is kept
    assert canonical(result.yaml)["nodes"]["pair"]["countersign"]["distinct_people"] is False


def _clock_of(source: str, node_id: str):
    raw = YAML(typ="safe", pure=True).load(source)
    nodes = list(raw["nodes"])
    for sub in (raw.get("subprocesses") or {}).values():
        nodes += sub["nodes"]
    return next(item for item in nodes if item["id"] == node_id).get("clock")


CLOCK_TEMPLATE = """
id: clock_forms
title: {{zh: 计时方式, en: Clock forms}}
time_limit: {{days: 20}}
statutory_limit: {{days: 30}}
nodes:
  - {{id: start, type: start, next: panel}}
  - id: panel
    type: user_task
    title: {{zh: 专家评审, en: Expert panel}}
    department: development_reform
    clock: {clock}
    outcomes: {{approve: sign, reject: refused}}
  - id: sign
    type: user_task
    title: {{zh: 会签, en: Countersign}}
    countersign: {{mode: all, signers: [development_reform, market_regulation]}}
    clock: {clock}
    outcomes: {{approve: check, reject: refused}}
  - id: check
    type: call
    title: {{zh: 核查, en: Check}}
    process: inspection
    outcomes: {{approved: done}}
  - {{id: done, type: end, title: {{zh: 通过, en: Approved}}, outcome: approved}}
  - {{id: refused, type: end, title: {{zh: 驳回, en: Refused}}, outcome: rejected}}
subprocesses:
  inspection:
    title: {{zh: 现场核查, en: Inspection}}
    nodes:
      - {{id: i_start, type: start, next: visit}}
      - id: visit
        type: user_task
        title: {{zh: 现场检验, en: Site test}}
        department: market_regulation
        clock: {clock}
        outcomes: {{approve: i_end, reject: i_end}}
      - {{id: i_end, type: end, title: {{zh: 完成, en: Done}}, outcome: approved}}
"""


def _roundtrip_clock(clock, importer):
    import json

    source = CLOCK_TEMPLATE.format(clock=json.dumps(clock, ensure_ascii=False))
    xml = export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS)
    result = importer(xml, department=None)
    return source, xml, result


def test_the_long_clock_form_keeps_every_key(importer):
    # Given an excluded step in its long form, on a task, a countersign and in a sub-process
    clock = {
        "excluded": True,
        "scope": "case",
        "expected": {"calendar_days": 30},
        "legal_basis": '《中华人民共和国行政许可法》第四十五条；\n检验时间 "不计入" <期限> & 告知',
    }
    source, xml, result = _roundtrip_clock(clock, importer)
    # When it goes to BPMN and back, every key comes back as written
    for node_id in ("panel", "sign", "visit"):
        assert _clock_of(result.yaml, node_id) == clock
    assert canonical(result.yaml) == canonical(source)
    definition = canonical(result.yaml)
    assert definition["nodes"]["visit"]["clock_scope"] == "case"
    assert definition["nodes"]["visit"]["clock_expected"] == {
        "days": None,
        "hours": None,
        "calendar_days": 30,
    }
    # and the template's statutory limit with it
    assert definition["statutory_limit"] == {"days": 30, "hours": None, "calendar_days": None}
    assert export_bpmn(result.yaml, handlers=HANDLERS, departments=DEPARTMENTS) == xml


_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    | st.sampled_from("\n\"'<>&:#{}[]"),
    min_size=1,
    max_size=40,
).filter(lambda t: t.strip() == t and t.strip())
_durations = st.one_of(
    st.builds(lambda n: {"days": n}, st.integers(1, 365)),
    st.builds(lambda n: {"calendar_days": n}, st.integers(1, 365)),
    st.builds(lambda n: {"hours": n}, st.sampled_from([0.5, 1, 2, 4.5, 8, 16])),
)


@st.composite
def clock_forms(draw):
    """Every clock form the language accepts: the short words and the long
    form with any subset of its optional keys."""
    short = draw(st.sampled_from([None, "counted", "excluded"]))
    if short is not None:
        return short
    clock: dict = {"excluded": draw(st.booleans())}
    if clock["excluded"]:
        if draw(st.booleans()):
            clock["scope"] = draw(st.sampled_from(["branch", "case"]))
        if draw(st.booleans()):
            clock["expected"] = draw(_durations)
        if draw(st.booleans()):
            clock["legal_basis"] = draw(_texts)
    return clock


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(clock_forms())
def test_every_clock_form_survives_export_and_import(importer, clock):
    source, xml, result = _roundtrip_clock(clock, importer)
    for node_id in ("panel", "sign", "visit"):
        assert _clock_of(result.yaml, node_id) == clock
    assert canonical(result.yaml) == canonical(source)
    assert export_bpmn(result.yaml, handlers=HANDLERS, departments=DEPARTMENTS) == xml


def test_a_bundle_is_a_sub_process_calling_each_items_process(importer):
    # 一件事: business_setup's bundle, as a viewer sees it
    source = (ROOT / "workflows" / "business_setup.yaml").read_bytes()
    root = etree.fromstring(export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS))
    [bundle] = [el for el in root.iter(f"{{{BPMN}}}subProcess") if el.get("id") == "items"]
    calls = {call.get("calledElement") for call in bundle.iter(f"{{{BPMN}}}callActivity")}
    items = (
        "registration",
        "seal",
        "tax",
        "social_insurance",
        "medical_insurance",
        "housing_fund",
        "bank_account",
    )
    assert calls == {f"process_{item}" for item in items}
    processes = {el.get("id") for el in root.iter(f"{{{BPMN}}}process")}
    assert calls <= processes
    # and the import makes the same bundle, with no sub-process of its own for the container
    imported = load_definition(importer(etree.tostring(root), department=None).yaml)
    assert [item.id for item in imported.nodes["items"].items] == list(items)
    assert imported.nodes["items"].items[6].when.source == 'bank != "none"'
    assert set(imported.processes) == {"main", *items}
