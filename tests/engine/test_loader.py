"""Tests for reading and validating process templates (govflow.engine.loader).

Every file in tests/data/workflows/invalid starts with one `# expect:` line
per problem it must produce, written exactly as the loader formats it
(`LINE:COL: message`); every file in tests/data/workflows/valid must load
without a single problem.
"""

from __future__ import annotations

import math
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from govflow.engine import InvalidDefinition, Problem, check_definition, load_definition, load_definition_file
from govflow.engine.loader import MAX_BYTES

from .conftest import DEPARTMENTS, HANDLERS, INVALID_DIR, VALID_DIR

INVALID_FILES = sorted(INVALID_DIR.glob("*.yaml"))
VALID_FILES = sorted(VALID_DIR.glob("*.yaml"))
EXPECT = "# expect: "


def check(source: str | bytes) -> tuple[Any, list[Problem]]:
    return check_definition(source, departments=DEPARTMENTS, handlers=HANDLERS)


def formatted(problems: list[Problem]) -> list[str]:
    return [f"{p.line}:{p.col}: {p.message}" for p in problems]


def expectations(path: Path) -> list[str]:
    expected = []
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith(EXPECT):
            break
        expected.append(line.removeprefix(EXPECT))
    return expected


def assert_positions_inside(source: str, problems: list[Problem]) -> None:
    lines = source.splitlines() or [""]
    for problem in problems:
        assert problem.line >= 1, problem
        assert problem.col >= 1, problem
        assert problem.line <= len(lines) + 1, problem


# -- the data files ---------------------------------------------------------


def test_the_data_directories_hold_the_catalogue(departments: frozenset[str], handlers: frozenset[str]):
    # Given the two data directories and the registries they are checked against
    assert {"market_regulation", "fire", "tax", "archives"} <= departments
    assert handlers == {
        "id_numbers_check",
        "company_name_check",
        "credit_code_assign",
        "credit_code_check",
        "entity_check",
    }

    # Then each directory holds enough files for the parametrized tests below to mean something
    assert len(INVALID_FILES) >= 40
    assert len(VALID_FILES) >= 8
    assert all(expectations(path) for path in INVALID_FILES), "an invalid file has no '# expect:' line"


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_invalid_template_reports_exactly_its_problems(path: Path):
    # Given an invalid template and the problems its header names
    expected = expectations(path)

    # When it is checked
    definition, problems = check(path.read_bytes())

    # Then exactly those problems are reported, in document order, and nothing is built
    assert expected
    assert formatted(problems) == expected
    assert definition is None


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_invalid_template_refused_by_load_definition(path: Path):
    # Given an invalid template
    # When it is loaded from its file
    with pytest.raises(InvalidDefinition) as caught:
        load_definition_file(path, departments=DEPARTMENTS, handlers=HANDLERS)

    # Then the error carries every problem, each line naming the file
    assert caught.value.code == "invalid_definition"
    assert caught.value.lines(path.name) == [f"{path.name}:{line}" for line in expectations(path)]


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.stem)
def test_valid_template_has_no_problems(path: Path):
    # Given a valid template
    # When it is checked
    definition, problems = check(path.read_bytes())

    # Then there is no problem and a definition is built
    assert problems == []
    assert definition is not None
    assert definition.start in definition.nodes


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.stem)
def test_valid_template_also_loads_from_text(path: Path):
    # Given a valid template read as text rather than bytes, and the node ids it lists
    document = YAML(typ="safe", pure=True).load(path.read_text("utf-8"))
    listed = [node["id"] for node in document["nodes"]]
    for sub in (document.get("subprocesses") or {}).values():
        listed += [node["id"] for node in sub["nodes"]]

    # When it is loaded
    definition = load_definition(path.read_text("utf-8"), departments=DEPARTMENTS, handlers=HANDLERS)

    # Then every node is in the definition, with a position in the file
    assert sorted(definition.nodes) == sorted(listed)
    assert all(node.line >= 1 and node.col >= 1 for node in definition.nodes.values())


