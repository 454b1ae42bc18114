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

from govflow.engine import check_definition
from govflow.engine.definition import CASE_OUTCOMES, MAIN, TASK_OUTCOMES
from govflow.engine.loader import SLUG_RE
from govflow.engine.loader import _scan as scan_yaml

from .common import (
    BPMN,
    BPMNDI,
    DC,
    DI,
    GOVFLOW,
    ID_RE,
    BpmnError,
    BpmnProblem,
    DurationError,
    local,
    namespace,
    parse_duration,
    parse_xml,
    to_identifier,
)
from .conditions import Condition, Variables, translate

ACTIVITIES = {"task", "userTask", "serviceTask", "callActivity"}
GATEWAYS = {"exclusiveGateway": "exclusive", "parallelGateway": "parallel", "inclusiveGateway": "inclusive"}
EVENTS = {"startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent"}
FLOW_NODES = ACTIVITIES | set(GATEWAYS) | EVENTS
COMMON = {"incoming", "outgoing", "extensionElements", "documentation"}
ARTIFACTS = {"textAnnotation", "association"}
ALLOWED: dict[str, set[str]] = {
    "definitions": {"process", "collaboration", "extensionElements", "documentation"},
    "collaboration": {"participant", "extensionElements", "documentation"} | ARTIFACTS,
    "participant": {"extensionElements", "documentation"},
    "process": FLOW_NODES | {"sequenceFlow", "laneSet", "extensionElements", "documentation"} | ARTIFACTS,
    "laneSet": {"lane", "extensionElements", "documentation"},
    "lane": {"flowNodeRef", "childLaneSet", "extensionElements", "documentation"},
    "childLaneSet": {"lane", "extensionElements", "documentation"},
    "startEvent": COMMON,
    "endEvent": COMMON | {"terminateEventDefinition"},
    "boundaryEvent": COMMON | {"timerEventDefinition"},
    "intermediateCatchEvent": COMMON | {"timerEventDefinition"},
    "timerEventDefinition": {"timeDuration", "extensionElements", "documentation"},
    "terminateEventDefinition": {"extensionElements", "documentation"},
    "sequenceFlow": {"conditionExpression", "extensionElements", "documentation"},
    "textAnnotation": {"text", "extensionElements", "documentation"},
    "association": {"extensionElements", "documentation"},
    **{kind: set(COMMON) for kind in ACTIVITIES | set(GATEWAYS)},
    **{kind: set() for kind in ("flowNodeRef", "incoming", "outgoing", "documentation", "text")},
    "timeDuration": set(),
    "conditionExpression": set(),
}
_RESOURCES = "resource assignments are not supported; put the task in a lane named after its department"
HINTS = {
    "subProcess": "embedded sub-processes are not supported; draw the inner process as a process of its own "
    "and call it with a call activity",
    "transaction": "transactions are not supported",
    "adHocSubProcess": "ad-hoc sub-processes are not supported",
    "scriptTask": "script tasks run code; govflow only runs registered service handlers (serviceTask with "
    "govflow:handler)",
    "businessRuleTask": "business rule tasks are not supported; route with an exclusive gateway",
    "sendTask": "send tasks (messages) are not supported",
    "receiveTask": "receive tasks (messages) are not supported",
    "manualTask": "manual tasks are not supported; use a task or userTask for a department's step",
    "eventBasedGateway": "event-based gateways are not supported",
    "complexGateway": "complex gateways are not supported",
    "intermediateThrowEvent": "intermediate throw events are not supported",
    "messageFlow": "message flows between pools are not supported; govflow imports one process",
    "timeDate": "a timer at a fixed date (timeDate) is not supported; give a timeDuration such as P10D",
    "timeCycle": "repeating timers (timeCycle) are not supported; give a timeDuration such as P10D",
    "multiInstanceLoopCharacteristics": "multi-instance activities are not supported "
    "(for several departments signing, use govflow's countersign)",
    "standardLoopCharacteristics": "loop activities are not supported; draw the loop with a gateway",
    "ioSpecification": "data inputs and outputs are not supported (the case's form holds the data)",
    "dataObject": "data objects are not supported (the case's form holds the data)",
    "dataObjectReference": "data objects are not supported (the case's form holds the data)",
    "dataStoreReference": "data stores are not supported",
    "dataInputAssociation": "data associations are not supported",
    "dataOutputAssociation": "data associations are not supported",
    "property": "process and task properties are not supported",
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


@dataclass
class ImportResult:
    yaml: str
    template_id: str
    notes: list[BpmnProblem] = field(default_factory=list)  # what an admin should look at


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
) -> ImportResult:
    """Translate BPMN XML into govflow YAML; raise BpmnError listing every
    reason the file cannot be imported.

    `departments` maps each known department code to its names (matched
    against lane names); `default_department` takes the tasks that stand in
    no lane naming a department."""
    return _Importer(
        {code: [str(n) for n in names if n] for code, names in departments.items()},
        frozenset(handlers),
        default_department,
    ).run(source)


