"""A govflow YAML template -> BPMN 2.0 XML with diagram interchange.

Every process (the main one and each sub-process) becomes a pool of one
collaboration, with a lane per department whose reviews it holds, one for
the applicant's corrections and one for the automatic steps. Node ids are
kept as BPMN ids, so a case's current nodes can be marked in the diagram.

What BPMN says natively is said natively (flows, gateways, conditions,
timers, lanes, call activities, terminate ends, names); what it cannot say
(countersign, forms, certificates, SLA reminders and silent consent, the
English texts ...) travels in extensionElements in govflow's namespace, so
that importing the export gives back the same template (`importer`).

Pure Python (lxml, ruamel.yaml and the engine); no Django import.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from lxml import etree
from ruamel.yaml import YAML

from govflow.engine import load_definition
from govflow.engine.definition import MAIN, Definition
from govflow.engine.kinds import KINDS

from .common import BPMN, BPMNDI, DC, DI, GOVFLOW, GOVFLOW_EXPRESSION, XSI, format_duration
from .layout import LaidOut, layout_process

NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "govflow": GOVFLOW}
TASK_OUTCOME_NAMES = {"approve": "通过", "reject": "不予通过", "return": "退回补正"}
CALL_OUTCOME_NAMES = {"approved": "准予", "rejected": "不予", "withdrawn": "撤回"}
TEMPLATE_KEYS = (
    "id",
    "title",
    "description",
    "legal_basis",
    "calendar",
    "time_limit",
    "statutory_limit",
    "form",
    "title_field",
    "verification",
    "catalog",
    "distinct_signers",
    "claim_required",
    "repeat_signer",
)
POOL_GAP = 40


def export_bpmn(
    source: str | bytes,
    *,
    handlers: Iterable[str] | None = None,
    departments: Mapping[str, Any] | None = None,
) -> bytes:
    """The template as BPMN XML (UTF-8). Raises the engine's InvalidDefinition
    when the template does not validate. `departments` maps codes to names
    (the first name labels the lane); unknown codes label their lane with
    the code."""
    definition = load_definition(source, handlers=handlers)
    raw = YAML(typ="rt", pure=True).load(source.decode("utf-8-sig") if isinstance(source, bytes) else source)
    return _Exporter(definition, raw, departments or {}).run()


def _b(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def _time_duration(definition: etree._Element, duration: dict) -> None:
    """The timer's ISO 8601 duration; calendar days (which BPMN cannot tell
    from working days) carry govflow:unit="calendar_days"."""
    el = etree.SubElement(definition, _b("timeDuration"))
    el.text = format_duration(duration)
    if duration.get("calendar_days") is not None:
        el.set(f"{{{GOVFLOW}}}unit", "calendar_days")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, date):
        return value
    return str(value)


class _Exporter:
    def __init__(self, definition: Definition, raw: Any, departments: Mapping[str, Any]) -> None:
        self.definition = definition
        self.raw = raw
        self.departments = departments
        self.used_ids: set[str] = set(definition.nodes)
        self.root = etree.Element(_b("definitions"), nsmap=NSMAP)
        self.root.set("id", self.fresh("definitions"))
        self.root.set("targetNamespace", "urn:govflow:process")
        self.root.set("exporter", "govflow")
        self.root.set("exporterVersion", "1")
        self.raw_nodes: dict[str, dict] = {}
        for item in raw.get("nodes") or []:
            self.raw_nodes[str(item["id"])] = item
        for sub in (raw.get("subprocesses") or {}).values():
            for item in sub.get("nodes") or []:
                self.raw_nodes[str(item["id"])] = item

    def fresh(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.used_ids:
            candidate = f"{base}_{n}"
            n += 1
        self.used_ids.add(candidate)
        return candidate

    def run(self) -> bytes:
        process_ids = [MAIN] + [pid for pid in self.definition.processes if pid != MAIN]
        self.messages: dict[str, str] = {}  # signal name -> BPMN message id
        self.bpmn_process = {pid: self.fresh(f"process_{self.process_name(pid)}") for pid in process_ids}
        collaboration = etree.SubElement(self.root, _b("collaboration"), id=self.fresh("collaboration"))
        participants = {}
        for pid in process_ids:
            participant = etree.SubElement(
                collaboration,
                _b("participant"),
                id=self.fresh(f"pool_{self.process_name(pid)}"),
                name=self.process_title(pid)["zh"],
                processRef=self.bpmn_process[pid],
            )
            participants[pid] = participant.get("id")
        diagram = etree.Element(f"{{{BPMNDI}}}BPMNDiagram", id=self.fresh("diagram"))
        plane = etree.SubElement(
            diagram, f"{{{BPMNDI}}}BPMNPlane", id=self.fresh("plane"), bpmnElement=collaboration.get("id")
        )
        top = 0.0
        for pid in process_ids:
            laid = self.process(pid)
            self.draw(plane, laid, participants[pid], top)
            top += laid.pool.h + POOL_GAP  # a running total: pools one below the other
        for signal, message_id in self.messages.items():  # root elements, before the diagram
            etree.SubElement(self.root, _b("message"), id=message_id, name=signal)
        self.root.append(diagram)
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def process_name(self, pid: str) -> str:
        return str(self.raw["id"]) if pid == MAIN else pid

    def process_title(self, pid: str) -> dict:
        if pid == MAIN:
            return dict(self.definition.title)
        return dict(self.definition.processes[pid].title or {"zh": pid, "en": pid})

    # -- one process ------------------------------------------------------------------------

    def process(self, pid: str) -> LaidOut:
        process = etree.SubElement(
            self.root,
            _b("process"),
            id=self.bpmn_process[pid],
            name=self.process_title(pid)["zh"],
            isExecutable="false",
        )
        self.extension_yaml(process, "template" if pid == MAIN else "subprocess", self.process_extension(pid))
        nodes = [n for n in self.definition.nodes.values() if n.process == pid]
        lanes = self.lanes(nodes)
        lane_set = etree.SubElement(process, _b("laneSet"), id=self.fresh(f"lanes_{self.process_name(pid)}"))
        lane_elements = []
        for index, (key, name) in enumerate(lanes):
            lane = etree.SubElement(
                lane_set, _b("lane"), id=self.fresh(f"lane_{self.process_name(pid)}_{index}")
            )
            lane.set("name", name)
            ext = etree.SubElement(etree.SubElement(lane, _b("extensionElements")), f"{{{GOVFLOW}}}lane")
            if key.startswith("role:"):
                ext.set("role", key[5:])
            else:
                ext.set("department", key)
            lane_elements.append(lane)
        lane_index = {key: i for i, (key, _) in enumerate(lanes)}
        shapes: list[tuple[str, str, int]] = []
        edges: list[tuple[str, str, str]] = []
        boundaries: dict[str, str] = {}
        self.flow_elements: list[etree._Element] = []
        self.kinds: dict[str, str] = {}

        def add_shape(node_id: str, shape: str, lane_key: str) -> None:
            shapes.append((node_id, shape, lane_index[lane_key]))
            etree.SubElement(lane_elements[lane_index[lane_key]], _b("flowNodeRef")).text = node_id

        def flow(source: str, target: str, *, name: str = "", condition: str | None = None) -> str:
            flow_id = self.fresh(f"flow_{source}_{target}"[:60])
            element = etree.Element(_b("sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target)
            if name:
                element.set("name", name[:80])
            if condition is not None:
                expr = etree.SubElement(element, _b("conditionExpression"))
                expr.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
                expr.set("language", GOVFLOW_EXPRESSION)
                expr.text = condition
            self.flow_elements.append(element)
            edges.append((flow_id, source, target))
            return flow_id

        for node in nodes:
            raw = self.raw_nodes.get(node.id, {})
            lane_key = self.lane_key(node)
            title = dict(node.title) if node.title else None
            name = (title or {}).get("zh", "")
            ext: dict[str, Any] = {}
            if title:
                ext["title"] = title
            if isinstance(raw.get("description"), dict):
                ext["description"] = _plain(raw["description"])
            tag = KINDS[node.type].bpmn_element
            if node.type == "start":
                el = self.element(process, tag, node.id, name)
                add_shape(node.id, "event", lane_key)
                flow(node.id, node.next[0])
            elif node.type == "end":
                el = self.element(process, tag, node.id, name)
                if node.terminate:
                    etree.SubElement(
                        el, _b("terminateEventDefinition"), id=self.fresh(f"{node.id}_terminate")
                    )
                ext["outcome"] = node.outcome
                if raw.get("certificates"):
                    ext["certificates"] = _plain(raw["certificates"])
                add_shape(node.id, "event", lane_key)
            elif node.type in ("user_task", "correction"):
                el = self.element(process, tag, node.id, name)
                add_shape(node.id, "task", lane_key)
                if node.type == "correction":
                    ext["type"] = "correction"
                    if "max_rounds" in node.settings:
                        ext["max_rounds"] = node.settings["max_rounds"]
                    flow(node.id, node.next[0])
                    if node.duration is not None and node.on_timeout:
                        timer = self.boundary(process, node.id, node.duration.as_dict(), interrupting=True)
                        boundaries[timer] = node.id
                        flow(timer, node.on_timeout)
                else:
                    self.user_task_extension(node, raw, ext)
                    self.outcome_flows(process, node, add_shape, flow, lane_key, TASK_OUTCOME_NAMES)
                    if node.sla is not None:
                        interrupting = node.sla.on_breach != "escalate"
                        timer = self.boundary(
                            process, node.id, node.sla.limit.as_dict(), interrupting=interrupting
                        )
                        boundaries[timer] = node.id
                        if interrupting:
                            flow(
                                timer,
                                node.outcomes[node.sla.on_breach],
                                name=TASK_OUTCOME_NAMES[node.sla.on_breach],
                            )
            elif node.type == "service_task":
                el = self.element(process, tag, node.id, name)
                ext["handler"] = node.handler
                if node.settings.get("inputs"):
                    ext["inputs"] = list(node.settings["inputs"])  # re-run after a correction
                add_shape(node.id, "task", lane_key)
                flow(node.id, node.next[0])
            elif node.type in ("parallel", "exclusive", "inclusive"):
                el = self.element(process, tag, node.id, name)
                add_shape(node.id, "gateway", lane_key)
                if node.branches:
                    for branch in node.branches:
                        if branch.default:
                            flow_id = flow(node.id, branch.target, name="默认")
                            el.set("default", flow_id)
                        else:
                            text = branch.condition.source if branch.condition is not None else "true"
                            flow(node.id, branch.target, name=_short(text), condition=text)
                else:
                    for target in node.next:
                        flow(node.id, target)
            elif node.type == "wait":
                el = self.element(process, tag, node.id, name)
                definition = etree.SubElement(
                    el, _b("timerEventDefinition"), id=self.fresh(f"{node.id}_timer_def")
                )
                _time_duration(definition, node.duration.as_dict())
                add_shape(node.id, "event", lane_key)
                flow(node.id, node.next[0])
            elif node.type == "signal":
                el = self.signal(process, node, name, add_shape, flow, lane_key)
                ext["signal"] = node.settings.get("signal", "")
            elif node.type == "call":
                el = self.element(process, tag, node.id, name)
                el.set("calledElement", self.bpmn_process[node.calls])
                add_shape(node.id, "task", lane_key)
                self.outcome_flows(process, node, add_shape, flow, lane_key, CALL_OUTCOME_NAMES)
            else:
                # A kind with no writer here: its BPMN element, its type and
                # YAML keys in govflow's extension, a flow to each successor.
                el = self.element(process, tag or "task", node.id, name)
                ext["type"] = node.type
                ext["settings"] = {
                    k: _plain(v) for k, v in raw.items() if k not in ("id", "type", "title", "description")
                }
                add_shape(node.id, KINDS[node.type].shape, lane_key)
                if node.type == "bundle":
                    self.bundle_items(el, node)
                # In the order of the outcomes' names, as the extension
                # holds them (sorted JSON), so that an import exports the same.
                by_outcome = [target for _outcome, target in sorted((node.outcomes or {}).items())]
                for target in dict.fromkeys([*by_outcome, *node.successors]):
                    flow(node.id, target)
            self.kinds[node.id] = node.type
            self.extension_json(el, ext)
            if isinstance(raw.get("description"), dict):
                documentation = etree.Element(_b("documentation"))
                documentation.text = str(raw["description"].get("zh", ""))
                el.insert(0, documentation)
        for element in self.flow_elements:
            process.append(element)
        laid = layout_process(
            nodes=shapes,
            lane_count=len(lanes),
            start=self.definition.processes[pid].start,
            edges=edges,
            boundaries=boundaries,
            top=0,
        )
        laid.lane_ids = [lane.get("id") for lane in lane_elements]  # type: ignore[attr-defined]
        return laid

    def bundle_items(self, el: etree._Element, node) -> None:
        """一件事: the bundle's sub-process element holds a call activity per
        item, calling the item's process (no flows: the items run side by
        side; their order, `after` and `when` travel in govflow's extension).
        A viewer sees what the bundle runs; the importer follows the calls."""
        for item in node.items:
            process = self.definition.processes[item.id]
            call = etree.SubElement(
                el,
                _b("callActivity"),
                id=self.fresh(f"{node.id}_{item.id}"),
                name=dict(process.title or {"zh": item.id}).get("zh", item.id),
            )
            call.set("calledElement", self.bpmn_process[item.id])

    def signal(self, process, node, name: str, add_shape, flow, lane_key: str) -> etree._Element:
        """A wait for a message: an intermediate catch event with a message
        definition; with a deadline, an event-based gateway choosing between
        that event and a timer event (what BPMN draws for "the message, or
        else after n days"). The govflow node's id stays on the first element."""
        signal = node.settings.get("signal", "")
        message_id = self.messages.get(signal)
        if message_id is None:
            message_id = self.messages[signal] = self.fresh(f"message_{signal}")

        def catch_message(element_id: str, label: str) -> etree._Element:
            el = self.element(process, "intermediateCatchEvent", element_id, label)
            etree.SubElement(
                el, _b("messageEventDefinition"), id=self.fresh(f"{element_id}_def"), messageRef=message_id
            )
            add_shape(element_id, "event", lane_key)
            flow(element_id, node.next[0])
            return el

        if node.duration is None:
            return catch_message(node.id, name)
        gateway = self.element(process, "eventBasedGateway", node.id, name)
        add_shape(node.id, "gateway", lane_key)
        message = self.fresh(f"{node.id}_message")
        catch_message(message, signal)
        flow(node.id, message)
        timer = self.fresh(f"{node.id}_deadline")
        el = self.element(process, "intermediateCatchEvent", timer, "期限届满")
        definition = etree.SubElement(el, _b("timerEventDefinition"), id=self.fresh(f"{timer}_def"))
        _time_duration(definition, node.duration.as_dict())
        add_shape(timer, "event", lane_key)
        flow(node.id, timer)
        flow(timer, node.on_timeout or "")
        return gateway

    def element(self, process: etree._Element, tag: str, node_id: str, name: str) -> etree._Element:
        el = etree.SubElement(process, _b(tag), id=node_id)
        if name:
            el.set("name", name)
        return el

    def boundary(self, process: etree._Element, host: str, duration: dict, *, interrupting: bool) -> str:
        timer_id = self.fresh(f"{host}_timer")
        el = etree.SubElement(process, _b("boundaryEvent"), id=timer_id, attachedToRef=host)
        el.set("cancelActivity", "true" if interrupting else "false")
        definition = etree.SubElement(el, _b("timerEventDefinition"), id=self.fresh(f"{timer_id}_def"))
        _time_duration(definition, duration)
        return timer_id

    def outcome_flows(self, process, node, add_shape, flow, lane_key: str, names: dict[str, str]) -> None:
        targets = dict(node.outcomes)
        if len(targets) == 1:
            ((outcome, target),) = targets.items()
            flow(node.id, target)
            return
        gateway_id = self.fresh(f"{node.id}_outcome")
        etree.SubElement(
            process,
            _b("exclusiveGateway"),
            id=gateway_id,
            name="结果" if names is TASK_OUTCOME_NAMES else "结论",
        )
        add_shape(gateway_id, "gateway", lane_key)
        flow(node.id, gateway_id)
        for outcome, target in targets.items():
            flow(
                gateway_id,
                target,
                name=names.get(outcome, outcome),
                condition=f'decision.{node.id} == "{outcome}"',
            )

    def user_task_extension(self, node, raw: dict, ext: dict) -> None:
        if node.countersign is not None:
            ext["countersign"] = {"mode": node.countersign.mode, "signers": list(node.countersign.signers)}
            if not node.countersign.distinct_people:  # the opt-out (true is the default)
                ext["countersign"]["distinct_people"] = False
            if node.countersign.pass_ratio is not None:
                ext["countersign"]["pass_ratio"] = str(node.countersign.pass_ratio)
            if node.countersign.weights:
                ext["countersign"]["weights"] = list(node.countersign.weights)
            if raw.get("department"):
                ext["department"] = str(raw["department"])
        if node.clearance:
            ext["clearance"] = list(node.clearance)
        if node.return_to is not None:
            ext["return_to"] = list(node.return_to) or "none"
        if node.transfer is None:
            ext["transfer"] = "none"
        elif node.transfer.to is not None or node.transfer.via != "queue":
            ext["transfer"] = {"to": list(node.transfer.to) if node.transfer.to is not None else "any"}
            ext["transfer"]["via"] = node.transfer.via
        for key in ("cc", "batch", "extension", "claim_required"):  # 抄送, 批量审批, 延期, 签收, as written
            if key in raw:
                ext[key] = _plain(raw[key])
        if raw.get("clock") in ("counted", "excluded"):
            ext["clock"] = str(raw["clock"])
        elif isinstance(raw.get("clock"), dict):  # the long form: scope, expected length, legal basis
            ext["clock"] = _plain(raw["clock"])
        if node.sla is not None:
            sla: dict[str, Any] = {}
            if node.sla.remind_at is not None:
                sla["remind_at"] = node.sla.remind_at
            if node.sla.legal_basis:
                sla["legal_basis"] = node.sla.legal_basis
            if sla:
                ext["sla"] = sla

    def lanes(self, nodes) -> list[tuple[str, str]]:
        lanes = [("role:process", "流程")]
        for node in nodes:
            key = self.lane_key(node)
            if key not in [k for k, _ in lanes]:
                if key == "role:applicant":
                    lanes.append((key, "申请人"))
                else:
                    names = self.departments.get(key)
                    label = names[0] if isinstance(names, list | tuple) and names else (names or key)
                    lanes.append((key, str(label)))
        return lanes

    @staticmethod
    def lane_key(node) -> str:
        lane = KINDS[node.type].lane
        if lane == "applicant":
            return "role:applicant"
        if lane == "department" and node.department:
            return node.department
        return "role:process"

    def process_extension(self, pid: str) -> dict:
        if pid == MAIN:
            return {k: _plain(self.raw[k]) for k in TEMPLATE_KEYS if k in self.raw}
        sub = self.raw["subprocesses"][pid]
        values = {"id": pid, "title": _plain(sub["title"])}
        if "description" in sub:
            values["description"] = _plain(sub["description"])
        return values

    def extension_yaml(self, element: etree._Element, what: str, values: dict) -> None:
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.allow_unicode = True
        yaml.width = 4096
        stream = io.StringIO()
        yaml.dump(values, stream)
        ext = etree.SubElement(element, _b("extensionElements"))
        etree.SubElement(ext, f"{{{GOVFLOW}}}{what}").text = etree.CDATA(stream.getvalue())

    def extension_json(self, element: etree._Element, values: dict) -> None:
        if not values:
            return
        ext = etree.Element(_b("extensionElements"))
        node = etree.SubElement(ext, f"{{{GOVFLOW}}}node")
        node.text = json.dumps(values, ensure_ascii=False, sort_keys=True)
        element.insert(0, ext)

    # -- diagram interchange ---------------------------------------------------------------------

    def draw(self, plane: etree._Element, laid: LaidOut, participant: str, top: float) -> None:
        def shape(element_id: str, box, **attrs) -> None:
            s = etree.SubElement(
                plane, f"{{{BPMNDI}}}BPMNShape", id=self.fresh(f"{element_id}_di"), bpmnElement=element_id
            )
            for key, value in attrs.items():
                s.set(key, value)
            etree.SubElement(
                s, f"{{{DC}}}Bounds", x=_n(box.x), y=_n(box.y + top), width=_n(box.w), height=_n(box.h)
            )

        shape(participant, laid.pool, isHorizontal="true")
        for lane_id, box in zip(laid.lane_ids, laid.lanes, strict=True):  # type: ignore[attr-defined]
            shape(lane_id, box, isHorizontal="true")
        for node_id, box in laid.nodes.items():
            extra = {"isMarkerVisible": "true"} if self.kinds.get(node_id) == "exclusive" else {}
            shape(node_id, box, **extra)
        for node_id, box in laid.boundaries.items():
            shape(node_id, box)
        for flow_id, points in laid.edges.items():
            edge = etree.SubElement(
                plane, f"{{{BPMNDI}}}BPMNEdge", id=self.fresh(f"{flow_id}_di"), bpmnElement=flow_id
            )
            for x, y in points:
                etree.SubElement(edge, f"{{{DI}}}waypoint", x=_n(x), y=_n(y + top))


def _n(value: float) -> str:
    return str(round(value))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:39] + "…"