def test_every_problem_of_a_file_is_reported_at_once():
    # Given a template with five unrelated mistakes
    path = INVALID_DIR / "several_problems.yaml"

    # When it is loaded
    with pytest.raises(InvalidDefinition) as caught:
        load_definition_file(path, departments=DEPARTMENTS, handlers=HANDLERS)

    # Then all five are reported, not only the first
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 5
    assert any("'en' is missing" in m for m in messages)
    assert any("unknown field 'floor_aera'" in m for m in messages)
    assert any("unknown department 'firee'" in m for m in messages)
    assert any("unknown service handler 'run_shell_command'" in m for m in messages)
    assert any("a timer ('days') cannot stand" in m for m in messages)
    assert str(caught.value).startswith("5 problem(s); first at 12:14:")


def test_departments_and_handlers_are_only_checked_when_given():
    # Given a template naming a department and a handler no registry knows
    source = (INVALID_DIR / "unknown_department.yaml").read_bytes()
    handler_source = (INVALID_DIR / "unknown_handler.yaml").read_bytes()

    # When they are checked without registries
    definition, problems = check_definition(source)
    handler_definition, handler_problems = check_definition(handler_source)

    # Then the names are accepted (a template can be linted before the database exists)
    assert problems == []
    assert definition is not None
    assert definition.departments == frozenset({"firee"})
    assert handler_problems == []
    assert handler_definition is not None


# -- raw input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            b"id: demo\nnodes: \x00\x01\x02\n",
            "1:1: file is binary, not YAML text (it contains NUL bytes)",
            id="nul-bytes",
        ),
        pytest.param(
            "id: demo\x00\n",
            "1:1: file is binary, not YAML text (it contains NUL bytes)",
            id="nul-in-text",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\xff\xd8\xff",
            "1:1: file is not UTF-8 text (binary data?)",
            id="png-header",
        ),
        pytest.param(
            b"id: demo\ntitle: x\n\xc3\x28\n",
            "3:1: file is not UTF-8 text (binary data?)",
            id="bad-utf8-on-line-3",
        ),
        pytest.param(
            b"id: demo\ntitle: \x1b[31m\n",
            "2:8: control character U+001B is not allowed",
            id="escape-character",
        ),
        pytest.param(
            b"", "1:1: file is empty: a process definition needs at least id, title and nodes", id="empty"
        ),
        pytest.param(
            b"  \n\n\t\n",
            "1:1: file is empty: a process definition needs at least id, title and nodes",
            id="whitespace",
        ),
        pytest.param(
            "\ufeff# only a comment\n".encode(),
            "1:1: file is empty: a process definition needs at least id, title and nodes",
            id="bom-and-comment",
        ),
        pytest.param(
            b"---\n", "1:1: the process definition must be a mapping, not nothing", id="bare-document"
        ),
        pytest.param(b"just words\n", "1:1: the process definition must be a mapping, not text", id="scalar"),
    ],
)
def test_raw_input_that_is_not_a_template(source: str | bytes, expected: str):
    # Given bytes or text that are not a template at all
    # When they are checked
    definition, problems = check(source)

    # Then one clear problem says so
    assert formatted(problems) == [expected]
    assert definition is None


def test_a_huge_file_is_refused_before_parsing():
    # Given a file one byte over the limit
    source = b"#" * (MAX_BYTES + 1)

    # When it is checked
    _definition, problems = check(source)

    # Then the size is the only problem
    assert formatted(problems) == [
        f"1:1: file is too large ({MAX_BYTES + 1} bytes; the limit is {MAX_BYTES})"
    ]


