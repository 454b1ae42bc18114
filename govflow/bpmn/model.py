"""The model between reading BPMN and writing YAML: the BPMN elements govflow
reads, the nodes, flows and lanes read from a file (`_Node`, `_Flow`,
`_Lane`), the import's result, and `Modeller`, the importer's steps that
fold the BPMN graph into govflow's shape (a review's outcome gateway into
its outcomes, timers, messages and signals).

Pure Python (lxml and the engine); no Django import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from govflow.engine.definition import CASE_OUTCOMES, TASK_OUTCOMES
from govflow.engine.kinds import KINDS
from govflow.engine.problems import Message

from .common import (
    BPMN,
    GOVFLOW,
    BpmnProblem,
    DurationError,
    joined,
    normalise,
    parse_duration,
    to_identifier,
)
from .conditions import ANSWERS, outcome_of_name

ACTIVITIES = {"task", "userTask", "serviceTask", "callActivity"}
CALLS = {"callActivity", "subProcess"}  # both become govflow `call` nodes
GATEWAYS = {kind.bpmn_element: kind.type for kind in KINDS.values() if kind.is_gateway}
EVENTS = {"startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent"}
# An event-based gateway is read only as "a message, or else a deadline":
# one message (or signal) catch and one timer catch after it (a signal node).
EVENT_GATEWAY = "eventBasedGateway"
MESSAGE_DEFINITIONS = ("messageEventDefinition", "signalEventDefinition")
FLOW_NODES = ACTIVITIES | {"subProcess", EVENT_GATEWAY} | set(GATEWAYS) | EVENTS
_DECISION = re.compile(r"""^\s*(?:[$#]\{\s*)?decision\.([A-Za-z0-9_.-]+)\s*==\s*(["'])([a-z]+)\2\s*\}?\s*$""")
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
    problem: Message | None = None


class Modeller:
    """The importer's folding steps (mixed into govflow.bpmn.importer._Importer)."""

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
                Message(
                    "the conditions after task '{task}' test {variables}, the reviewer's yes/no decision: "
                    "they became the task's outcomes ({outcomes}), not a form field the applicant would fill "
                    "in; check them",
                    task=node.bpmn_id,
                    variables=", ".join(sorted(variables)),
                    outcomes=", ".join(outcomes),
                ),
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
        faults: list[Message] = []
        for flow in gateway.outgoing:
            if not flow.name and flow.id == gateway.default_flow:
                continue  # an unnamed default flow: whatever the named ones leave (below)
            outcome = outcome_of_name(flow.name, question=gateway.name)
            if not flow.name:
                faults.append(Message("flow '{flow}' has no name", flow=flow.id))
            elif outcome is None and normalise(flow.name).strip("?？!！。.") in ANSWERS:
                faults.append(
                    Message(
                        "flow '{flow}' is named {name}, which answers the question {question}: whether that "
                        "means approval is not clear",
                        flow=flow.id,
                        name=repr(flow.name),
                        question=repr(gateway.name),
                    )
                )
            elif outcome is None:
                faults.append(
                    Message(
                        "flow '{flow}' is named {name}, which is no decision govflow knows",
                        flow=flow.id,
                        name=repr(flow.name),
                    )
                )
            elif outcome in chosen:
                first = chosen[outcome]
                faults.append(
                    Message(
                        "flows '{first}' ({first_name}) and '{flow}' ({name}) both mean {outcome}",
                        first=first.id,
                        first_name=repr(first.name),
                        flow=flow.id,
                        name=repr(flow.name),
                        outcome=outcome,
                    )
                )
            else:
                chosen[outcome] = flow
        unnamed_default = next(
            (f for f in gateway.outgoing if f.id == gateway.default_flow and not f.name), None
        )
        if unnamed_default is not None:
            if "approve" in chosen:
                faults.append(Message("the default flow '{flow}' has no name", flow=unnamed_default.id))
            else:
                chosen["approve"] = unnamed_default
        if not faults and "approve" not in chosen:
            faults.append(Message("no flow means approve"))
        what = (
            Message(
                "exclusive gateway '{gateway}' ({name})", gateway=gateway.bpmn_id, name=repr(gateway.name)
            )
            if gateway.name
            else Message("exclusive gateway '{gateway}'", gateway=gateway.bpmn_id)
        )
        if faults:
            gateway.routing_refused = True
            self.problem(
                Message(
                    "the flows of {gateway} carry no conditions, so the decision of task '{task}' must "
                    "choose between them by their names, but {faults}. Name each flow after a decision "
                    "(approve: 通过 / 同意 / 是 / yes / approve; reject: 不通过 / 不同意 / 否 / no / reject; "
                    "return: 退回 / 补正 / return) or give the flows conditions",
                    gateway=what,
                    task=node.bpmn_id,
                    faults=joined(faults),
                ),
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
            Message(
                "the flows of {gateway} carry no conditions: they became the decisions of task '{task}' "
                "({outcomes}); check them",
                gateway=what,
                task=node.bpmn_id,
                outcomes=", ".join(node.outcome_names),  # type: ignore[attr-defined]
            ),
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
                Message(
                    "the task has {count} timer boundary events; govflow takes one limit per task (an "
                    "interrupting timer, optionally with one earlier non-interrupting timer as a reminder)",
                    count=len(node.boundaries),
                ),
                node=node,
            )
            return
        for boundary in non_interrupting:
            for flow in boundary.outgoing:
                target = flow.target
                if target.kind != "endEvent" or len(target.incoming) != 1:
                    self.problem(
                        Message(
                            "a non-interrupting timer maps to govflow's escalation (the department head is "
                            "notified, the task stays open); its path to '{target}' cannot be kept: lead it "
                            "straight to an end event or to nothing",
                            target=target.bpmn_id,
                        ),
                        node=boundary,
                    )
                    return
            for flow in boundary.outgoing:
                flow.target.consumed = True
        if interrupting:
            node.sla_timer = interrupting[0]  # type: ignore[attr-defined]
            if len(interrupting[0].outgoing) != 1:
                self.problem(
                    Message(
                        "an interrupting timer needs exactly one outgoing sequence flow (where the case goes "
                        "when the limit passes)"
                    ),
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
                Message(
                    "the message {message} is received as the signal '{name}' "
                    "(POST /api/v1/cases/{{reference}}/signals/{name}/); rename it in the YAML if you like",
                    message=repr(original),
                    name=name,
                ),
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
                Message(
                    "an event-based gateway is read only as a wait for one message with a deadline: exactly "
                    "two outgoing flows, to one message (or signal) intermediate catch event and one timer "
                    "intermediate catch event, each with one incoming and one outgoing flow"
                ),
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
            self.problem(Message("a boundary or intermediate event here must be a timer"), node=event)
            return None
        duration_el = definition.find(f"{{{BPMN}}}timeDuration")
        if duration_el is None:
            self.problem(
                Message("the timer has no timeDuration (an ISO 8601 duration such as P10D)"), node=event
            )
            return None
        text = "".join(duration_el.itertext()).strip()
        try:
            parsed = parse_duration(text)
            if duration_el.get(f"{{{GOVFLOW}}}unit") == "calendar_days" and "days" in parsed:
                return {"calendar_days": parsed["days"]}
            return parsed
        except DurationError as exc:
            self.problem(Message("timer duration: {problem}", problem=exc.message), node=event)
            return None


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
