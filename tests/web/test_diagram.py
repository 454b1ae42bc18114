"""The server-side SVG diagram: well-formed, every node drawn, text escaped."""

from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings

from govflow.engine import load_definition, load_definition_file
from govflow.web.diagram import diagram_svg, outline, wrap

WORKFLOWS = sorted(Path(settings.GOVFLOW_WORKFLOWS_DIR).glob("*.yaml"))
VALID = sorted((Path(settings.BASE_DIR) / "tests" / "data" / "workflows" / "valid").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("path", WORKFLOWS + VALID, ids=lambda p: p.name)
def test_every_node_is_drawn_in_well_formed_svg(path):
    definition = load_definition_file(path)
    root = ElementTree.fromstring(diagram_svg(definition, language="zh"))
    groups = root.findall(f".//{SVG}g")
    titles = [g.find(f"{SVG}title").text for g in groups if "node" in (g.get("class") or "")]
    assert len(titles) == len(definition.nodes)
    for node in definition.nodes.values():
        assert any(f"({node.id})" in title for title in titles)
    assert float(root.get("width")) > 0
    assert float(root.get("height")) > 0


def test_template_text_is_escaped():
    source = """
id: tricky
title: {zh: "<script>alert(1)</script>", en: "A & B"}
form:
  fields:
    - {id: n, type: number, label: {zh: 数, en: N}}
nodes:
  - {id: start, type: start, next: gate}
  - id: gate
    type: exclusive
    branches:
      - {to: done, when: "n < 5 and n > 1"}
      - {to: done2, default: true}
  - {id: done, type: end, outcome: approved, title: {zh: "结束 <b>", en: "end"}}
  - {id: done2, type: end, outcome: rejected, title: {zh: 驳回, en: no}}
"""
    svg = diagram_svg(load_definition(source), language="zh")
    ElementTree.fromstring(svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "<b>" not in svg
    assert "n &lt; 5 and n &gt; 1" in svg


def test_wrap_breaks_chinese_by_width_and_ellipsises():
    assert wrap("设立登记审核") == ["设立登记审核"]
    lines = wrap("涉税信息确认及发票、税务 UKey 申领" * 3, 21, 2)
    assert len(lines) == 2
    assert lines[-1].endswith("…")


def test_the_outline_lists_every_node_with_where_it_leads():
    definition = load_definition_file(WORKFLOWS[0])
    rows = outline(definition, language="en")
    assert len(rows) == len(definition.nodes)
    assert any(targets for _heading, _title, targets in rows)