def test_a_yaml_bomb_is_refused_without_being_expanded():
    # Given the classic "billion laughs": nine levels of nine aliases each
    lines = ["id: demo", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    source = "\n".join(lines) + "\n"

    # When it is checked
    _definition, problems = check(source)

    # Then the first anchor is refused (nothing is constructed, so this returns at once)
    assert formatted(problems) == ["2:5: anchors and aliases (& and *) are not allowed"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("id: !!str demo\n", "1:5: YAML tags such as '!!str' are not allowed in a process definition"),
        ("id: !custom demo\n", "1:5: YAML tags such as '!custom' are not allowed in a process definition"),
        (
            "nodes: !!python/object:os.system {}\n",
            "1:8: YAML tags such as '!!python/object:os.system' are not allowed in a process definition",
        ),
        ("nodes: *undefined\n", "1:8: anchors and aliases (& and *) are not allowed"),
    ],
)
def test_tags_and_aliases_are_refused(source: str, expected: str):
    # Given a document with a tag or an alias
    # When it is checked
    _definition, problems = check(source)

    # Then the first one is refused with its position
    assert formatted(problems) == [expected]


# -- positions --------------------------------------------------------------

CONDITION_TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
form:
  fields:
    - {id: x, type: number, label: {zh: 数, en: X}}
nodes:
  - {id: start, type: start, next: route}
  - id: route
    type: exclusive
    branches:
      - to: big
        when: %s
      - {to: small, default: true}
  - {id: big, type: end, title: {zh: 大, en: Big}, outcome: approved}
  - {id: small, type: end, title: {zh: 小, en: Small}, outcome: approved}
"""


@pytest.mark.parametrize(
    ("condition", "col"),
    [
        pytest.param("x >> 5", 18, id="plain"),
        pytest.param("'x >> 5'", 19, id="single-quoted"),
        pytest.param('"x >> 5"', 19, id="double-quoted"),
    ],
)
def test_a_parse_error_points_at_the_offending_character(condition: str, col: int):
    # Given a condition whose second '>' is the error
    source = CONDITION_TEMPLATE % condition

    # When it is checked
    _definition, problems = check(source)

    # Then the column is that character's, quotes included
    assert formatted(problems) == [f"12:{col}: condition does not parse: unexpected '>'"]
    assert source.splitlines()[11][col - 1] == ">"


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param(">-\n          x >\n          > 5", id="folded"),
        pytest.param("|-\n          x >\n          > 5", id="literal"),
        pytest.param('"\\u0078 >> 5"', id="escape-in-double-quotes"),
    ],
)
def test_a_parse_error_the_column_cannot_follow_points_at_the_condition(condition: str):
    # Given a condition whose text does not map column for column onto the file
    source = CONDITION_TEMPLATE % condition
    line = source.splitlines()[11]

    # When it is checked
    _definition, problems = check(source)

    # Then the problem points at the offending '>' or, failing that, at the start of the condition
    [problem] = problems
    assert problem.message == "condition does not parse: unexpected '>'"
    assert problem.line == 12
    assert problem.col == line.index(condition[0]) + 1 or line[problem.col - 1] == ">"


@pytest.mark.parametrize(
    ("char", "name"), [("\ufffe", "U+FFFE"), ("\ud800", "U+D800")], ids=["non-character", "lone-surrogate"]
)
def test_an_unacceptable_character_is_reported_where_it_is(char: str, name: str):
    # Given a template whose third line holds a character YAML refuses
    source = f"id: demo\ntitle: {{zh: 演示, en: Demo}}\nnodes: {char}\n"

    # When it is checked
    _definition, problems = check(source)

    # Then the problem names its line and column
    assert formatted(problems) == [f"3:8: character {name} is not allowed in YAML text"]


# -- messages that must stay true --------------------------------------------


def test_the_unknown_key_message_only_lists_keys_the_node_accepts():
    # Given a user task with a misspelt key
    source = (INVALID_DIR / "unknown_node_key.yaml").read_bytes()

    # When it is checked
    _definition, problems = check(source)

    # Then the list of allowed keys does not advertise keys that are refused on a user task
    [problem] = problems
    allowed = problem.message.split("(allowed: ", 1)[1].rstrip(")").split(", ")
    assert "sla" in allowed
    assert not {"deadline", "days", "hours"} & set(allowed)


def test_a_field_with_a_broken_label_is_not_also_called_unknown():
    # Given a field whose label lacks English, used correctly by a condition
    source = CONDITION_TEMPLATE.replace("label: {zh: 数, en: X}", "label: {zh: 数}") % "x > 5"

    # When it is checked
    _definition, problems = check(source)

    # Then only the label is reported
    assert formatted(problems) == ["5:36: field 'x' 'label' needs both zh and en texts; 'en' is missing"]


# -- values that once crashed the loader --------------------------------------

FIELD_TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
form:
  fields:
    - {id: a, type: %s, label: {zh: 甲, en: A}, %s}
nodes:
  - {id: start, type: start, next: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""
HUGE = "9" * 400
WAIT_TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
nodes:
  - {id: start, type: start, next: pause}
  - {id: pause, type: wait, title: {zh: 等, en: Pause}, %s, next: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""
SLA_TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
nodes:
  - {id: start, type: start, next: review}
  - id: review
    type: user_task
    title: {zh: 审, en: Review}
    department: fire
    sla: {%s}
    outcomes: {approve: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""
ATTACHMENT_TEMPLATE = """\
id: demo
title: {zh: 演示, en: Demo}
form:
  attachments:
    - {id: plan, label: {zh: 图, en: Plan}, types: [application/pdf], %s}
