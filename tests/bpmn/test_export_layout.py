"""The exported diagram is readable: pools one below the other, no two
shapes on top of each other, and no flow drawn through a shape that is not
its own end. Checked on the diagram interchange of every shipped and valid
test template, on random processes, and as bpmn-js draws it in Chromium."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from govflow.bpmn.common import BPMN, BPMNDI, DC, DI
from govflow.bpmn.exporter import export_bpmn
from tests.engine.test_properties import processes

from .conftest import DEPARTMENTS, HANDLERS, ROOT

TEMPLATES = [
    *sorted((ROOT / "workflows").glob("*.yaml")),
    *sorted((ROOT / "tests" / "data" / "workflows" / "valid").glob("*.yaml")),
]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the axis-parallel segment a-b passes through the inside."""
        (x1, y1), (x2, y2) = a, b
        low_x, high_x, low_y, high_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        inside_x = low_x < self.x + self.w - 1 and high_x > self.x + 1
        inside_y = low_y < self.y + self.h - 1 and high_y > self.y + 1
        return inside_x and inside_y


def layout_problems(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    kinds = {el.get("id"): etree.QName(el).localname for el in root.iter() if el.get("id")}
    attached = {el.get("id"): el.get("attachedToRef") for el in root.iter(f"{{{BPMN}}}boundaryEvent")}
    ends = {
        el.get("id"): (el.get("sourceRef"), el.get("targetRef"))
        for el in root.iter(f"{{{BPMN}}}sequenceFlow")
    }
    pools: dict[str, Rect] = {}
    shapes: dict[str, Rect] = {}
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape"):
        bounds = shape.find(f"{{{DC}}}Bounds")
        rect = Rect(*(float(bounds.get(k)) for k in ("x", "y", "width", "height")))
        element = shape.get("bpmnElement")
        kind = kinds.get(element)
        if kind == "participant":
            pools[element] = rect
        elif kind not in ("lane", "boundaryEvent"):
            shapes[element] = rect
    problems = [
        f"pools {a} and {b} overlap" for a, b in combinations(pools, 2) if pools[a].overlaps(pools[b])
    ]
    problems += [
        f"shapes {a} and {b} overlap" for a, b in combinations(shapes, 2) if shapes[a].overlaps(shapes[b])
    ]
    for edge in root.iter(f"{{{BPMNDI}}}BPMNEdge"):
        flow = edge.get("bpmnElement")
        source, target = ends[flow]
        own = {source, target, attached.get(source)}
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iter(f"{{{DI}}}waypoint")]
        for a, b in pairwise(points):
            if a[0] != b[0] and a[1] != b[1]:
                problems.append(f"flow {flow} has a slanted segment {a} -> {b}")
            for element, rect in shapes.items():
                if element not in own and rect.crossed_by(a, b):
                    problems.append(f"flow {flow} ({source} -> {target}) crosses {element}")
    return problems


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: Path(p).stem)
def test_the_exported_diagram_is_readable(path):
    xml = export_bpmn(path.read_bytes(), handlers=HANDLERS, departments=DEPARTMENTS)
    assert layout_problems(xml) == []


def test_the_stages_of_the_construction_permit_stand_one_below_the_other():
    xml = export_bpmn(
        (ROOT / "workflows" / "construction_permit.yaml").read_bytes(),
        handlers=HANDLERS,
        departments=DEPARTMENTS,
    )
    root = etree.fromstring(xml)
    pools = [
        shape.find(f"{{{DC}}}Bounds")
        for shape in root.iter(f"{{{BPMNDI}}}BPMNShape")
        if shape.get("bpmnElement", "").startswith("pool_")
    ]
    assert len(pools) == 5  # the main process and its four stages
    tops = [float(b.get("y")) for b in pools]
    bottoms = [float(b.get("y")) + float(b.get("height")) for b in pools]
    assert all(bottoms[i] < tops[i + 1] for i in range(len(pools) - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes())
def test_any_valid_process_exports_a_readable_diagram(source):
    assert layout_problems(export_bpmn(source, handlers=HANDLERS, departments=DEPARTMENTS)) == []


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", ["business_setup", "construction_permit"])
def test_bpmn_js_draws_the_shipped_templates_without_overlapping_shapes(code, base_data, browser_for, shots):
    page = browser_for(base_data["admin"])
    page.goto(f"/console/templates/{code}/")
    page.locator(".bpmn-viewer.bpmn-ready").wait_for(state="attached")
    # The boxes bpmn-js drew, as the browser lays them out, of every flow
    # node but boundary events (drawn on their task's border on purpose)
    xml = export_bpmn(
        (ROOT / "workflows" / f"{code}.yaml").read_bytes(), handlers=HANDLERS, departments=DEPARTMENTS
    )
    root = etree.fromstring(xml)
    wanted = {
        el.get("id")
        for process in root.iter(f"{{{BPMN}}}process")
        for el in process
        if etree.QName(el).localname not in ("sequenceFlow", "laneSet", "extensionElements", "boundaryEvent")
    }
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('.djs-element.djs-shape')].map(el => {
              const r = el.querySelector('.djs-visual').getBoundingClientRect();
              return {id: el.dataset.elementId, x: r.x, y: r.y, w: r.width, h: r.height};
            })"""
    )
    drawn = {b["id"]: Rect(b["x"], b["y"], b["w"], b["h"]) for b in boxes if b["id"] in wanted}
    assert set(drawn) == wanted
    overlapping = [(a, b) for a, b in combinations(drawn, 2) if drawn[a].overlaps(drawn[b])]
    shots(page, f"exported-{code}")
    assert overlapping == []
