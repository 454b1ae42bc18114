"""Reading BPMN: the subset govflow accepts (everything else refused, or
dropped with a note), which processes to import, and the nodes, flows and
lanes of each (`Reader`, mixed into govflow.bpmn.importer._Importer).

Pure Python (lxml and the engine); no Django import.
"""

from __future__ import annotations

import json

from lxml import etree

from govflow.engine.problems import Message

from .common import (
    APPLICANT,
    BPMN,
    BPMNDI,
    DC,
    DI,
    GOVFLOW,
    ID_RE,
    BpmnProblem,
    department_named,
    local,
    namespace,
    normalise,
    to_identifier,
)
from .model import (
    ACTIVITIES,
    EVENT_GATEWAY,
    FLOW_NODES,
    GATEWAYS,
    MESSAGE_DEFINITIONS,
    _clean_name,
    _element_id,
    _Flow,
    _govflow,
    _Lane,
    _Node,
)

COMMON = {"incoming", "outgoing", "extensionElements", "documentation"}
# Dropped with one note each: they carry data or comments, never the route.
DROPPED = {
    "textAnnotation": (Message("text annotation"), Message("a comment in the diagram")),
    "association": (Message("association"), Message("a line to a comment or to data")),
    "group": (Message("group"), Message("a visual frame")),
    "category": (Message("category"), Message("what groups are labelled with")),
    "dataObject": (Message("data object"), Message("the case's form holds the data")),
    "dataObjectReference": (Message("data object"), Message("the case's form holds the data")),
    "dataStore": (Message("data store"), Message("govflow reads no outside stores")),
    "dataStoreReference": (Message("data store"), Message("govflow reads no outside stores")),
    "dataInputAssociation": (Message("data association"), Message("the case's form holds the data")),
    "dataOutputAssociation": (Message("data association"), Message("the case's form holds the data")),
    "ioSpecification": (Message("data inputs and outputs"), Message("the case's form holds the data")),
    "property": (Message("property"), Message("a variable; the case's form holds the data")),
    "itemDefinition": (Message("item definition"), Message("a data type")),
    "messageFlow": (
        Message("message flow"),
        Message(
            "a message between pools; govflow runs one process and receives messages over its API at signal "
            "nodes (message catch events)"
        ),
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
_RESOURCES = Message(
    "resource assignments are not supported; put the task in a lane named after its department"
)
HINTS = {
    "transaction": Message("transactions are not supported"),
    "adHocSubProcess": Message("ad-hoc sub-processes are not supported"),
    "scriptTask": Message(
        "script tasks run code; govflow only runs registered service handlers (serviceTask with "
        "govflow:handler)"
    ),
    "businessRuleTask": Message("business rule tasks are not supported; route with an exclusive gateway"),
    "sendTask": Message("send tasks (messages) are not supported"),
    "receiveTask": Message("receive tasks (messages) are not supported"),
    "manualTask": Message("manual tasks are not supported; use a task or userTask for a department's step"),
    "complexGateway": Message("complex gateways are not supported"),
    "intermediateThrowEvent": Message("intermediate throw events are not supported"),
    "timeDate": Message(
        "a timer at a fixed date (timeDate) is not supported; give a timeDuration such as P10D"
    ),
    "timeCycle": Message("repeating timers (timeCycle) are not supported; give a timeDuration such as P10D"),
    "multiInstanceLoopCharacteristics": Message(
        "multi-instance activities are not supported "
        "(for several departments signing, use govflow's countersign)"
    ),
    "standardLoopCharacteristics": Message("loop activities are not supported; draw the loop with a gateway"),
    "potentialOwner": _RESOURCES,
    "humanPerformer": _RESOURCES,
    "performer": _RESOURCES,
    "import": Message("imports of other files are not supported"),
}
APPLICANT_LANE_NAMES = {"applicant", "申请人", "申请人/企业", "applicants"}


class Reader:
    """The importer's reading steps."""

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
                        self.ignore(child, Message("a vendor element outside extensionElements"))
                    elif ns != GOVFLOW:
                        self.ignore(child, Message("a vendor extension"))
                    continue
                if kind == "extensionElements":
                    walk(child, "extensionElements")
                    continue
                if kind in DROPPED and parent_kind not in ("extensionElements", "laneSet", "lane"):
                    self.drop(child, *DROPPED[kind])
                    continue
                allowed = ALLOWED.get(parent_kind, set())
                if kind not in allowed:
                    hint = HINTS.get(kind) or Message("<{kind}> is outside govflow's BPMN subset", kind=kind)
                    if kind.endswith("EventDefinition"):
                        hint = self.event_hint(kind, parent_kind)
                    self.problem(hint, el=child)
                    continue
                if child.get("isForCompensation") == "true":
                    self.problem(Message("compensation activities are not supported"), el=child)
                if kind == "subProcess" and child.get("triggeredByEvent") == "true":
                    self.problem(
                        Message(
                            "event sub-processes are not supported (govflow starts nothing on messages, "
                            "signals or errors)"
                        ),
                        el=child,
                    )
                    continue
                walk(child, kind)

        walk(root, "definitions")

    @staticmethod
    def event_hint(kind: str, parent_kind: str) -> Message:
        name = kind.removesuffix("EventDefinition")
        what = Message("an {kind}", kind=name) if name[:1] in "aeiou" else Message("a {kind}", kind=name)
        if parent_kind == "startEvent":
            return Message(
                "{what} start event is not supported; a govflow process starts when a case is submitted",
                what=what,
            )
        if parent_kind == "endEvent":
            return Message("{what} end event is not supported; use a none or terminate end event", what=what)
        if parent_kind == "boundaryEvent":
            return Message(
                "{what} boundary event is not supported; only timer boundary events are", what=what
            )
        if parent_kind == "intermediateCatchEvent":
            return Message(
                "{what} intermediate event is not supported; only timers (waits), messages and signals are",
                what=what,
            )
        return Message("{what} event is outside govflow's BPMN subset", what=what)

    def ignore(self, element: etree._Element, what: Message) -> None:
        prefix = element.prefix or namespace(element.tag)
        key = f"{prefix}:{local(element.tag)}" if prefix else local(element.tag)
        line, first_id, count = self.ignored.get(key, (element.sourceline or 0, _element_id(element), 0))
        self.ignored[key] = (line, first_id, count + 1)
        self._ignored_what = getattr(self, "_ignored_what", {})
        self._ignored_what[key] = what

    def drop(self, element: etree._Element, what: Message, why: Message) -> None:
        """One note per dropped element, with its name or text, so nothing said in the diagram is lost
        without the admin seeing it."""
        said = _clean_name(element.get("name", ""))
        if local(element.tag) == "textAnnotation":
            said = _clean_name("".join(element.itertext()))
        said = f" {said[:200]!r}" if said else ""
        self.note(
            Message("dropped {what}{said} ({why})", what=what, said=said, why=why),
            line=element.sourceline or 0,
            element=element.get("id") or _element_id(element),
        )

    def summarise_notes(self) -> None:
        for key, (line, element, count) in sorted(self.ignored.items()):
            what = self._ignored_what.get(key, "")
            times = Message(" ({count} times)", count=count) if count > 1 else ""
            self.note(
                Message(
                    "ignored {key}{times}: {what}; govflow does not use it", key=key, times=times, what=what
                ),
                line=line,
                element=element,
            )
        if self.laneless:
            names = ", ".join(f"'{t}'" for t in self.laneless[:8])
            names += " ..." if len(self.laneless) > 8 else ""
            self.note(
                Message(
                    "{count} task(s) stand in no lane or pool naming a department and went to the default "
                    "department '{department}': {names}",
                    count=len(self.laneless),
                    department=self.default_department,
                    names=names,
                )
            )
        if self.default_ends:
            self.note(
                Message(
                    "{count} end event(s) carry no govflow outcome and were taken as 'approved'; "
                    "set outcome: rejected or withdrawn on the ends of refusing paths",
                    count=self.default_ends,
                )
            )

    # -- 2. which processes -------------------------------------------------------------

    def choose_processes(self, processes: list[etree._Element]) -> list[etree._Element]:
        by_id = {p.get("id"): p for p in processes}
        with_nodes = [p for p in processes if any(local(c.tag) in FLOW_NODES for c in p)]
        for process in processes:
            if process not in with_nodes:
                self.note(
                    Message("this process has no flow nodes and was skipped"),
                    line=process.sourceline or 0,
                    element=process.get("id", ""),
                )
        if not with_nodes:
            self.problem(
                Message("the file has no process with flow nodes (start event, tasks, end event)"), line=0
            )
            return []
        called: dict[str, list[etree._Element]] = {}
        for process in with_nodes:
            for call in process.iter(f"{{{BPMN}}}callActivity"):
                target = call.get("calledElement", "")
                if target not in by_id:
                    self.problem(
                        Message(
                            "the call activity calls '{target}', which is not a process in this file",
                            target=target,
                        ),
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
                    Message(
                        "--process '{process}': the file has no process with that id and flow nodes "
                        "(processes: {listed})",
                        process=self.process_choice,
                        listed=listed,
                    ),
                    line=0,
                )
                return []
            roots, others_left_out = [chosen], True
        elif len(roots) > 1:
            executable = [p for p in roots if p.get("isExecutable") == "true"]
            if len(executable) == 1:
                left = ", ".join(f"'{p.get('id')}'" for p in roots if p is not executable[0])
                self.note(
                    Message(
                        "the file holds {count} independent processes; the executable one '{process}' was "
                        "imported and {left} left out (choose another with --process ID)",
                        count=len(roots),
                        process=executable[0].get("id"),
                        left=left,
                    ),
                    line=executable[0].sourceline or 0,
                    element=executable[0].get("id", ""),
                )
                roots, others_left_out = executable, True
        if len(roots) != 1:
            names = ", ".join(f"'{p.get('id')}'" for p in (roots or with_nodes))
            self.problem(
                Message(
                    "the file holds {count} independent processes ({names}); govflow imports one "
                    "process and the processes its call activities call: choose one with --process ID",
                    count=len(roots),
                    names=names,
                )
                if roots
                else Message(
                    "the file holds no independent process ({names}); govflow imports one "
                    "process and the processes its call activities call: choose one with --process ID",
                    names=names,
                ),
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
                    Message(
                        "this process is neither the main process nor called by it; "
                        "govflow imports one process"
                    ),
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
                self.problem(Message("a <{kind}> has no id", kind=local(element.tag)), el=element)
                continue
            if bpmn_id in self.nodes:
                self.problem(Message("the id '{id}' is used twice", id=bpmn_id), el=element)
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
                    Message(
                        "the sequence flow connects '{source}' to '{target}', which are not both "
                        "flow nodes of this process",
                        source=flow_el.get("sourceRef", ""),
                        target=flow_el.get("targetRef", ""),
                    ),
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
                    Message(
                        "several sequence flows lead from '{source}' to '{target}' (BPMN would run "
                        "'{target}' once per flow); govflow keeps one path between two elements",
                        source=pair[0],
                        target=pair[1],
                    ),
                    line=flow.line,
                )
            seen_pairs.add(pair)
        for node in self.nodes.values():
            if node.process != pid or node.kind != "boundaryEvent":
                continue
            host = self.nodes.get(node.el.get("attachedToRef", ""))
            if host is None or host.process != pid:
                self.problem(
                    Message("the boundary event is attached to no activity of this process"), node=node
                )
                continue
            host.boundaries.append(node)
            if node.incoming:
                self.problem(Message("a boundary event cannot have incoming sequence flows"), node=node)
        for lane_set in process.findall(f"{{{BPMN}}}laneSet"):
            self.read_lanes(lane_set)
        for node in [n for n in self.nodes.values() if n.process == pid and n.kind == "subProcess"]:
            if self.is_bundle(node.el):
                continue  # 一件事: its call activities name the items' processes (choose_processes)
            # An embedded sub-process becomes a govflow sub-process its node calls.
            sid = self.subprocess_id(node.el)
            self.process_ids[node.bpmn_id] = sid
            self.embedded.append(node.el)
            self.read_process(node.el, sid, top=top, container=node)

    @staticmethod
    def is_bundle(element: etree._Element) -> bool:
        """A govflow bundle (一件事) as the exporter writes it: a sub-process
        whose govflow:node extension says type bundle."""
        ext = element.find(f"{{{BPMN}}}extensionElements/{{{GOVFLOW}}}node")
        if ext is None:
            return False
        try:
            value = json.loads("".join(ext.itertext()) or "{}")
        except (ValueError, RecursionError):
            return False
        return isinstance(value, dict) and value.get("type") == "bundle"

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
                    lane.problem = Message(
                        "lane names department '{code}', which govflow does not know", code=code
                    )
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
        lane.problem = (
            Message("pool '{name}' names no department govflow knows", name=label)
            if what == "pool"
            else Message("lane '{name}' names no department govflow knows", name=label)
        )

    def check_lane_map(self) -> None:
        for key, code in self.lane_map.items():
            if key not in self.lane_map_used:
                self.note(
                    Message(
                        "--lane-map '{entry}' matches no lane or pool of this file", entry=f"{key}={code}"
                    )
                )

    def refuse_unmapped_lanes(self) -> None:
        """One refusal per lane (or pool) whose tasks have no department, naming the options that fix it."""
        for lane, tasks in self.unmapped.items():
            names = ", ".join(f"'{t.bpmn_id}'" for t in tasks[:5]) + (" ..." if len(tasks) > 5 else "")
            label = lane.name or lane.bpmn_id
            self.problems.append(
                BpmnProblem(
                    lane.line,
                    lane.bpmn_id,
                    Message(
                        "{problem} (its tasks: {names}); name it after a department (code, Chinese or "
                        "English name), map it with --lane-map '{label}=CODE', or give --department CODE "
                        "for the tasks of unmapped lanes ({known})",
                        problem=lane.problem,
                        names=names,
                        label=label,
                        known=self.known_codes(),
                    ),
                )
            )

    def known_codes(self) -> Message:
        codes = sorted(self.departments)
        return Message(
            "known codes: {codes}", codes=", ".join(codes[:20]) + (" ..." if len(codes) > 20 else "")
        )