nodes:
  - {id: start, type: start, next: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            FIELD_TEMPLATE % ("decimal", "min: .nan, max: 1"),
            "5:58: field 'a' 'min' must be a finite number",
            id="nan",
        ),
        pytest.param(
            FIELD_TEMPLATE % ("decimal", "max: .inf"),
            "5:58: field 'a' 'max' must be a finite number",
            id="inf",
        ),
        pytest.param(
            FIELD_TEMPLATE % ("date", "min: 2020-01-01 10:00:00"),
            "5:55: field 'a' 'min' must be a date without a time; got 2020-01-01 10:00:00",
            id="datetime",
        ),
        pytest.param(
            FIELD_TEMPLATE % ("date", "min: 2020-01-01, max: 2020-01-02 10:00:00"),
            "5:72: field 'a' 'max' must be a date without a time; got 2020-01-02 10:00:00",
            id="date-and-datetime",
        ),
        pytest.param(
            WAIT_TEMPLATE % f"hours: {HUGE}",
            "5:63: node 'pause' 'hours' must be greater than 0 and at most 2000",
            id="huge-hours",
        ),
        pytest.param(
            SLA_TEMPLATE % f"days: 3, remind_at: {HUGE}",
            "9:31: node 'review' sla 'remind_at' must be greater than 0 and at most 0.99",
            id="huge-remind-at",
        ),
        pytest.param(
            ATTACHMENT_TEMPLATE % f"max_size_mb: {HUGE}",
            "5:83: attachment 'plan' 'max_size_mb' must be greater than 0 and at most 200",
            id="huge-size",
        ),
    ],
)
def test_odd_values_are_problems_not_crashes(source: str, expected: str):
    # Given a value YAML can spell but the template cannot use
    # (each of these once raised InvalidOperation, ValueError, TypeError or OverflowError)
    # When it is checked
    _definition, problems = check(source)

    # Then it is reported as a problem at the value, never raised
    assert formatted(problems) == [expected]


# -- nothing raises, whatever the input --------------------------------------

VOCABULARY = [
    "id",
    "type",
    "title",
    "zh",
    "en",
    "nodes",
    "next",
    "outcomes",
    "approve",
    "reject",
    "approved",
    "branches",
    "to",
    "when",
    "default",
    "department",
    "handler",
    "sla",
    "days",
    "hours",
    "remind_at",
    "on_breach",
    "deadline",
    "on_timeout",
    "form",
    "fields",
    "attachments",
    "label",
    "min",
    "max",
    "choices",
    "value",
    "columns",
    "countersign",
    "signers",
    "mode",
    "clearance",
    "certificates",
    "subprocesses",
    "process",
    "start",
    "end",
    "user_task",
    "service_task",
    "parallel",
    "exclusive",
    "inclusive",
    "wait",
    "correction",
    "call",
    "decimal",
    "date",
    "table",
    "secret",
    "fire",
    "tax",
    "x > 1",
    "decision.a == 'approve'",
    "today+5y",
    "a",
    "b",
    "main",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.integers()
    | st.just(10**400)
    | st.floats()
    | st.dates()
    | st.datetimes()
    | st.sampled_from(VOCABULARY)
    | st.text(max_size=20)
)
KEYS = st.sampled_from(VOCABULARY) | st.text(max_size=10)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