class _Importer:
    def __init__(
        self, departments: dict[str, list[str]], handlers: frozenset[str], default_department: str | None
    ) -> None:
        self.departments = departments
        self.handlers = handlers
        self.default_department = default_department
        self.problems: list[BpmnProblem] = []
        self.notes: list[BpmnProblem] = []
        self.taken: set[str] = set()
        self.nodes: dict[str, _Node] = {}  # by BPMN id
        self.by_gid: dict[str, _Node] = {}
        self.flows: dict[str, _Flow] = {}
        self.variables = Variables()
        self.untranslated = 0
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
        processes = root.findall(f"{{{BPMN}}}process")
        participants = {
            p.get("processRef"): p for p in root.iter(f"{{{BPMN}}}participant") if p.get("processRef")
        }
        order = self.choose_processes(processes)
        self.fail_if_problems()
        process_ids: dict[str, str] = {}
        sub_taken: set[str] = {MAIN}
        for index, process in enumerate(order):
            pid = process.get("id", "")
            if index == 0:
                process_ids[pid] = MAIN
                continue
            wanted = str(self.yaml_extension(process, "subprocess").get("id") or "")
            if ID_RE.match(wanted) and wanted not in sub_taken:
                sub_taken.add(wanted)
                process_ids[pid] = wanted
            else:
                process_ids[pid] = to_identifier(pid, sub_taken, prefix="p")
        self.process_ids = process_ids
        for process in order:
            self.read_process(process, process_ids[process.get("id", "")])
        self.fail_if_problems()
        document = self.build(order, participants)
        self.fail_if_problems()
        text = self.dump(document)
        definition, problems = check_definition(
            text, departments=set(self.departments), handlers=set(self.handlers)
        )
        if problems or definition is None:
            raise BpmnError([self.map_problem(p.message) for p in problems])
        self.summarise_notes()
        return ImportResult(yaml=text, template_id=str(document["id"]), notes=sorted(set(self.notes)))

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
                allowed = ALLOWED.get(parent_kind, set())
                if kind not in allowed:
                    hint = HINTS.get(kind) or f"<{kind}> is outside govflow's BPMN subset"
                    if kind.endswith("EventDefinition"):
                        hint = self.event_hint(kind, parent_kind)
                    self.problem(hint, el=child)
                    continue
                if kind in ARTIFACTS:
                    self.ignore(child, "a text annotation (a comment in the diagram)")
                    continue
                if child.get("isForCompensation") == "true":
                    self.problem("compensation activities are not supported", el=child)
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
            return f"{what} intermediate event is not supported; only timers (waits) are"
        return f"{what} event is outside govflow's BPMN subset"

    def ignore(self, element: etree._Element, what: str) -> None:
        prefix = element.prefix or namespace(element.tag)
        key = f"{prefix}:{local(element.tag)}" if prefix else local(element.tag)
        line, first_id, count = self.ignored.get(key, (element.sourceline or 0, _element_id(element), 0))
        self.ignored[key] = (line, first_id, count + 1)
        self._ignored_what = getattr(self, "_ignored_what", {})
        self._ignored_what[key] = what

    def summarise_notes(self) -> None:
        for key, (line, element, count) in sorted(self.ignored.items()):
            what = self._ignored_what.get(key, "")
            times = f" ({count} times)" if count > 1 else ""
            self.note(f"ignored {key}{times}: {what}; govflow does not use it", line=line, element=element)
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
        if len(roots) != 1:
            names = ", ".join(f"'{p.get('id')}'" for p in (roots or with_nodes))
            self.problem(
                f"the file holds {len(roots) or 'no'} independent processes ({names}); govflow imports one "
                "process and the processes its call activities call",
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
                self.problem(
                    "this process is neither the main process nor called by it; govflow imports one process",
                    el=process,
                )
        return order

    # -- 3. nodes, flows and lanes -------------------------------------------------------

    def read_process(self, process: etree._Element, pid: str) -> None:
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
        name = lane.name.strip().lower()
        if name in APPLICANT_LANE_NAMES:
            lane.role = "applicant"
            return lane
        for code, names in self.departments.items():
            if name and (name == code or name in {n.strip().lower() for n in names}):
                lane.department = code
                return lane
        lane.problem = (
            f"lane '{lane.name or lane.bpmn_id}' does not name a department govflow knows "
            f"(name the lane after a department, e.g. '{next(iter(self.departments), 'market_regulation')}')"
        )
        return lane

    # -- 4. the YAML document ----------------------------------------------------------------

    def build(self, order: list[etree._Element], participants: dict) -> CommentedMap:
        main = order[0]
        template_ext = self.yaml_extension(main, "template")
        doc = CommentedMap()
        pid_raw = str(template_ext.get("id") or main.get("id") or "imported_process")
        template_id = pid_raw if SLUG_RE.match(pid_raw) else to_identifier(pid_raw, set(), prefix="process")
        doc["id"] = template_id
        name = _clean_name(main.get("name", ""))
        if not name and main.get("id") in participants:
            name = _clean_name(participants[main.get("id")].get("name", ""))
        doc["title"] = _label(name, template_ext.get("title"), fallback=template_id)
        for key in ("description", "legal_basis", "calendar", "time_limit"):
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
        if "title_field" in template_ext:
            doc["title_field"] = template_ext["title_field"]
        if self.untranslated:
            doc.yaml_set_start_comment(
                f"Imported from BPMN. {self.untranslated} condition(s) were written in another expression "
                "language and could not be translated:\nthey are kept in comments marked TRANSLATE and "
                'stand as when: "false" until an admin translates them.'
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
            if node.kind in ("task", "userTask", "callActivity"):
                self.fold_outcomes(node)
        for node in members:
            if node.kind in ("task", "userTask"):
                self.check_timers(node)
        for node in members:
            if node.kind in GATEWAYS and len(_sources(node)) > 1 and len(node.outgoing) > 1:
                node.entry = to_identifier(f"{node.gid}_join", self.taken)  # type: ignore[attr-defined]
            if node.boundaries and node.kind not in ("task", "userTask", "serviceTask", "callActivity"):
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
        return None

    def fold_outcomes(self, node: _Node) -> None:
        allowed = CASE_OUTCOMES if node.kind == "callActivity" else TASK_OUTCOMES
        required = "approved" if node.kind == "callActivity" else "approve"
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
            return parse_duration(text)
        except DurationError as exc:
            self.problem(f"timer duration: {exc}", node=event)
            return None

    # -- writing nodes -----------------------------------------------------------------------------

    def write_node(self, node: _Node) -> None:
        ext = self.node_extension(node)
        kind = node.kind
        item = CommentedMap()
        item["id"] = node.gid
        if kind == "startEvent":
            item["type"] = "start"
            self.title(item, node, ext, required=False)
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
            if node.boundaries:
                self.problem("govflow takes timers only on user tasks, not on service tasks", node=node)
            self.single_next(item, node)
        elif kind == "callActivity":
            item["type"] = "call"
            self.title(item, node, ext, required=True)
            item["process"] = self.process_ids.get(node.el.get("calledElement", ""), "")
            if node.boundaries:
                self.problem("govflow takes timers only on user tasks, not on call activities", node=node)
            item["outcomes"] = self.outcomes(node, "approved")
        elif kind in GATEWAYS:
            self.write_gateway(item, node, ext)
            return
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
        if self.default_department:
            if lane is not None and lane.problem:
                self.note(
                    f"{lane.problem}; its task went to the default department '{self.default_department}'",
                    node=node,
                )
            return self.default_department
        if lane is not None and lane.problem:
            self.problem(lane.problem + " (or give a default department)", node=node)
        else:
            self.problem(
                "the task stands in no lane naming a department; put it in a lane named after its department "
                "or give a default department (--department)",
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
        item["outcomes"] = outcomes

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
        default_seen = False
        if node.default_flow and node.default_flow not in {f.id for f in flows}:
            self.problem(f"the default flow '{node.default_flow}' does not leave this element", node=node)
        for flow in flows:
            branch = CommentedMap()
            branch["to"] = self.entry_of(flow.target)
            if flow.id == node.default_flow:
                branch["default"] = True
                default_seen = True
            elif flow.condition is None or not flow.condition.strip():
                branch["when"] = "true"
                if exclusive:
                    self.note(
                        f"flow '{flow.id}' has no condition; it is taken as always true",
                        line=flow.line,
                        element=flow.id,
                    )
            else:
                condition = self.condition(flow)
                if condition.text is None:
                    self.untranslated += 1
                    language = condition.language or "unspecified"
                    comments.append(
                        f"TRANSLATE branch to {branch['to']} (flow {flow.id}, language {language}): "
                        f"{' '.join(condition.original.split())}"
                    )
                    self.note(
                        f"the condition {condition.original!r} (language {language}) could not be "
                        'translated; it is kept as a comment and stands as when: "false" until an admin '
                        "translates it",
                        line=flow.line,
                        element=flow.id,
                    )
                    branch["when"] = "false"
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
        del default_seen
        if comments:
            self.pending_comments.append((owner, "\n".join(comments)))
        return seq

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


def _flow_map(values: Mapping) -> CommentedMap:
    result = CommentedMap(values) if not isinstance(values, CommentedMap) else values
    result.fa.set_flow_style()
    return result


def _flow_seq(values: Iterable) -> CommentedSeq:
    result = CommentedSeq(values)
    result.fa.set_flow_style()
    return result


def _yaml_value(value: Any) -> Any:
    """JSON values from a govflow:node extension as YAML (titles in flow style)."""
    if isinstance(value, dict):
        result = CommentedMap((k, _yaml_value(v)) for k, v in value.items())
        if set(value) <= {"zh", "en"} or all(not isinstance(v, dict | list) for v in value.values()):
            result.fa.set_flow_style()
        return result
    if isinstance(value, list):
        seq = CommentedSeq(_yaml_value(v) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            seq.fa.set_flow_style()
        return seq
    return value


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
