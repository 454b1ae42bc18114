"""BPMN 2.0 XML -> a govflow YAML template.

The subset govflow reads (docs/bpmn.md): none start events; none and
terminate end events; task, userTask and serviceTask; exclusive (with a
default flow), parallel and inclusive gateways; sequence flows with
conditions; timer boundary events on tasks (timeDuration, interrupting or
not); timer intermediate catch events (waits); lanes, which name departments;
call activities to processes of the same file, which become sub-processes;
govflow's own extensionElements. Everything else is refused with the
element's id and line: nothing is dropped without saying so.

The YAML is checked with govflow's own loader before it is returned, so an
import either gives a template that validates or a list of problems.

Pure Python (lxml, ruamel.yaml and the engine); no Django import.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from govflow.engine import check_definition
from govflow.engine.definition import CASE_OUTCOMES, MAIN, TASK_OUTCOMES
from govflow.engine.kinds import KINDS
from govflow.engine.loader import SLUG_RE
from govflow.engine.loader import _scan as scan_yaml

from .common import (
    APPLICANT,
    BPMN,
    BPMNDI,
    DC,
    DI,
    GOVFLOW,
    ID_RE,
    BpmnError,
    BpmnProblem,
    DurationError,
    department_named,
    lane_map_problem,
    local,
    namespace,
    normalise,
    parse_duration,
    parse_xml,
    to_identifier,
)
from .conditions import (
    ANSWERS,
    PLACEHOLDER_FIELD,
    Condition,
    Variables,
    outcome_of_name,
    placeholder,
    translate,
)

ACTIVITIES = {"task", "userTask", "serviceTask", "callActivity"}
CALLS = {"callActivity", "subProcess"}  # both become govflow `call` nodes
GATEWAYS = {kind.bpmn_element: kind.type for kind in KINDS.values() if kind.is_gateway}
EVENTS = {"startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent"}
# An event-based gateway is read only as "a message, or else a deadline":
# one message (or signal) catch and one timer catch after it (a signal node).
EVENT_GATEWAY = "eventBasedGateway"
MESSAGE_DEFINITIONS = ("messageEventDefinition", "signalEventDefinition")
FLOW_NODES = ACTIVITIES | {"subProcess", EVENT_GATEWAY} | set(GATEWAYS) | EVENTS
COMMON = {"incoming", "outgoing", "extensionElements", "documentation"}
# Dropped with one note each: they carry data or comments, never the route.
DROPPED = {
    "textAnnotation": ("text annotation", "a comment in the diagram"),
    "association": ("association", "a line to a comment or to data"),
    "group": ("group", "a visual frame"),
    "category": ("category", "what groups are labelled with"),
    "dataObject": ("data object", "the case's form holds the data"),
    "dataObjectReference": ("data object", "the case's form holds the data"),
    "dataStore": ("data store", "govflow reads no outside stores"),
    "dataStoreReference": ("data store", "govflow reads no outside stores"),
    "dataInputAssociation": ("data association", "the case's form holds the data"),
    "dataOutputAssociation": ("data association", "the case's form holds the data"),
    "ioSpecification": ("data inputs and outputs", "the case's form holds the data"),
    "property": ("property", "a variable; the case's form holds the data"),
    "itemDefinition": ("item definition", "a data type"),
    "messageFlow": (
        "message flow",
        "a message between pools; govflow runs one process and receives messages over its API at signal "
        "nodes (message catch events)",
    ),
}
CONTAINER = FLOW_NODES | {"sequenceFlow", "laneSet", "extensionElements", "documentation"}
ALLOWED: dict[str, set[str]] = {
    "definitions": {"process", "collaboration", "message", "signal", "extensionElements", "documentation"},
    "message": {"extensionElements", "documentation"},
    "signal": {"extensionElements", "documentation"},
    "collaboration": {"participant", "extensionElements", "documentation"},
    "participant": {"extensionElements", "documentation"},
    "process": set(CONTAINER),
    "subProcess": CONTAINER | COMMON,
    "laneSet": {"lane", "extensionElements", "documentation"},
    "lane": {"flowNodeRef", "childLaneSet", "extensionElements", "documentation"},
    "childLaneSet": {"lane", "extensionElements", "documentation"},
    "startEvent": COMMON | set(MESSAGE_DEFINITIONS),
    "endEvent": COMMON | {"terminateEventDefinition"},
    "boundaryEvent": COMMON | {"timerEventDefinition"},
    "intermediateCatchEvent": COMMON | {"timerEventDefinition", *MESSAGE_DEFINITIONS},
    "timerEventDefinition": {"timeDuration", "extensionElements", "documentation"},
    **{kind: {"extensionElements", "documentation"} for kind in MESSAGE_DEFINITIONS},
    "terminateEventDefinition": {"extensionElements", "documentation"},
    "sequenceFlow": {"conditionExpression", "extensionElements", "documentation"},
    **{kind: set(COMMON) for kind in ACTIVITIES | set(GATEWAYS) | {EVENT_GATEWAY}},
    **{kind: set() for kind in ("flowNodeRef", "incoming", "outgoing", "documentation", "text")},
    "timeDuration": set(),
    "conditionExpression": set(),
}
# The kinds the exporter writes with an element of their own; any other kind
# comes back from the type and keys in its extension element.
_WRITTEN_KINDS = frozenset(
    {"start", "end", "user_task", "correction", "service_task", "parallel", "exclusive", "inclusive"}
    | {"wait", "signal", "call"}
)

_RESOURCES = "resource assignments are not supported; put the task in a lane named after its department"
HINTS = {
    "transaction": "transactions are not supported",
    "adHocSubProcess": "ad-hoc sub-processes are not supported",
    "scriptTask": "script tasks run code; govflow only runs registered service handlers (serviceTask with "
    "govflow:handler)",
    "businessRuleTask": "business rule tasks are not supported; route with an exclusive gateway",
    "sendTask": "send tasks (messages) are not supported",
    "receiveTask": "receive tasks (messages) are not supported",
    "manualTask": "manual tasks are not supported; use a task or userTask for a department's step",
    "complexGateway": "complex gateways are not supported",
    "intermediateThrowEvent": "intermediate throw events are not supported",
    "timeDate": "a timer at a fixed date (timeDate) is not supported; give a timeDuration such as P10D",
    "timeCycle": "repeating timers (timeCycle) are not supported; give a timeDuration such as P10D",
    "multiInstanceLoopCharacteristics": "multi-instance activities are not supported "
    "(for several departments signing, use govflow's countersign)",
    "standardLoopCharacteristics": "loop activities are not supported; draw the loop with a gateway",
    "potentialOwner": _RESOURCES,
    "humanPerformer": _RESOURCES,
    "performer": _RESOURCES,
    "import": "imports of other files are not supported",
}
APPLICANT_LANE_NAMES = {"applicant", "申请人", "申请人/企业", "applicants"}
GENERIC_LEGAL_BASIS = (
    "导入自 BPMN 计时边界事件 {id}，发布前请写明允许超期自动决定的本地规定。"
    " / Imported from BPMN timer boundary event {id}: cite the local rule that allows an automatic decision "
    "before publishing."
)
_DECISION = re.compile(r"""^\s*(?:[$#]\{\s*)?decision\.([A-Za-z0-9_.-]+)\s*==\s*(["'])([a-z]+)\2\s*\}?\s*$""")
_QUOTED = re.compile(r"'([a-z][a-z0-9_]{0,63})'")
# A yes/no variable right after a review that can only be the reviewer's
# decision (Camunda's `${approved}` from a task form): it picks the task's
# outcome. Made a form field, the applicant would choose their own approval.
DECISION_VARIABLES = frozenset(
    {
        "approved",
        "approve",
        "approval",
        "isapproved",
        "accepted",
        "accept",
        "agreed",
        "agree",
        "pass",
        "passed",
        "granted",
        "permitted",
        "同意",
        "通过",
        "批准",
    }
)
_BOOLEAN_TEST = re.compile(r"""^\s*(?:[$#]\{\s*)?(?P<body>.*?)\s*\}?\s*$""", re.S)
_TRUTH = (
    (re.compile(r"^(?P<var>[^\W\d]\w*)$"), True),
    (re.compile(r"^(?:!|not\s+)\s*(?P<var>[^\W\d]\w*)$"), False),
    (re.compile(r"^(?P<var>[^\W\d]\w*)\s*==\s*true$"), True),
    (re.compile(r"^(?P<var>[^\W\d]\w*)\s*==\s*false$"), False),
    (re.compile(r"^(?P<var>[^\W\d]\w*)\s*!=\s*false$"), True),
    (re.compile(r"^(?P<var>[^\W\d]\w*)\s*!=\s*true$"), False),
)


def decision_variable_outcome(condition: str) -> tuple[str, str] | None:
    """(variable, "approve" | "reject") for a condition that tests a yes/no
    decision variable (`${approved}`, `${!approved}`, `approved == false`);
    None for anything else."""
    match = _BOOLEAN_TEST.match(condition or "")
    body = match.group("body").strip() if match else ""
    for pattern, truth in _TRUTH:
        found = pattern.match(body)
        if found and found.group("var").casefold() in DECISION_VARIABLES:
            return found.group("var"), "approve" if truth else "reject"
    return None


@dataclass
class ImportResult:
    yaml: str
    template_id: str
    notes: list[BpmnProblem] = field(default_factory=list)  # what an admin should look at
    placeholders: int = 0  # --keep-conditions: conditions left to translate (the YAML does not validate)


@dataclass(eq=False)
class _Flow:
    id: str
    source: _Node
    target: _Node
    line: int
    condition: str | None = None
    language: str = ""
    name: str = ""


@dataclass(eq=False)
class _Node:
    el: etree._Element
    kind: str
    bpmn_id: str
    line: int
    process: str
    gid: str = ""
    name: str = ""
    lane: _Lane | None = None
    incoming: list[_Flow] = field(default_factory=list)
    outgoing: list[_Flow] = field(default_factory=list)
    boundaries: list[_Node] = field(default_factory=list)
    default_flow: str | None = None
    consumed: bool = False  # folded into another node (an outcome gateway, an escalation end)
    top: str = ""  # the govflow id of the top-level process it was read from
    container: _Node | None = None  # the embedded sub-process it stands in
    routing_refused: bool = False  # an unconditioned exclusive gateway already refused


@dataclass(eq=False)
class _Lane:
    name: str
    line: int
    bpmn_id: str
    department: str | None = None
    role: str | None = None  # applicant | process | None
    problem: str | None = None


def import_bpmn(
    source: bytes,
    *,
    departments: Mapping[str, Iterable[str]],
    handlers: Iterable[str],
    default_department: str | None = None,
    lane_map: Mapping[str, str] | None = None,
    keep_conditions: bool = False,
    process: str | None = None,
) -> ImportResult:
    """Translate BPMN XML into govflow YAML; raise BpmnError listing every
    reason the file cannot be imported.

    `departments` maps each known department code to its names (matched
    against lane and pool names); `lane_map` maps lane or pool names (or
    ids) to department codes (or `applicant`) first; `default_department`
    takes the tasks that stand in no lane or pool naming a department.
    With `keep_conditions`, a condition that cannot be translated becomes a
    placeholder (`__edit_me__ == "<the original>"`) instead of a refusal:
    the YAML is returned, and fails validation until an admin rewrites it
    (`ImportResult.placeholders` counts them). `process` picks the process
    (by id) of a file that holds several independent ones; without it the
    only executable one is taken, else the file is refused."""
    known = {code: [str(n) for n in names if n] for code, names in departments.items()}
    problems = [
        BpmnProblem(0, "", f"--lane-map '{lane}={code}': {message}")
        for lane, code in (lane_map or {}).items()
        if (message := lane_map_problem(lane, code, known))
    ]
    if problems:
        raise BpmnError(problems)
    return _Importer(
        known,
        frozenset(handlers),
        default_department,
        lane_map={normalise(k): v.strip() for k, v in (lane_map or {}).items()},
        keep_conditions=keep_conditions,
        process=(process or "").strip() or None,
    ).run(source)


class _Importer:
    def __init__(
        self,
        departments: dict[str, list[str]],
        handlers: frozenset[str],
        default_department: str | None,
        *,
        lane_map: dict[str, str],
        keep_conditions: bool,
        process: str | None = None,
    ) -> None:
        self.process_choice = process
        self.decision_variables: dict[str, set[str]] = {}  # task -> yes/no variables read as its decision
        self.departments = departments
        self.handlers = handlers
        self.default_department = default_department
        self.lane_map = lane_map
        self.lane_map_used: set[str] = set()
        self.keep_conditions = keep_conditions
        self.placeholders: list[CommentedMap] = []  # branches whose `when` is a --keep-conditions placeholder
        self.unmapped: dict[_Lane, list[_Node]] = {}  # lanes naming no department -> their tasks
        self.defaulted_lanes: set[_Lane] = set()  # such lanes whose tasks went to the default department
        self.laneless: list[str] = []  # tasks in no lane or pool that went to the default department
        self.embedded: list[etree._Element] = []  # subProcess elements, in the order read
        self.sub_taken: set[str] = {MAIN}
        self.problems: list[BpmnProblem] = []
        self.notes: list[BpmnProblem] = []
        self.taken: set[str] = set()
        self.nodes: dict[str, _Node] = {}  # by BPMN id
        self.by_gid: dict[str, _Node] = {}
        self.flows: dict[str, _Flow] = {}
        self.variables = Variables()
        self.expression_language = ""
        self.default_ends = 0
        self.ignored: dict[str, tuple[int, str, int]] = {}

    def problem(self, message: str, *, node: _Node | None = None, el: Any = None, line: int = 0) -> None:
        if node is not None:
            self.problems.append(BpmnProblem(node.line, node.bpmn_id, message))
            return
        if el is not None:
            self.problems.append(BpmnProblem(el.sourceline or 0, _element_id(el), message))
            return
        self.problems.append(BpmnProblem(line, "", message))

    def note(self, message: str, *, node: _Node | None = None, line: int = 0, element: str = "") -> None:
        if node is not None:
            line, element = node.line, node.bpmn_id
        self.notes.append(BpmnProblem(line, element, message))

    def fail_if_problems(self) -> None:
        if self.problems:
            raise BpmnError(self.problems)

    # -- the run ----------------------------------------------------------------

    def run(self, source: bytes) -> ImportResult:
        root = parse_xml(source)
        if root.tag != f"{{{BPMN}}}definitions":
            ns = namespace(root.tag)
            where = f" in namespace {ns}" if ns else " (no namespace)"
            raise BpmnError(
                [
                    BpmnProblem(
                        root.sourceline or 1,
                        "",
                        f"not a BPMN 2.0 file: the root element is <{local(root.tag)}>{where}; expected "
                        f"<definitions> in {BPMN}",
                    )
                ]
            )
        self.expression_language = root.get("expressionLanguage", "")
        self.check_subset(root)
        self.fail_if_problems()
        # What message and signal catch events refer to: id -> name.
        self.message_names = {
            el.get("id", ""): el.get("name", "") or el.get("id", "")
            for kind in ("message", "signal")
            for el in root.findall(f"{{{BPMN}}}{kind}")
        }
        processes = root.findall(f"{{{BPMN}}}process")
        participants = {
            p.get("processRef"): p for p in root.iter(f"{{{BPMN}}}participant") if p.get("processRef")
        }
        order = self.choose_processes(processes)
        self.fail_if_problems()
        process_ids: dict[str, str] = {}
        for index, process in enumerate(order):
            pid = process.get("id", "")
            if index == 0:
                process_ids[pid] = MAIN
                continue
            process_ids[pid] = self.subprocess_id(process)
        self.process_ids = process_ids
        for process in order:
            self.read_process(process, process_ids[process.get("id", "")])
            pool = participants.get(process.get("id"))
            pool_lane = self.pool(pool) if pool is not None else None
            self.inherit_lanes(process_ids[process.get("id", "")], pool_lane)
        self.check_lane_map()
        self.fail_if_problems()
        document = self.build([*order, *self.embedded], participants)
        self.refuse_unmapped_lanes()
        self.fail_if_problems()
        text = self.dump(document)
        self.validate(text)
        self.summarise_notes()
        return ImportResult(
            yaml=text,
            template_id=str(document["id"]),
            notes=sorted(set(self.notes)),
            placeholders=len(self.placeholders),
        )

    def subprocess_id(self, element: etree._Element) -> str:
        wanted = str(self.yaml_extension(element, "subprocess").get("id") or "")
        if ID_RE.match(wanted) and wanted not in self.sub_taken:
            self.sub_taken.add(wanted)
            return wanted
        return to_identifier(element.get("id", ""), self.sub_taken, prefix="p")

    def validate(self, text: str) -> None:
        """govflow's own loader and graph checks on the YAML. Placeholders
        (--keep-conditions) are meant to fail; everything else must pass, so
        the template is checked with them standing as "false", and then as
        written, where only they may fail."""
        checks = {"departments": set(self.departments), "handlers": set(self.handlers)}
        if self.placeholders:
            kept = [branch["when"] for branch in self.placeholders]
            for branch in self.placeholders:
                branch["when"] = "false"
            stand_in = self.dump(self.document)
            for branch, when in zip(self.placeholders, kept, strict=True):
                branch["when"] = when
            definition, problems = check_definition(stand_in, **checks)
        else:
            definition, problems = check_definition(text, **checks)
        if problems or definition is None:
            raise BpmnError([self.map_problem(p.message) for p in problems])
        if self.placeholders:
            _, problems = check_definition(text, **checks)
            others = [p for p in problems if PLACEHOLDER_FIELD not in p.message]
            if others:  # pragma: no cover - a placeholder always parses and names only itself
                raise BpmnError([self.map_problem(p.message) for p in others])

    # -- 1. the subset --------------------------------------------------------------

    def check_subset(self, root: etree._Element) -> None:
        def walk(element: etree._Element, parent_kind: str) -> None:
            for child in element:
                if not isinstance(child.tag, str):
                    continue
                ns, kind = namespace(child.tag), local(child.tag)
                if ns in (BPMNDI, DC, DI):
                    continue  # diagram interchange: govflow lays out its own
                if ns != BPMN:
                    if parent_kind != "extensionElements":
                        self.ignore(child, "a vendor element outside extensionElements")
                    elif ns != GOVFLOW:
                        self.ignore(child, "a vendor extension")
                    continue
                if kind == "extensionElements":
                    walk(child, "extensionElements")
                    continue
                if kind in DROPPED and parent_kind not in ("extensionElements", "laneSet", "lane"):
                    self.drop(child, *DROPPED[kind])
                    continue
                allowed = ALLOWED.get(parent_kind, set())
                if kind not in allowed:
                    hint = HINTS.get(kind) or f"<{kind}> is outside govflow's BPMN subset"
                    if kind.endswith("EventDefinition"):
                        hint = self.event_hint(kind, parent_kind)
                    self.problem(hint, el=child)
                    continue
                if child.get("isForCompensation") == "true":
                    self.problem("compensation activities are not supported", el=child)
                if kind == "subProcess" and child.get("triggeredByEvent") == "true":
                    self.problem(
                        "event sub-processes are not supported (govflow starts nothing on messages, signals "
                        "or errors)",
                        el=child,
                    )
                    continue
                walk(child, kind)

        walk(root, "definitions")

    @staticmethod
    def event_hint(kind: str, parent_kind: str) -> str:
        what = kind.removesuffix("EventDefinition")
        what = ("an " if what[:1] in "aeiou" else "a ") + what
        if parent_kind == "startEvent":
            return f"{what} start event is not supported; a govflow process starts when a case is submitted"
        if parent_kind == "endEvent":
            return f"{what} end event is not supported; use a none or terminate end event"
        if parent_kind == "boundaryEvent":
            return f"{what} boundary event is not supported; only timer boundary events are"
        if parent_kind == "intermediateCatchEvent":
            return (
                f"{what} intermediate event is not supported; only timers (waits), messages and signals are"
            )
        return f"{what} event is outside govflow's BPMN subset"

    def ignore(self, element: etree._Element, what: str) -> None:
        prefix = element.prefix or namespace(element.tag)
        key = f"{prefix}:{local(element.tag)}" if prefix else local(element.tag)
        line, first_id, count = self.ignored.get(key, (element.sourceline or 0, _element_id(element), 0))
        self.ignored[key] = (line, first_id, count + 1)
        self._ignored_what = getattr(self, "_ignored_what", {})
        self._ignored_what[key] = what

    def drop(self, element: etree._Element, what: str, why: str) -> None:
        """One note per dropped element, with its name or text, so nothing said in the diagram is lost
        without the admin seeing it."""
        said = _clean_name(element.get("name", ""))
        if local(element.tag) == "textAnnotation":
            said = _clean_name("".join(element.itertext()))
        said = f" {said[:200]!r}" if said else ""
        self.note(
            f"dropped {what}{said} ({why})",
            line=element.sourceline or 0,
            element=element.get("id") or _element_id(element),
        )

    def summarise_notes(self) -> None:
        for key, (line, element, count) in sorted(self.ignored.items()):
            what = self._ignored_what.get(key, "")
            times = f" ({count} times)" if count > 1 else ""
            self.note(f"ignored {key}{times}: {what}; govflow does not use it", line=line, element=element)
        if self.laneless:
            names = ", ".join(f"'{t}'" for t in self.laneless[:8])
            names += " ..." if len(self.laneless) > 8 else ""
            self.note(
                f"{len(self.laneless)} task(s) stand in no lane or pool naming a department and went to the "
                f"default department '{self.default_department}': {names}"
            )
        if self.default_ends:
            self.note(
                f"{self.default_ends} end event(s) carry no govflow outcome and were taken as 'approved'; "
                "set outcome: rejected or withdrawn on the ends of refusing paths"
            )

    # -- 2. which processes -------------------------------------------------------------

    def choose_processes(self, processes: list[etree._Element]) -> list[etree._Element]:
        by_id = {p.get("id"): p for p in processes}
        with_nodes = [p for p in processes if any(local(c.tag) in FLOW_NODES for c in p)]
        for process in processes:
            if process not in with_nodes:
                self.note(
                    "this process has no flow nodes and was skipped",
                    line=process.sourceline or 0,
                    element=process.get("id", ""),
                )
        if not with_nodes:
            self.problem("the file has no process with flow nodes (start event, tasks, end event)", line=0)
            return []
        called: dict[str, list[etree._Element]] = {}
        for process in with_nodes:
            for call in process.iter(f"{{{BPMN}}}callActivity"):
                target = call.get("calledElement", "")
                if target not in by_id:
                    self.problem(
                        f"the call activity calls '{target}', which is not a process in this file",
                        el=call,
                    )
                called.setdefault(target, []).append(call)
        roots = [p for p in with_nodes if p.get("id") not in called]
        others_left_out = False
        if self.process_choice is not None:
            chosen = by_id.get(self.process_choice)
            if chosen is None or chosen not in with_nodes:
                listed = ", ".join(f"'{p.get('id')}'" for p in with_nodes)
                self.problem(
                    f"--process '{self.process_choice}': the file has no process with that id and flow nodes "
                    f"(processes: {listed})",
                    line=0,
                )
                return []
            roots, others_left_out = [chosen], True
        elif len(roots) > 1:
            executable = [p for p in roots if p.get("isExecutable") == "true"]
            if len(executable) == 1:
                left = ", ".join(f"'{p.get('id')}'" for p in roots if p is not executable[0])
                self.note(
                    f"the file holds {len(roots)} independent processes; the executable one "
                    f"'{executable[0].get('id')}' was imported and {left} left out (choose another with "
                    "--process ID)",
                    line=executable[0].sourceline or 0,
                    element=executable[0].get("id", ""),
                )
                roots, others_left_out = executable, True
        if len(roots) != 1:
            names = ", ".join(f"'{p.get('id')}'" for p in (roots or with_nodes))
            self.problem(
                f"the file holds {len(roots) or 'no'} independent processes ({names}); govflow imports one "
                "process and the processes its call activities call: choose one with --process ID",
                line=(roots or with_nodes)[0].sourceline or 0,
            )
            return []
        order = [roots[0]]
        queue = [roots[0]]
        while queue:
            current = queue.pop(0)
            for call in current.iter(f"{{{BPMN}}}callActivity"):
                target = by_id.get(call.get("calledElement", ""))
                if target is not None and target not in order:
                    order.append(target)
                    queue.append(target)
        for process in with_nodes:
            if process not in order:
                if others_left_out:
                    continue  # said in the note above, or chosen with --process
                self.problem(
                    "this process is neither the main process nor called by it; govflow imports one process",
                    el=process,
                )
        return order

    # -- 3. nodes, flows and lanes -------------------------------------------------------

    def read_process(
        self, process: etree._Element, pid: str, *, top: str = "", container: _Node | None = None
    ) -> None:
        """The flow nodes, flows and lanes of a process, or of an embedded
        sub-process (`container` is its node in the enclosing process)."""
        top = top or pid
        elements = [c for c in process if local(c.tag) in FLOW_NODES and namespace(c.tag) == BPMN]
        for element in elements:
            bpmn_id = element.get("id")
            if not bpmn_id:
                self.problem(f"a <{local(element.tag)}> has no id", el=element)
                continue
            if bpmn_id in self.nodes:
                self.problem(f"the id '{bpmn_id}' is used twice", el=element)
                continue
            node = _Node(
                el=element,
                kind=local(element.tag),
                bpmn_id=bpmn_id,
                line=element.sourceline or 0,
                process=pid,
                name=_clean_name(element.get("name", "")),
                default_flow=element.get("default"),
                top=top,
                container=container,
            )
            self.nodes[bpmn_id] = node
        for node in self.nodes.values():  # valid govflow ids first keep their names
            if node.process == pid and ID_RE.match(node.bpmn_id) and node.bpmn_id not in self.taken:
                node.gid = node.bpmn_id
                self.taken.add(node.gid)
        for node in self.nodes.values():
            if node.process == pid and not node.gid:
                node.gid = to_identifier(node.bpmn_id, self.taken)
            self.by_gid[node.gid] = node
        for flow_el in process.findall(f"{{{BPMN}}}sequenceFlow"):
            flow_id = flow_el.get("id") or f"flow@{flow_el.sourceline}"
            source = self.nodes.get(flow_el.get("sourceRef", ""))
            target = self.nodes.get(flow_el.get("targetRef", ""))
            if source is None or target is None or source.process != pid or target.process != pid:
                self.problem(
                    "the sequence flow connects "
                    f"'{flow_el.get('sourceRef', '')}' to '{flow_el.get('targetRef', '')}', "
                    "which are not both "
                    "flow nodes of this process",
                    el=flow_el,
                )
                continue
            condition_el = flow_el.find(f"{{{BPMN}}}conditionExpression")
            flow = _Flow(
                flow_id, source, target, flow_el.sourceline or 0, name=_clean_name(flow_el.get("name", ""))
            )
            if condition_el is not None:
                flow.condition = "".join(condition_el.itertext()).strip()
                flow.language = condition_el.get("language") or self.expression_language
            self.flows[flow_id] = flow
            source.outgoing.append(flow)
            target.incoming.append(flow)
        seen_pairs: set[tuple[str, str]] = set()
        for flow in self.flows.values():
            pair = (flow.source.bpmn_id, flow.target.bpmn_id)
            # Only one flow of an exclusive gateway is taken: several may share a target.
            if flow.source.process == pid and pair in seen_pairs and flow.source.kind != "exclusiveGateway":
                self.problem(
                    f"several sequence flows lead from '{pair[0]}' to '{pair[1]}' (BPMN would run "
                    f"'{pair[1]}' once per flow); govflow keeps one path between two elements",
                    line=flow.line,
                )
            seen_pairs.add(pair)
        for node in self.nodes.values():
            if node.process != pid or node.kind != "boundaryEvent":
                continue
            host = self.nodes.get(node.el.get("attachedToRef", ""))
            if host is None or host.process != pid:
                self.problem("the boundary event is attached to no activity of this process", node=node)
                continue
            host.boundaries.append(node)
            if node.incoming:
                self.problem("a boundary event cannot have incoming sequence flows", node=node)
        for lane_set in process.findall(f"{{{BPMN}}}laneSet"):
            self.read_lanes(lane_set)
        for node in [n for n in self.nodes.values() if n.process == pid and n.kind == "subProcess"]:
            # An embedded sub-process becomes a govflow sub-process its node calls.
            sid = self.subprocess_id(node.el)
            self.process_ids[node.bpmn_id] = sid
            self.embedded.append(node.el)
            self.read_process(node.el, sid, top=top, container=node)

    def inherit_lanes(self, top: str, pool: _Lane | None) -> None:
        """Nodes in no lane stand in the lane of their embedded sub-process, else in their pool."""

        def lane_of(node: _Node) -> _Lane | None:
            if node.lane is not None:
                return node.lane
            if node.container is not None:
                return lane_of(node.container)
            return pool

        for node in self.nodes.values():
            if node.top == top:
                node.lane = lane_of(node)

    def read_lanes(self, lane_set: etree._Element) -> None:
        for lane_el in lane_set.findall(f"{{{BPMN}}}lane"):
            lane = self.lane(lane_el)
            for ref in lane_el.findall(f"{{{BPMN}}}flowNodeRef"):
                node = self.nodes.get((ref.text or "").strip())
                if node is not None:
                    node.lane = lane  # child lanes, read after, override
            for child_set in lane_el.findall(f"{{{BPMN}}}childLaneSet"):
                self.read_lanes(child_set)

    def lane(self, element: etree._Element) -> _Lane:
        lane = _Lane(_clean_name(element.get("name", "")), element.sourceline or 0, _element_id(element))
        ext = _govflow(element, "lane")
        if ext is not None:
            code = ext.get("department")
            if code:
                if code in self.departments:
                    lane.department = code
                else:
                    lane.problem = f"lane names department '{code}', which govflow does not know"
                return lane
            if ext.get("role") in ("applicant", "process"):
                lane.role = ext.get("role")
                return lane
        self.name_lane(lane, "lane")
        return lane

    def pool(self, participant: etree._Element) -> _Lane | None:
        """A pool (participant) names the department of the tasks in no lane of it."""
        name = _clean_name(participant.get("name", ""))
        if not name:
            return None
        lane = _Lane(name, participant.sourceline or 0, participant.get("id", ""))
        self.name_lane(lane, "pool")
        return lane

    def name_lane(self, lane: _Lane, what: str) -> None:
        """Which department (or the applicant) a lane or pool stands for: the
        --lane-map first (by name or id), then department codes and names,
        then the applicant's lane names."""
        for key in (normalise(lane.name), normalise(lane.bpmn_id)):
            if key and key in self.lane_map:
                self.lane_map_used.add(key)
                value = self.lane_map[key]
                if value == APPLICANT:
                    lane.role = "applicant"
                else:
                    lane.department = value
                return
        department = department_named(lane.name, self.departments)
        if department is not None:
            lane.department = department
            return
        if normalise(lane.name) in APPLICANT_LANE_NAMES:
            lane.role = "applicant"
            return
        label = lane.name or lane.bpmn_id
        lane.problem = f"{what} '{label}' names no department govflow knows"

    def check_lane_map(self) -> None:
        for key, code in self.lane_map.items():
            if key not in self.lane_map_used:
                self.note(f"--lane-map '{key}={code}' matches no lane or pool of this file")

    def refuse_unmapped_lanes(self) -> None:
        """One refusal per lane (or pool) whose tasks have no department, naming the options that fix it."""
        for lane, tasks in self.unmapped.items():
            names = ", ".join(f"'{t.bpmn_id}'" for t in tasks[:5]) + (" ..." if len(tasks) > 5 else "")
            label = lane.name or lane.bpmn_id
            self.problems.append(
                BpmnProblem(
                    lane.line,
                    lane.bpmn_id,
                    f"{lane.problem} (its tasks: {names}); name it after a department (code, Chinese or "
                    f"English name), map it with --lane-map '{label}=CODE', or give --department CODE "
                    f"for the tasks of unmapped lanes ({self.known_codes()})",
                )
            )

    def known_codes(self) -> str:
        codes = sorted(self.departments)
        return "known codes: " + ", ".join(codes[:20]) + (" ..." if len(codes) > 20 else "")

    # -- 4. the YAML document ----------------------------------------------------------------

    def build(self, order: list[etree._Element], participants: dict) -> CommentedMap:
        main = order[0]
        template_ext = self.yaml_extension(main, "template")
        doc = CommentedMap()
        self.document = doc
        pid_raw = str(template_ext.get("id") or main.get("id") or "imported_process")
        template_id = pid_raw if SLUG_RE.match(pid_raw) else to_identifier(pid_raw, set(), prefix="process")
        doc["id"] = template_id
        name = _clean_name(main.get("name", ""))
        if not name and main.get("id") in participants:
            name = _clean_name(participants[main.get("id")].get("name", ""))
        doc["title"] = _label(name, template_ext.get("title"), fallback=template_id)
        for key in ("description", "legal_basis", "calendar", "time_limit", "statutory_limit"):
            if key in template_ext:
                doc[key] = template_ext[key]
        main_nodes = self.process_nodes(self.process_ids[main.get("id", "")])
        subprocesses = CommentedMap()
        for process in order[1:]:
            sid = self.process_ids[process.get("id", "")]
            ext = self.yaml_extension(process, "subprocess")
            sub = CommentedMap()
            sname = _clean_name(process.get("name", ""))
            if not sname and process.get("id") in participants:
                sname = _clean_name(participants[process.get("id")].get("name", ""))
            sub["title"] = _label(sname, ext.get("title"), fallback=sid)
            if "description" in ext:
                sub["description"] = ext["description"]
            sub["nodes"] = self.process_nodes(sid)
            subprocesses[sid] = sub
        form = template_ext.get("form")
        form = self.merge_form(form)
        if form is not None:
            doc["form"] = form
        doc["nodes"] = main_nodes
        if subprocesses:
            doc["subprocesses"] = subprocesses
        for key in ("verification", "title_field", "catalog", "distinct_signers"):
            if key in template_ext:
                doc[key] = template_ext[key]
        if self.placeholders:
            doc.yaml_set_start_comment(
                f"Imported from BPMN with --keep-conditions. {len(self.placeholders)} condition(s) could "
                "not be translated:\nthey are kept in comments marked TRANSLATE and stand as "
                f'{PLACEHOLDER_FIELD} == "<the original>", which fails validation\nuntil an admin rewrites '
                "them in govflow's condition language."
            )
        return doc

    def merge_form(self, form: Any) -> Any:
        if not self.variables.types:
            return form
        if form is None:
            form = CommentedMap()
        if not isinstance(form, dict):
            return form
        fields = form.get("fields")
        if fields is None:
            fields = form["fields"] = CommentedSeq()
        if not isinstance(fields, list):
            return form
        existing = {f.get("id") for f in fields if isinstance(f, dict)}
        originals = {v: k for k, v in self.variables.ids.items()}
        for field_id, kind in self.variables.types.items():
            if field_id in existing:
                continue
            spec = CommentedMap()
            spec["id"] = field_id
            spec["type"] = {"unknown": "text"}.get(kind, kind)
            original = originals.get(field_id, field_id)
            spec["label"] = _flow_map({"zh": original, "en": original})
            if kind == "decimal":
                spec["decimals"] = min(max(self.variables.decimals.get(field_id, 2), 0), 8)
            fields.append(spec)
            self.note(
                f"the conditions read the variable '{original}': it became form field '{field_id}' "
                f"({spec['type']}); give it proper labels and limits"
            )
        return form

    def yaml_extension(self, element: etree._Element, what: str) -> dict:
        ext = _govflow(element, what)
        if ext is None:
            return {}
        text = "".join(ext.itertext())
        where = ext.sourceline or 0
        if len(text) > 1_000_000:
            self.problem(f"govflow:{what} is too large", el=ext)
            return {}
        scanned = scan_yaml(text)
        if scanned:
            self.problem(
                f"govflow:{what} is not valid: {scanned[0].message}", line=where + scanned[0].line - 1
            )
            return {}
        try:
            value = YAML(typ="rt", pure=True).load(text)
        except (YAMLError, RecursionError) as exc:
            self.problem(f"govflow:{what} is not valid YAML: {getattr(exc, 'problem', exc)}", line=where)
            return {}
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"govflow:{what} must be a mapping", line=where)
            return {}
        return value

    def node_extension(self, node: _Node) -> dict:
        ext = _govflow(node.el, "node")
        if ext is None:
            return {}
        try:
            value = json.loads("".join(ext.itertext()) or "{}")
        except (ValueError, RecursionError):
            self.problem("govflow:node is not valid JSON", node=node)
            return {}
        if not isinstance(value, dict):
            self.problem("govflow:node must be a JSON object", node=node)
            return {}
        return value

    def process_nodes(self, pid: str) -> CommentedSeq:
        members = [n for n in self.nodes.values() if n.process == pid]
        starts = [n for n in members if n.kind == "startEvent"]
        if len(starts) != 1:
            where = "the process" if pid == MAIN else f"process '{pid}'"
            self.problem(
                f"{where} has {len(starts)} start events; govflow needs exactly one none start event",
                node=(starts[1] if len(starts) > 1 else (members[0] if members else None)),
            )
        items = CommentedSeq()
        self.items = items
        self.pending_comments: list[tuple[str, str]] = []
        # Fold outcome gateways and escalation paths before writing anything.
        for node in members:
            if node.kind in ("task", "userTask", *CALLS):
                self.fold_outcomes(node)
        for node in members:
            if node.kind in ("task", "userTask"):
                self.check_timers(node)
        for node in members:
            if node.kind == EVENT_GATEWAY:
                self.fold_event_gateway(node)
        for node in members:
            if node.kind in GATEWAYS and len(_sources(node)) > 1 and len(node.outgoing) > 1:
                node.entry = to_identifier(f"{node.gid}_join", self.taken)  # type: ignore[attr-defined]
            if node.boundaries and node.kind not in ("task", "userTask", "serviceTask", *CALLS):
                self.problem("boundary events stand only on tasks", node=node)
        ordered = sorted(members, key=lambda n: (n.kind != "startEvent", n.line))
        for node in ordered:
            if node.consumed or node.kind == "boundaryEvent":
                continue
            self.after: list[CommentedMap] = []
            self.write_node(node)
            items.extend(self.after)
        positions = {item["id"]: index for index, item in enumerate(items)}
        for owner, text in self.pending_comments:
            items.yaml_set_comment_before_after_key(positions[owner], before=text, indent=2)
        return items

    # -- user task outcomes and timers -----------------------------------------------------------

    def decision_of(self, flow: _Flow, node: _Node) -> str | None:
        if flow.condition is None:
            return None
        match = _DECISION.match(flow.condition)
        if match and match.group(1) in (node.bpmn_id, node.gid):
            return match.group(3)
        if node.kind in ("task", "userTask") and not self.is_correction(node):
            found = decision_variable_outcome(flow.condition)
            if found is not None:
                self.decision_variables.setdefault(node.bpmn_id, set()).add(found[0])
                return found[1]
        return None

    def fold_outcomes(self, node: _Node) -> None:
        allowed = CASE_OUTCOMES if node.kind in CALLS else TASK_OUTCOMES
        required = "approved" if node.kind in CALLS else "approve"
        node.outcomes = None  # type: ignore[attr-defined]
        flows = node.outgoing
        candidates: list[_Flow] = []
        default_id = None
        if len(flows) == 1 and flows[0].target.kind == "exclusiveGateway":
            gateway = flows[0].target
            if len(gateway.incoming) == 1 and len(gateway.outgoing) > 1:
                candidates, default_id = gateway.outgoing, gateway.default_flow
                holder = gateway
            else:
                return
            if all(not (f.condition or "").strip() for f in candidates):
                # No conditions: if a reviewer's task stands before it, its decision chooses.
                if node.kind in ("task", "userTask") and not self.is_correction(node):
                    self.route_by_names(node, gateway)
                return
        elif len(flows) > 1:
            candidates, default_id, holder = flows, node.default_flow, None
        else:
            return
        outcomes: dict[str, _Node] = {}
        default_target = None
        for flow in candidates:
            if flow.id == default_id:
                default_target = flow.target
                continue
            outcome = self.decision_of(flow, node)
            if outcome is None or outcome not in allowed or outcome in outcomes:
                return
            outcomes[outcome] = flow.target
        if default_target is not None:
            if required in outcomes:
                return
            outcomes[required] = default_target
        if required not in outcomes:
            return
        node.outcomes = outcomes  # type: ignore[attr-defined]
        if holder is not None:
            holder.consumed = True
            holder.folded_into = node  # type: ignore[attr-defined]
        variables = self.decision_variables.get(node.bpmn_id)
        if variables:
            self.note(
                f"the conditions after task '{node.bpmn_id}' test {', '.join(sorted(variables))}, "
                "the reviewer's yes/no decision: they became the task's outcomes "
                f"({', '.join(outcomes)}), not a form field the applicant would fill in; check them",
                node=holder or node,
            )

    def is_correction(self, node: _Node) -> bool:
        return self.node_extension(node).get("type") == "correction" or (
            node.lane is not None and node.lane.role == "applicant"
        )

    def route_by_names(self, node: _Node, gateway: _Node) -> None:
        """An exclusive gateway whose flows carry no condition, right after a
        review: the flows' names say which decision each stands for."""
        chosen: dict[str, _Flow] = {}
        faults: list[str] = []
        for flow in gateway.outgoing:
            if not flow.name and flow.id == gateway.default_flow:
                continue  # an unnamed default flow: whatever the named ones leave (below)
            outcome = outcome_of_name(flow.name, question=gateway.name)
            if not flow.name:
                faults.append(f"flow '{flow.id}' has no name")
            elif outcome is None and normalise(flow.name).strip("?？!！。.") in ANSWERS:
                faults.append(
                    f"flow '{flow.id}' is named {flow.name!r}, which answers the question "
                    f"{gateway.name!r}: whether that means approval is not clear"
                )
            elif outcome is None:
                faults.append(f"flow '{flow.id}' is named {flow.name!r}, which is no decision govflow knows")
            elif outcome in chosen:
                first = chosen[outcome]
                faults.append(
                    f"flows '{first.id}' ({first.name!r}) and '{flow.id}' ({flow.name!r}) both mean {outcome}"
                )
            else:
                chosen[outcome] = flow
        unnamed_default = next(
            (f for f in gateway.outgoing if f.id == gateway.default_flow and not f.name), None
        )
        if unnamed_default is not None:
            if "approve" in chosen:
                faults.append(f"the default flow '{unnamed_default.id}' has no name")
            else:
                chosen["approve"] = unnamed_default
        if not faults and "approve" not in chosen:
            faults.append("no flow means approve")
        what = f"exclusive gateway '{gateway.bpmn_id}'" + (f" ({gateway.name!r})" if gateway.name else "")
        if faults:
            gateway.routing_refused = True
            self.problem(
                f"the flows of {what} carry no conditions, so the decision of task '{node.bpmn_id}' must "
                f"choose between them by their names, but {'; '.join(faults)}. Name each flow after a "
                "decision (approve: 通过 / 同意 / 是 / yes / approve; reject: 不通过 / 不同意 / 否 / no / "
                "reject; return: 退回 / 补正 / return) or give the flows conditions",
                node=gateway,
            )
            return
        order = [f.id for f in gateway.outgoing]
        ordered = sorted(chosen.items(), key=lambda item: order.index(item[1].id))
        node.outcomes = {outcome: flow.target for outcome, flow in ordered}  # type: ignore[attr-defined]
        node.outcome_names = [  # type: ignore[attr-defined]
            f"{outcome} = {flow.name or '(default flow)'}" for outcome, flow in ordered
        ]
        gateway.consumed = True
        gateway.folded_into = node  # type: ignore[attr-defined]
        self.note(
            f"the flows of {what} carry no conditions: they became the decisions of task '{node.bpmn_id}' "
            f"({', '.join(node.outcome_names)}); check them",  # type: ignore[attr-defined]
            node=gateway,
        )

    def check_timers(self, node: _Node) -> None:
        node.sla_timer = None  # type: ignore[attr-defined]
        node.reminder = None  # type: ignore[attr-defined]
        interrupting = [b for b in node.boundaries if b.el.get("cancelActivity", "true") != "false"]
        non_interrupting = [b for b in node.boundaries if b.el.get("cancelActivity", "true") == "false"]
        for boundary in node.boundaries:
            boundary.duration = self.timer_duration(boundary)  # type: ignore[attr-defined]
        if len(interrupting) > 1 or len(non_interrupting) > 1:
            self.problem(
                f"the task has {len(node.boundaries)} timer boundary events; "
                "govflow takes one limit per task "
                "(an interrupting timer, optionally with one earlier non-interrupting timer as a reminder)",
                node=node,
            )
            return
        for boundary in non_interrupting:
            for flow in boundary.outgoing:
                target = flow.target
                if target.kind != "endEvent" or len(target.incoming) != 1:
                    self.problem(
                        "a non-interrupting timer maps to govflow's escalation (the department head is "
                        f"notified, the task stays open); its path to '{target.bpmn_id}' cannot be kept: "
                        "lead "
                        "it straight to an end event or to nothing",
                        node=boundary,
                    )
                    return
            for flow in boundary.outgoing:
                flow.target.consumed = True
        if interrupting:
            node.sla_timer = interrupting[0]  # type: ignore[attr-defined]
            if len(interrupting[0].outgoing) != 1:
                self.problem(
                    "an interrupting timer needs exactly one outgoing sequence flow "
                    "(where the case goes when "
                    "the limit passes)",
                    node=interrupting[0],
                )
        if non_interrupting:
            if interrupting:
                node.reminder = non_interrupting[0]  # type: ignore[attr-defined]
            else:
                node.sla_timer = non_interrupting[0]  # type: ignore[attr-defined]

    # -- messages and signals --------------------------------------------------------------------

    @staticmethod
    def message_definition(node: _Node) -> etree._Element | None:
        for kind in MESSAGE_DEFINITIONS:
            found = node.el.find(f"{{{BPMN}}}{kind}")
            if found is not None:
                return found
        return None

    def signal_name(self, node: _Node) -> str:
        """The govflow name of what a message or signal catch event waits
        for: its message's (or signal's) name, else its id, else the event's
        name or id, as a lower-case identifier (another system sends it in
        the address). A name that had to be changed is noted."""
        definition = self.message_definition(node)
        ref = ""
        if definition is not None:
            ref = definition.get("messageRef") or definition.get("signalRef") or ""
        original = self.message_names.get(ref) or ref or node.name or node.bpmn_id
        name = to_identifier(original, set(), prefix="message")
        if name == "message" and ref:  # nothing readable in the name (all Chinese, say): the id
            name = to_identifier(ref, set(), prefix="message")
        if name != original:
            self.note(
                f"the message {original!r} is received as the signal '{name}' "
                f"(POST /api/v1/cases/{{reference}}/signals/{name}/); rename it in the YAML if you like",
                node=node,
            )
        return name

    def fold_event_gateway(self, gateway: _Node) -> None:
        """An event-based gateway that chooses between one message (or
        signal) and one timer becomes a signal node with a deadline; any
        other event-based gateway is refused."""
        targets = [flow.target for flow in gateway.outgoing]
        messages = [
            t
            for t in targets
            if t.kind == "intermediateCatchEvent" and self.message_definition(t) is not None
        ]
        timers = [
            t
            for t in targets
            if t.kind == "intermediateCatchEvent" and t.el.find(f"{{{BPMN}}}timerEventDefinition") is not None
        ]
        fine = (
            len(targets) == 2
            and len(messages) == 1
            and len(timers) == 1
            and all(len(t.incoming) == 1 and len(t.outgoing) == 1 for t in targets)
        )
        if not fine:
            self.problem(
                "an event-based gateway is read only as a wait for one message with a deadline: exactly two "
                "outgoing flows, to one message (or signal) intermediate catch event and one timer "
                "intermediate catch event, each with one incoming and one outgoing flow",
                node=gateway,
            )
            return
        gateway.signal_parts = (messages[0], timers[0])  # type: ignore[attr-defined]
        for part in targets:
            part.consumed = True
            part.folded_into = gateway  # type: ignore[attr-defined]

    def timer_duration(self, event: _Node) -> dict | None:
        definition = event.el.find(f"{{{BPMN}}}timerEventDefinition")
        if definition is None:
            self.problem("a boundary or intermediate event here must be a timer", node=event)
            return None
        duration_el = definition.find(f"{{{BPMN}}}timeDuration")
        if duration_el is None:
            self.problem("the timer has no timeDuration (an ISO 8601 duration such as P10D)", node=event)
            return None
        text = "".join(duration_el.itertext()).strip()
        try:
            parsed = parse_duration(text)
            if duration_el.get(f"{{{GOVFLOW}}}unit") == "calendar_days" and "days" in parsed:
                return {"calendar_days": parsed["days"]}
            return parsed
        except DurationError as exc:
            self.problem(f"timer duration: {exc}", node=event)
            return None

    # -- writing nodes -----------------------------------------------------------------------------

    def write_node(self, node: _Node) -> None:
        ext = self.node_extension(node)
        kind = node.kind
        item = CommentedMap()
        item["id"] = node.gid
        generic = ext.get("type")
        if generic in KINDS and generic not in _WRITTEN_KINDS and isinstance(ext.get("settings"), dict):
            # a kind the exporter wrote generically (docs/extending.md): its
            # type and YAML keys come back from govflow's extension element
            item["type"] = generic
            self.title(item, node, ext, required=KINDS[generic].titled)
            for key, value in ext["settings"].items():
                item[key] = _flow_map(value) if isinstance(value, dict) else value
            self.describe(item, node, ext)
            _after_title(item)
            self.items.append(item)
            return
        if kind == "startEvent":
            item["type"] = "start"
            self.title(item, node, ext, required=False)
            if self.message_definition(node) is not None:
                self.note(
                    "a message (or signal) start event became the start: a govflow case starts when the "
                    "application is submitted, which is that message",
                    node=node,
                )
            self.single_next(item, node)
        elif kind == "endEvent":
            self.write_end(item, node, ext)
        elif kind in ("task", "userTask"):
            is_correction = ext.get("type") == "correction" or (
                node.lane is not None and node.lane.role == "applicant"
            )
            if is_correction:
                self.write_correction(item, node, ext)
            else:
                self.write_user_task(item, node, ext)
        elif kind == "serviceTask":
            item["type"] = "service_task"
            self.title(item, node, ext, required=True)
            handler = ext.get("handler")
            if not handler:
                self.problem(
                    "a service task needs govflow:handler naming a registered handler "
                    f"({', '.join(sorted(self.handlers)) or 'none registered'}); "
                    "govflow never runs code from "
                    "the file",
                    node=node,
                )
            elif handler not in self.handlers:
                self.problem(
                    f"service handler '{handler}' is not registered "
                    f"(registered: {', '.join(sorted(self.handlers))})",
                    node=node,
                )
            item["handler"] = handler or ""
            if isinstance(ext.get("inputs"), list):
                item["inputs"] = _flow_seq(ext["inputs"])
            if node.boundaries:
                self.problem("govflow takes timers only on user tasks, not on service tasks", node=node)
            self.single_next(item, node)
        elif kind in CALLS:
            item["type"] = "call"
            self.title(item, node, ext, required=True)
            called = node.bpmn_id if kind == "subProcess" else node.el.get("calledElement", "")
            item["process"] = self.process_ids.get(called, "")
            if node.boundaries:
                what = "call activities" if kind == "callActivity" else "sub-processes"
                self.problem(f"govflow takes timers only on user tasks, not on {what}", node=node)
            item["outcomes"] = self.outcomes(node, "approved")
        elif kind in GATEWAYS:
            self.write_gateway(item, node, ext)
            return
        elif kind == EVENT_GATEWAY:
            folded = getattr(node, "signal_parts", None)
            if folded is None:
                return  # refused in fold_event_gateway
            message, timer = folded
            item["type"] = "signal"
            self.title(item, node if node.name else message, ext, required=True)
            item["signal"] = ext.get("signal") or self.signal_name(message)
            self.single_next(item, message)
            duration = self.timer_duration(timer)
            if duration:
                item["deadline"] = _flow_map(duration)
            if len(timer.outgoing) == 1:
                item["on_timeout"] = self.entry_of(timer.outgoing[0].target)
            else:
                self.problem(
                    "the deadline's timer event needs exactly one outgoing sequence flow", node=timer
                )
        elif kind == "intermediateCatchEvent" and self.message_definition(node) is not None:
            item["type"] = "signal"
            self.title(item, node, ext, required=True)
            item["signal"] = ext.get("signal") or self.signal_name(node)
            self.single_next(item, node)
        elif kind == "intermediateCatchEvent":
            item["type"] = "wait"
            self.title(item, node, ext, required=True)
            duration = self.timer_duration(node)
            if duration:
                item.update(duration)
            self.single_next(item, node)
        else:  # pragma: no cover - check_subset lets nothing else through
            self.problem(f"<{kind}> is outside govflow's BPMN subset", node=node)
            return
        self.describe(item, node, ext)
        _after_title(item)
        self.items.append(item)

    def title(self, item: CommentedMap, node: _Node, ext: dict, *, required: bool) -> None:
        given = ext.get("title") if isinstance(ext.get("title"), dict) else None
        if node.name or given or required:
            item["title"] = _label(node.name, given, fallback=node.bpmn_id)

    def describe(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        if isinstance(ext.get("description"), dict):
            item["description"] = _flow_map(ext["description"])
            return
        docs = " ".join(
            "".join(d.itertext()).strip() for d in node.el.findall(f"{{{BPMN}}}documentation")
        ).strip()
        if docs:
            if len(docs) > 2000:
                self.note("documentation longer than 2000 characters was cut", node=node)
                docs = docs[:1999] + "…"
            item["description"] = _flow_map({"zh": docs, "en": docs})

    def write_end(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        item["type"] = "end"
        self.title(item, node, ext, required=True)
        outcome = ext.get("outcome")
        if outcome not in CASE_OUTCOMES:
            if outcome is not None:
                self.problem(f"govflow:node outcome must be one of {', '.join(CASE_OUTCOMES)}", node=node)
            outcome = "approved"
            self.default_ends += 1
        item["outcome"] = outcome
        item["terminate"] = node.el.find(f"{{{BPMN}}}terminateEventDefinition") is not None
        if ext.get("certificates"):
            item["certificates"] = _yaml_value(ext["certificates"])
        if node.outgoing:
            self.problem("an end event cannot have outgoing sequence flows", node=node)

    def department(self, node: _Node) -> str | None:
        lane = node.lane
        if lane is not None and lane.department:
            return lane.department
        if lane is not None and lane.problem:
            if self.default_department:
                if lane not in self.defaulted_lanes:
                    self.defaulted_lanes.add(lane)
                    self.note(
                        f"{lane.problem}; its tasks went to the default department "
                        f"'{self.default_department}' (or map it with --lane-map '{lane.name or lane.bpmn_id}"
                        "=CODE')",
                        line=lane.line,
                        element=lane.bpmn_id,
                    )
                return self.default_department
            self.unmapped.setdefault(lane, []).append(node)
            return None
        if self.default_department:
            self.laneless.append(node.bpmn_id)
            return self.default_department
        self.problem(
            "the task stands in no lane or pool naming a department; put it in a lane named after its "
            f"department, or give --department CODE for such tasks ({self.known_codes()})",
            node=node,
        )
        return None

    def write_user_task(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        item["type"] = "user_task"
        self.title(item, node, ext, required=True)
        countersign = ext.get("countersign")
        if isinstance(countersign, dict):
            if ext.get("department"):
                item["department"] = ext["department"]
        else:
            department = self.department(node)
            item["department"] = department or ""
        if ext.get("clearance"):
            item["clearance"] = _flow_seq(ext["clearance"])
        outcomes = self.outcomes(node, "approve")
        sla = self.sla(node, ext, outcomes)
        if sla is not None:
            item["sla"] = sla
        if isinstance(countersign, dict):
            item["countersign"] = _yaml_value(countersign)
        if ext.get("clock") in ("counted", "excluded"):
            item["clock"] = ext["clock"]
        elif isinstance(ext.get("clock"), dict):
            item["clock"] = _yaml_value(ext["clock"])
        # 退回, 转办, 抄送, 批量审批, 延期, as written
        for key in ("return_to", "transfer", "cc", "batch", "extension"):
            if key in ext:
                item[key] = _yaml_value(ext[key])
        item["outcomes"] = outcomes
        names = getattr(node, "outcome_names", None)
        if names:  # the language has no outcome labels: the modeller's words stay beside them
            item.yaml_add_eol_comment("BPMN flows: " + ", ".join(names), "outcomes")

    def sla(self, node: _Node, ext: dict, outcomes: CommentedMap) -> CommentedMap | None:
        timer = getattr(node, "sla_timer", None)
        if timer is None or timer.duration is None:
            return None
        extra = ext.get("sla") if isinstance(ext.get("sla"), dict) else {}
        sla = CommentedMap(timer.duration)
        reminder = getattr(node, "reminder", None)
        if reminder is not None and reminder.duration is not None:
            fraction = _hours(reminder.duration) / _hours(timer.duration)
            if not 0 < fraction <= 0.99:
                self.problem(
                    "the non-interrupting timer (a reminder) must fire before the interrupting one",
                    node=reminder,
                )
            else:
                sla["remind_at"] = round(fraction, 4)
        elif isinstance(extra.get("remind_at"), int | float):
            sla["remind_at"] = extra["remind_at"]
        if timer.el.get("cancelActivity", "true") == "false":
            sla["on_breach"] = "escalate"
            return _flow_map(sla)
        if not timer.outgoing:
            return _flow_map(sla)
        target = timer.outgoing[0].target.gid
        if outcomes.get("approve") == target:
            on_breach = "approve"
        elif outcomes.get("reject") in (None, target):
            on_breach = "reject"
            outcomes["reject"] = target
        else:
            self.problem(
                f"the interrupting timer leads to '{timer.outgoing[0].target.bpmn_id}', which is neither the "
                "task's approval nor its rejection path; govflow decides a timed-out task approve or reject",
                node=timer,
            )
            return None
        sla["on_breach"] = on_breach
        basis = extra.get("legal_basis")
        if not isinstance(basis, str) or not basis.strip():
            basis = GENERIC_LEGAL_BASIS.format(id=timer.bpmn_id)
            self.note(
                f"the interrupting timer decides the task '{on_breach}' when it fires (silent consent or "
                "refusal): write the local rule that allows it in sla.legal_basis",
                node=timer,
            )
        sla["legal_basis"] = basis
        return sla

    def write_correction(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        item["type"] = "correction"
        self.title(item, node, ext, required=True)
        if "max_rounds" in ext:
            item["max_rounds"] = ext["max_rounds"]
        interrupting = [b for b in node.boundaries if b.el.get("cancelActivity", "true") != "false"]
        if len(node.boundaries) > len(interrupting) or len(interrupting) > 1:
            self.problem(
                "an applicant's correction takes one interrupting timer (its deadline) and nothing else",
                node=node,
            )
        self.single_next(item, node)
        if interrupting:
            timer = interrupting[0]
            duration = self.timer_duration(timer)
            if len(timer.outgoing) != 1:
                self.problem("the deadline timer needs exactly one outgoing sequence flow", node=timer)
            elif duration is not None:
                item["deadline"] = _flow_map(duration)
                item["on_timeout"] = timer.outgoing[0].target.gid

    def outcomes(self, node: _Node, required: str) -> CommentedMap:
        folded = getattr(node, "outcomes", None)
        result = CommentedMap()
        if folded:
            for outcome, target in folded.items():  # in the file's order, as the export writes them
                result[outcome] = self.entry_of(target)
            return _flow_map(result)
        target = self.next_target(node)
        if target is not None:
            result[required] = target
        return _flow_map(result)

    def entry_of(self, target: _Node) -> str:
        return getattr(target, "entry", None) or target.gid

    def single_next(self, item: CommentedMap, node: _Node) -> None:
        target = self.next_target(node)
        if target is not None:
            item["next"] = target

    def next_target(self, node: _Node) -> str | None:
        """The node a single flow leads to, or an implicit split gateway for
        an activity with several outgoing flows (BPMN's uncontrolled flow)."""
        flows = node.outgoing
        if not flows:
            self.problem("has no outgoing sequence flow", node=node)
            return None
        if len(flows) == 1 and flows[0].condition is None:
            return self.entry_of(flows[0].target)
        if len(flows) == 1:
            self.note("the condition on the only outgoing flow was ignored", node=node)
            return self.entry_of(flows[0].target)
        conditional = any(f.condition is not None for f in flows)
        split = CommentedMap()
        split["id"] = to_identifier(f"{node.gid}_split", self.taken)
        split["type"] = "inclusive" if conditional else "parallel"
        if conditional:
            split["branches"] = self.branches(node, flows, split["id"], exclusive=False)
        else:
            split["next"] = _flow_seq([self.entry_of(f.target) for f in flows])
        self.note(
            f"the activity has {len(flows)} outgoing flows (BPMN's implicit split); they start from "
            f"{split['type']} gateway '{split['id']}'",
            node=node,
        )
        self.after.append(split)
        return split["id"]

    def write_gateway(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        kind = GATEWAYS[node.kind]
        if getattr(node, "entry", None):
            # BPMN lets one gateway join and split; govflow wants two.
            join = CommentedMap()
            join["id"] = node.entry  # type: ignore[attr-defined]
            join["type"] = kind
            join["next"] = node.gid
            self.items.append(join)
            self.note(
                f"the gateway both joins and splits; it became join '{join['id']}' and split", node=node
            )
        item["type"] = kind
        self.title(item, node, ext, required=False)
        flows = node.outgoing
        if not flows:
            self.problem("has no outgoing sequence flow", node=node)
            return
        if len(flows) == 1:
            if flows[0].condition is not None:
                self.note("the condition on the gateway's only outgoing flow was ignored", node=node)
            item["next"] = self.entry_of(flows[0].target)
        elif kind == "parallel":
            if any(f.condition is not None for f in flows):
                self.problem("the flows leaving a parallel gateway cannot carry conditions", node=node)
            item["next"] = _flow_seq([self.entry_of(f.target) for f in flows])
        else:
            item["branches"] = self.branches(node, flows, node.gid, exclusive=kind == "exclusive")
        self.describe(item, node, ext)
        _after_title(item)
        self.items.append(item)

    def branches(self, node: _Node, flows: list[_Flow], owner: str, *, exclusive: bool) -> CommentedSeq:
        seq = CommentedSeq()
        comments: list[str] = []
        default_id = node.default_flow
        if default_id and default_id not in {f.id for f in flows}:
            self.problem(f"the default flow '{default_id}' does not leave this element", node=node)
        if exclusive:
            if node.routing_refused:
                return seq
            default_id = self.exclusive_default(node, flows, default_id)
            if default_id is False:
                return seq
        for flow in flows:
            branch = CommentedMap()
            branch["to"] = self.entry_of(flow.target)
            if flow.id == default_id:
                branch["default"] = True
            elif flow.condition is None or not flow.condition.strip():
                branch["when"] = "true"  # an inclusive branch that always runs
            else:
                condition = self.condition(flow)
                if condition.text is None:
                    self.untranslated(flow, condition, branch, comments)
                else:
                    if condition.translated:
                        self.note(
                            f"the condition {condition.original!r} was translated to "
                            f"{condition.text!r}; check it",
                            line=flow.line,
                            element=flow.id,
                        )
                    branch["when"] = condition.text
            seq.append(_flow_map(branch))
        if exclusive:
            always = [b["to"] for b in seq if b.get("when") == "true"]
            if len(always) > 1:
                self.problem(
                    f"{_gateway_label(node)}: the conditions of {len(always)} flows are always true, so only "
                    "the first could ever be taken; give them conditions that tell them apart",
                    node=node,
                )
        if comments:
            self.pending_comments.append((owner, "\n".join(comments)))
        return seq

    def exclusive_default(self, node: _Node, flows: list[_Flow], default_id: str | None) -> str | bool | None:
        """The default flow of an exclusive gateway, or False when flows
        without conditions leave it undecided (refused). One flow without a
        condition among conditioned ones, and no default, is the default:
        the path taken when no condition holds, as modellers mean it."""
        bare = [f for f in flows if f.id != default_id and not (f.condition or "").strip()]
        if not bare:
            return default_id
        conditioned = [f for f in flows if f.id != default_id and f not in bare]
        if conditioned and len(bare) == 1 and not default_id:
            self.note(
                f"flow '{bare[0].id}' of {_gateway_label(node)} has no condition: it became the default "
                "branch (taken when no other condition holds)",
                line=bare[0].line,
                element=bare[0].id,
            )
            return bare[0].id
        named = ", ".join(f"'{f.id}'" + (f" ({f.name!r})" if f.name else "") for f in bare)
        if conditioned or default_id:
            self.problem(
                f"flows {named} of {_gateway_label(node)} carry no condition besides "
                + ("the default flow" if default_id else "one another")
                + "; an exclusive gateway takes one flow, so give each a condition (one may be the "
                "default flow)",
                node=node,
            )
            return False
        before = [self.nodes[b] for b in _sources(node) if b in self.nodes]
        after_correction = (
            len(before) == 1 and before[0].kind in ("task", "userTask") and self.is_correction(before[0])
        )
        where = (
            "it follows an applicant's correction, whose submission decides nothing"
            if after_correction
            else "it does not stand right after a department's review task, whose decision could choose"
        )
        self.problem(
            f"none of the {len(flows)} flows ({named}) leaving {_gateway_label(node)} carries a condition, "
            f"so nothing chooses between them; {where}. Give each flow a condition (one may be the default "
            "flow), or put the gateway right after the review task and name its flows after the decision "
            "(通过 / 不通过 / 退回, approve / reject / return)",
            node=node,
        )
        return False

    def untranslated(
        self, flow: _Flow, condition: Condition, branch: CommentedMap, comments: list[str]
    ) -> None:
        """A condition govflow cannot read: refused, or with --keep-conditions a placeholder that fails
        validation until an admin rewrites it."""
        language = condition.language or "unspecified"
        original = " ".join(condition.original.split())
        reason = f" ({condition.reason})" if condition.reason else ""
        if not self.keep_conditions:
            self.problems.append(
                BpmnProblem(
                    flow.line,
                    flow.id,
                    f"the condition {original!r} (language {language}) cannot be translated into govflow's "
                    f"condition language{reason}; rewrite it in the model (docs/process-language.md section "
                    "14), or import with --keep-conditions to keep it as a placeholder for an admin to edit",
                )
            )
            branch["when"] = "false"
            return
        comments.append(
            f"TRANSLATE branch to {branch['to']} (flow {flow.id}, language {language}): {original}"
        )
        branch["when"] = placeholder(condition.original)
        self.placeholders.append(branch)
        self.note(
            f"the condition {original!r} (language {language}) could not be translated{reason}; it stands as "
            f"a placeholder naming '{PLACEHOLDER_FIELD}', which fails validation until an admin rewrites it",
            line=flow.line,
            element=flow.id,
        )

    def condition(self, flow: _Flow) -> Condition:
        node_ids = {n.bpmn_id: n.gid for n in self.nodes.values()}
        kinds = {n.gid: n.kind for n in self.nodes.values()}
        return translate(
            flow.condition or "", flow.language, variables=self.variables, node_ids=node_ids, node_kinds=kinds
        )

    # -- output -------------------------------------------------------------------------------------

    def dump(self, document: CommentedMap) -> str:
        yaml = YAML(typ="rt", pure=True)
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        yaml.allow_unicode = True
        stream = io.StringIO()
        yaml.dump(document, stream)
        return stream.getvalue()

    def map_problem(self, message: str) -> BpmnProblem:
        """A validation problem of the generated YAML, pointed at the BPMN element it concerns."""
        for gid in _QUOTED.findall(message):
            node = self.by_gid.get(gid)
            if node is not None:
                text = message
                if gid != node.bpmn_id:
                    text = message.replace(f"'{gid}'", f"'{gid}' ({node.bpmn_id})", 1)
                return BpmnProblem(node.line, node.bpmn_id, f"govflow cannot run this model: {text}")
        return BpmnProblem(0, "", f"govflow cannot run this model: {message}")


# -- helpers ------------------------------------------------------------------------------------------


def _element_id(element: etree._Element) -> str:
    current = element
    while current is not None:
        value = current.get("id") if isinstance(current.tag, str) else None
        if value:
            return value
        current = current.getparent()
    return ""


def _govflow(element: etree._Element, what: str) -> etree._Element | None:
    ext = element.find(f"{{{BPMN}}}extensionElements")
    if ext is None:
        return None
    return ext.find(f"{{{GOVFLOW}}}{what}")


def _clean_name(name: str) -> str:
    return " ".join((name or "").split())[:2000]


def _label(name: str, given: Any, *, fallback: str) -> CommentedMap:
    given = given if isinstance(given, dict) else {}
    zh = name or str(given.get("zh") or "") or fallback
    en = str(given.get("en") or "") or name or fallback
    if name and given.get("zh") and name != given.get("zh") and given.get("en"):
        en = str(given["en"])  # renamed in a modeler: the English text is the analyst's to update
    return _flow_map({"zh": zh, "en": en})


def _flow_scalar(value: Any) -> Any:
    """A text in a flow collection: ruamel writes one that starts with ':'
    or '?' as a plain scalar, which does not read back there; quoted."""
    if isinstance(value, str) and value[:1] in (":", "?"):
        return DoubleQuotedScalarString(value)
    return value


def _flow_map(values: Mapping) -> CommentedMap:
    if not isinstance(values, CommentedMap):
        values = CommentedMap((k, _flow_scalar(v)) for k, v in values.items())
    else:
        for key, value in list(values.items()):
            values[key] = _flow_scalar(value)
    values.fa.set_flow_style()
    return values


def _flow_seq(values: Iterable) -> CommentedSeq:
    result = CommentedSeq(_flow_scalar(v) for v in values)
    result.fa.set_flow_style()
    return result


def _yaml_value(value: Any) -> Any:
    """JSON values from a govflow:node extension as YAML (titles in flow style)."""
    if isinstance(value, dict):
        result = CommentedMap((k, _yaml_value(v)) for k, v in value.items())
        if set(value) <= {"zh", "en"} or all(not isinstance(v, dict | list) for v in value.values()):
            return _flow_map(result)
        return result
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return _flow_seq(value)
        return CommentedSeq(_yaml_value(v) for v in value)
    return value


def _gateway_label(node: _Node) -> str:
    return f"exclusive gateway '{node.bpmn_id}'" + (f" ({node.name!r})" if node.name else "")


def _sources(node: _Node) -> set[str]:
    """The distinct nodes flowing into `node`, an outcome gateway counting as its task."""
    found = set()
    for flow in node.incoming:
        source = flow.source
        source = getattr(source, "folded_into", None) or source if source.consumed else source
        found.add(source.bpmn_id)
    return found


def _after_title(item: CommentedMap) -> None:
    """Move a node's description up beside its title, where people look for it."""
    if "description" not in item:
        return
    value = item.pop("description")
    keys = list(item)
    position = keys.index("title") + 1 if "title" in keys else min(2, len(keys))
    item.insert(position, "description", value)


def _hours(duration: dict) -> float:
    if duration.get("days") is not None:
        return float(duration["days"]) * 8
    return float(duration["hours"])
