"""The mapping from BPMN elements to govflow nodes (docs/bpmn.md)."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from govflow.bpmn.common import BpmnError, format_duration, parse_duration

from .conftest import CORPUS

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def model(body: str) -> str:
    return f'<definitions {NS} id="d"><process id="Demo" name="示例">{body}</process></definitions>'


def nodes(result) -> dict:
    data = YAML(typ="safe", pure=True).load(result.yaml)
    found = {n["id"]: n for n in data["nodes"]}
    for sub in (data.get("subprocesses") or {}).values():
        found.update({n["id"]: n for n in sub["nodes"]})
    return found


def test_the_advert_permit_model_maps_every_supported_construct(importer):
    result = importer(
        (CORPUS / "govflow" / "advert_permit.bpmn").read_bytes(), department=None, keep_conditions=True
    )
    found = nodes(result)
    # Lanes name departments by Chinese name or by code; the applicant's lane holds corrections
    assert found["review"]["department"] == "housing_construction"
    assert found["fire_opinion"]["department"] == "fire"
    assert found["fix_documents"]["type"] == "correction"
    assert found["fix_documents"]["deadline"] == {"days": 5}
    assert found["fix_documents"]["on_timeout"] == "withdrawn"
    # An interrupting timer to the rejection path with an earlier non-interrupting one as reminder
    assert found["review"]["sla"]["hours"] == 4
    assert found["review"]["sla"]["remind_at"] == 0.5
    assert found["review"]["sla"]["on_breach"] == "reject"
    assert found["review"]["outcomes"] == {"approve": "decision", "reject": "rejected"}
    # An interrupting timer on the approval path is silent consent
    assert found["fire_opinion"]["sla"]["on_breach"] == "approve"
    # A non-interrupting timer alone is an escalation; a week is five working days
    assert found["structure"]["sla"] == {"days": 5, "on_breach": "escalate"}
    # Conditions: JUEL translated, XPath kept as a comment and a placeholder, the default flow kept
    branches = {b["to"]: b for b in found["decision"]["branches"]}
    assert branches["size_gate"] == {"to": "size_gate", "default": True}
    assert branches["fix_documents"]["when"] == "(incomplete == true) and not (urgent == true)"
    size = {b["to"]: b for b in found["size_gate"]["branches"]}
    assert size["fire_opinion"]["when"] == "area > 200"
    assert size["structure"]["when"] == "__edit_me__ == \"getDataObject('site')/height > 10\""
    assert "TRANSLATE branch to structure" in result.yaml
    assert "getDataObject('site')/height > 10" in result.yaml
    # Waits, call activities and sub-processes, terminate ends
    assert found["notice"] == {
        "id": "notice",
        "type": "wait",
        "title": {"zh": "公示（3 个工作日）", "en": "公示（3 个工作日）"},
        "days": 3,
        "next": "register_permit",
    }
    assert found["register_permit"]["process"] == "registration"
    assert found["reg_end"]["terminate"] is False
    assert found["granted"]["terminate"] is True
    # Variables became typed form fields
    data = YAML(typ="safe", pure=True).load(result.yaml)
    assert {f["id"]: f["type"] for f in data["form"]["fields"]} == {
        "incomplete": "boolean",
        "urgent": "boolean",
        "area": "number",
    }
    # And the admin is told what to look at, with lines
    notes = [n.format() for n in result.notes]
    assert any("line 50: element 'f_struct'" in n and "could not be translated" in n for n in notes)
    assert result.placeholders == 1


def test_a_task_outside_any_department_lane_needs_a_default_department(importer):
    body = (
        '<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<userTask id="t" name="审核"/>'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>'
    )
    with pytest.raises(BpmnError) as refused:
        importer(model(body), department=None)
    assert "element 't'" in refused.value.lines()[0]
    assert "no lane or pool naming a department" in refused.value.lines()[0]
    assert "--department" in refused.value.lines()[0]
    assert nodes(importer(model(body), department="tax"))["t"]["department"] == "tax"


def test_outside_the_subset_names_the_element_and_its_line(importer):
    body = (
        '<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>\n'
        '<scriptTask id="t"><script>x = 1</script></scriptTask>\n'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
        '<endEvent id="e"><messageEventDefinition/></endEvent>'
    )
    with pytest.raises(BpmnError) as refused:
        importer(model(body))
    lines = refused.value.lines("m.bpmn")
    assert any(line.startswith("m.bpmn:2: element 't': script tasks run code") for line in lines)
    assert any("element 'e': a message end event is not supported" in line for line in lines)


def test_a_service_task_needs_a_registered_handler(importer):
    body = (
        '<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<serviceTask id="t" name="查重"><extensionElements><govflow:handler xmlns:govflow="urn:x"/>'
        '</extensionElements></serviceTask><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
        '<endEvent id="e"/>'
    )
    with pytest.raises(BpmnError) as refused:
        importer(model(body))
    assert "needs govflow:handler" in refused.value.lines()[0]
    with_handler = body.replace(
        '<extensionElements><govflow:handler xmlns:govflow="urn:x"/></extensionElements>',
        '<extensionElements><g:node xmlns:g="urn:govflow:bpmn:1.0">{"handler": "company_name_check"}</g:node>'
        "</extensionElements>",
    )
    assert nodes(importer(model(with_handler)))["t"]["handler"] == "company_name_check"


def test_an_activity_with_several_flows_gets_an_explicit_split(importer):
    body = (
        '<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" '
        'sourceRef="s" targetRef="b"/><userTask id="a" name="A"/><userTask id="b" name="B"/>'
        '<sequenceFlow id="f3" sourceRef="a" targetRef="j"/>'
        '<sequenceFlow id="f4" sourceRef="b" targetRef="j"/>'
        '<parallelGateway id="j"/><sequenceFlow id="f5" sourceRef="j" targetRef="e"/><endEvent id="e"/>'
    )
    found = nodes(importer(model(body)))
    assert found["s"]["next"] == "s_split"
    assert found["s_split"] == {"id": "s_split", "type": "parallel", "next": ["a", "b"]}


def test_a_gateway_that_joins_and_splits_becomes_two(importer):
    body = (
        '<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="x"/><exclusiveGateway id="x" '
        'default="f3"/><sequenceFlow id="f2" sourceRef="x" targetRef="t"><conditionExpression>amount &gt; 5'
        '</conditionExpression></sequenceFlow><sequenceFlow id="f3" sourceRef="x" targetRef="m"/>'
        '<userTask id="t" name="T"/><sequenceFlow id="f4" sourceRef="t" targetRef="m"/>'
        '<exclusiveGateway id="m"/><sequenceFlow id="f5" sourceRef="m" targetRef="u"/>'
        '<sequenceFlow id="f6" sourceRef="m" targetRef="e"><conditionExpression>amount &gt; 100'
        '</conditionExpression></sequenceFlow><userTask id="u" name="U"/>'
        '<sequenceFlow id="f7" sourceRef="u" targetRef="e"/><endEvent id="e"/>'
    )
    found = nodes(importer(model(body)))
    assert found["m_join"] == {"id": "m_join", "type": "exclusive", "next": "m"}
    assert found["t"]["outcomes"] == {"approve": "m_join"}
    # The flow without a condition beside a conditioned one is the default (never when: "true")
    assert found["m"]["branches"] == [{"to": "u", "default": True}, {"to": "e", "when": "amount > 100"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P10D", {"days": 10}),
        ("P2W", {"days": 10}),
        ("PT4H", {"hours": 4}),
        ("PT30M", {"hours": 0.5}),
        ("P1DT4H", {"hours": 12}),
    ],
)
def test_iso_durations_become_working_days_or_office_hours(text, expected):
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "R/PT1H", "${duedate}", "PT", "P0D", "10 days"])
def test_durations_govflow_cannot_count_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)
