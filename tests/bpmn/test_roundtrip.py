"""export -> import gives back an equivalent template (govflow.bpmn.roundtrip
says what equivalent means), and the export is well-formed BPMN 2.0 with
diagram interchange for every node and flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from govflow.bpmn.common import BPMN, BPMNDI, DC, DI
from govflow.bpmn.exporter import export_bpmn
from govflow.bpmn.roundtrip import canonical

from .conftest import DEPARTMENTS, HANDLERS, ROOT

TEMPLATES = [
    ROOT / "workflows" / "business_setup.yaml",
    ROOT / "workflows" / "construction_permit.yaml",
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
    # Then the import still asks for distinct people
    assert '"distinct_people": true' in xml.decode("utf-8")
    assert canonical(result.yaml)["nodes"]["pair"]["countersign"]["distinct_people"] is True