def dump(document: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.representer.ignore_aliases = lambda *args: True
    stream = StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("source", [b"-_", b"+_", b"x: -_", b"nodes: [+_]"])
def test_scalars_that_break_the_yaml_library_are_reported_not_raised(source):
    """ruamel resolves `-_` as an integer and then fails to build it."""
    _definition, problems = check(source)
    assert problems
    assert problems[0].line == 1


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(source: bytes):
    _definition, problems = check(source)
    assert problems
    assert all(p.line >= 1 and p.col >= 1 for p in problems)


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(source: str):
    _definition, problems = check(source)
    assert problems
    assert_positions_inside(source, problems)


@FUZZ
@given(st.text(alphabet="abc:-[]{}&*!#|>'\"\n\t ,?%@`.0123456789", max_size=300))
def test_yaml_punctuation_never_raises(source: str):
    _definition, problems = check(source)
    assert problems
    assert_positions_inside(source, problems)


@FUZZ
@given(DOCUMENTS)
def test_random_yaml_documents_never_raise(document: Any):
    source = dump(document)
    _definition, problems = check(source)
    assert problems
    assert_positions_inside(source, problems)


def _plain(value: Any) -> Any:
    """ruamel round-trip objects -> plain dicts, lists and scalars (so they can be dumped safely)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


VALID_DOCUMENTS = {
    path.stem: _plain(YAML(typ="rt", pure=True).load(path.read_text("utf-8"))) for path in VALID_FILES
}


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(document: Any, path: tuple) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


# Numbers at the edges of the limits, and the values that once crashed the loader.
EDGE_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        1,
        2,
        0.5,
        0.99,
        1.0,
        1.5,
        3650,
        3651,
        2000.5,
        10**6,
        -(10**9),
        10**400,
        math.nan,
        math.inf,
        -math.inf,
    ]
)


@FUZZ
@given(st.data())
def test_mutated_valid_templates_never_raise(data: st.DataObject):
    # Given a valid template with one value replaced, deleted or duplicated, or a key added
    name = data.draw(st.sampled_from(sorted(VALID_DOCUMENTS)))
    document = _plain(VALID_DOCUMENTS[name])
    paths = _paths(document)[1:]
    numbers = [p for p in paths if isinstance(_parent(document, p)[p[-1]], int | float)]
    mappings = [
        p for p in _paths(document) if isinstance(_parent(document, p)[p[-1]] if p else document, dict)
    ]
    action = data.draw(st.sampled_from(["replace", "number", "delete", "duplicate", "insert"]))
    if action == "number" and numbers:
        path = data.draw(st.sampled_from(numbers))
        _parent(document, path)[path[-1]] = data.draw(EDGE_NUMBERS)
    elif action == "insert":
        path = data.draw(st.sampled_from(mappings))
        target = _parent(document, path)[path[-1]] if path else document
        target[data.draw(KEYS)] = data.draw(SCALARS | EDGE_NUMBERS)
    else:
        path = data.draw(st.sampled_from(paths))
        parent = _parent(document, path)
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(parent[path[-1]])
        else:
            parent[path[-1]] = data.draw(SCALARS | DOCUMENTS)
    source = dump(document)

    # When it is checked
    definition, problems = check(source)

    # Then it never raises, and either builds a definition or says why not
    assert (definition is None) == bool(problems)
    assert_positions_inside(source, problems)


def test_mutations_reach_the_graph_checks():
    # Given a valid template with one outcome removed (as the mutation test may do)
    document = _plain(VALID_DOCUMENTS["wait_node"])
    del document["nodes"][1]["outcomes"]["reject"]

    # When it is checked
    _definition, problems = check(dump(document))

    # Then the graph pass runs on the mutated document (the refused end is now unreachable)
    assert [p.message for p in problems] == ["node 'refused' is unreachable from the start"]
