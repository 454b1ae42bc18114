"""No input crashes the importer: garbage, truncated XML, entity bombs,
external entities, wrong namespaces, huge files. Each is refused with one
clear line and no traceback."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.bpmn.common import MAX_BYTES, BpmnError

from .conftest import CORPUS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SMALL = (CORPUS / "camunda-bpm-platform" / "gateway__ParallelGatewayTest.testForkJoin.bpmn").read_bytes()

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
<process id="p">&lol3;</process></definitions>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
<process id="p" name="&xxe;"/></definitions>"""


def refused(importer, source) -> list[str]:
    with pytest.raises(BpmnError) as caught:
        importer(source)
    lines = caught.value.lines("upload.bpmn")
    assert lines
    assert all("\n" not in line and "Traceback" not in line for line in lines)
    return lines


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"not xml at all", "not well-formed XML"),
        (b"\x00\x01\x02binary", "binary"),
        (b"<definitions", "not well-formed XML"),
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL_ENTITY, "DOCTYPE"),
        (b'<definitions xmlns="http://example.com/not-bpmn"/>', "not a BPMN 2.0 file"),
        (b"<definitions/>", "no namespace"),
        (b'<?xml version="1.0" encoding="x-unknown"?><a/>', "XML"),
        (f'<definitions xmlns="{BPMN_NS}"/>'.encode(), "no process"),
        (
            f'<definitions xmlns="{BPMN_NS}"><process id="p"><startEvent id="s"/>'
            "</process></definitions>".encode(),
            "no outgoing sequence flow",
        ),
        (
            f'<definitions xmlns="{BPMN_NS}"><process id="p"><startEvent id="s"/><sequenceFlow id="f" '
            f'sourceRef="s" targetRef="ghost"/></process></definitions>'.encode(),
            "not both flow nodes",
        ),
    ],
)
def test_hostile_or_broken_input_is_refused_with_a_line(importer, source, says):
    lines = refused(importer, source)
    assert any(says in line for line in lines), lines


def test_truncated_models_never_crash(importer):
    for cut in range(0, len(SMALL), max(1, len(SMALL) // 60)):
        with contextlib.suppress(BpmnError):
            importer(SMALL[:cut])


def test_a_file_over_the_limit_is_refused_before_parsing(importer):
    lines = refused(importer, b"<" + b"a" * MAX_BYTES + b"/>")
    assert "too large" in lines[0]


def test_deep_nesting_is_refused(importer):
    deep = b"<a>" * 5000 + b"</a>" * 5000
    refused(importer, deep)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(importer, data):
    with contextlib.suppress(BpmnError):
        importer(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=len(SMALL) - 1), st.binary(min_size=1, max_size=8))
def test_mutated_models_never_crash(importer, position, junk):
    mutated = SMALL[:position] + junk + SMALL[position + len(junk) :]
    with contextlib.suppress(BpmnError):
        importer(mutated)
