"""Writing YAML: the govflow template built from the model, node by node
(titles, departments, outcomes, limits, gateways' branches and their
conditions), dumped in govflow's layout (`Writer`, mixed into
govflow.bpmn.importer._Importer).

Pure Python (ruamel.yaml and the engine); no Django import.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from govflow.engine.definition import CASE_OUTCOMES, MAIN
from govflow.engine.kinds import KINDS
from govflow.engine.loader import SLUG_RE
from govflow.engine.loader import _scan as scan_yaml
from govflow.engine.problems import Message

from .common import BPMN, BpmnProblem, to_identifier
from .conditions import PLACEHOLDER_FIELD, Condition, placeholder, translate
from .model import CALLS, EVENT_GATEWAY, GATEWAYS, _clean_name, _Flow, _govflow, _Node

# The kinds the exporter writes with an element of their own; any other kind
# comes back from the type and keys in its extension element.
_WRITTEN_KINDS = frozenset(
    {"start", "end", "user_task", "correction", "service_task", "parallel", "exclusive", "inclusive"}
    | {"wait", "signal", "call"}
)
GENERIC_LEGAL_BASIS = (
    "导入自 BPMN 计时边界事件 {id}，发布前请写明允许超期自动决定的本地规定。"
    " / Imported from BPMN timer boundary event {id}: cite the local rule that allows an automatic decision "
    "before publishing."
)
_NO_WAY_OUT = Message("has no outgoing sequence flow")
_CANNOT_RUN = "govflow cannot run this model: {problem}"
_CANNOT_RUN_RENAMED = "govflow cannot run this model ('{gid}' is '{element}' in the BPMN file): {problem}"
_QUOTED = re.compile(r"'([a-z][a-z0-9_]{0,63})'")


class Writer:
    """The importer's writing steps."""

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
        keys = ("verification", "title_field", "catalog", "distinct_signers", "claim_required")
        keys += ("repeat_signer",)
        for key in keys:
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
                Message(
                    "the conditions read the variable '{variable}': it became form field '{field}' ({type}); "
                    "give it proper labels and limits",
                    variable=original,
                    field=field_id,
                    type=spec["type"],
                )
            )
        return form

    def yaml_extension(self, element: etree._Element, what: str) -> dict:
        ext = _govflow(element, what)
        if ext is None:
            return {}
        text = "".join(ext.itertext())
        where = ext.sourceline or 0
        if len(text) > 1_000_000:
            self.problem(Message("govflow:{what} is too large", what=what), el=ext)
            return {}
        scanned = scan_yaml(text)
        if scanned:
            self.problem(
                Message("govflow:{what} is not valid: {problem}", what=what, problem=scanned[0].message),
                line=where + scanned[0].line - 1,
            )
            return {}
        try:
            value = YAML(typ="rt", pure=True).load(text)
        except (YAMLError, RecursionError) as exc:
            self.problem(
                Message(
                    "govflow:{what} is not valid YAML: {problem}",
                    what=what,
                    problem=str(getattr(exc, "problem", exc)),
                ),
                line=where,
            )
            return {}
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(Message("govflow:{what} must be a mapping", what=what), line=where)
            return {}
        return value

    def node_extension(self, node: _Node) -> dict:
        ext = _govflow(node.el, "node")
        if ext is None:
            return {}
        try:
            value = json.loads("".join(ext.itertext()) or "{}")
        except (ValueError, RecursionError):
            self.problem(Message("govflow:node is not valid JSON"), node=node)
            return {}
        if not isinstance(value, dict):
            self.problem(Message("govflow:node must be a JSON object"), node=node)
            return {}
        return value

    def process_nodes(self, pid: str) -> CommentedSeq:
        members = [n for n in self.nodes.values() if n.process == pid]
        starts = [n for n in members if n.kind == "startEvent"]
        if len(starts) != 1:
            where = Message("the process") if pid == MAIN else Message("process '{process}'", process=pid)
            self.problem(
                Message(
                    "{where} has {count} start events; govflow needs exactly one none start event",
                    where=where,
                    count=len(starts),
                ),
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
                self.problem(Message("boundary events stand only on tasks"), node=node)
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
                    Message(
                        "a message (or signal) start event became the start: a govflow case starts when the "
                        "application is submitted, which is that message"
                    ),
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
                    Message(
                        "a service task needs govflow:handler naming a registered handler ({handlers}); "
                        "govflow never runs code from the file",
                        handlers=", ".join(sorted(self.handlers)) or Message("none registered"),
                    ),
                    node=node,
                )
            elif handler not in self.handlers:
                self.problem(
                    Message(
                        "service handler '{handler}' is not registered (registered: {handlers})",
                        handler=handler,
                        handlers=", ".join(sorted(self.handlers)),
                    ),
                    node=node,
                )
            item["handler"] = handler or ""
            if isinstance(ext.get("inputs"), list):
                item["inputs"] = _flow_seq(ext["inputs"])
            if node.boundaries:
                self.problem(
                    Message("govflow takes timers only on user tasks, not on service tasks"), node=node
                )
            self.single_next(item, node)
        elif kind in CALLS:
            item["type"] = "call"
            self.title(item, node, ext, required=True)
            called = node.bpmn_id if kind == "subProcess" else node.el.get("calledElement", "")
            item["process"] = self.process_ids.get(called, "")
            if node.boundaries:
                self.problem(
                    Message("govflow takes timers only on user tasks, not on call activities")
                    if kind == "callActivity"
                    else Message("govflow takes timers only on user tasks, not on sub-processes"),
                    node=node,
                )
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
                    Message("the deadline's timer event needs exactly one outgoing sequence flow"), node=timer
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
            self.problem(Message("<{kind}> is outside govflow's BPMN subset", kind=kind), node=node)
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
                self.note(Message("documentation longer than 2000 characters was cut"), node=node)
                docs = docs[:1999] + "…"
            item["description"] = _flow_map({"zh": docs, "en": docs})

    def write_end(self, item: CommentedMap, node: _Node, ext: dict) -> None:
        item["type"] = "end"
        self.title(item, node, ext, required=True)
        outcome = ext.get("outcome")
        if outcome not in CASE_OUTCOMES:
            if outcome is not None:
                self.problem(
                    Message(
                        "govflow:node outcome must be one of {outcomes}", outcomes=", ".join(CASE_OUTCOMES)
                    ),
                    node=node,
                )
            outcome = "approved"
            self.default_ends += 1
        item["outcome"] = outcome
        item["terminate"] = node.el.find(f"{{{BPMN}}}terminateEventDefinition") is not None
        if ext.get("certificates"):
            item["certificates"] = _yaml_value(ext["certificates"])
        if node.outgoing:
            self.problem(Message("an end event cannot have outgoing sequence flows"), node=node)

    def department(self, node: _Node) -> str | None:
        lane = node.lane
        if lane is not None and lane.department:
            return lane.department
        if lane is not None and lane.problem:
            if self.default_department:
                if lane not in self.defaulted_lanes:
                    self.defaulted_lanes.add(lane)
                    self.note(
                        Message(
                            "{problem}; its tasks went to the default department '{department}' (or map it "
                            "with --lane-map '{label}=CODE')",
                            problem=lane.problem,
                            department=self.default_department,
                            label=lane.name or lane.bpmn_id,
                        ),
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
            Message(
                "the task stands in no lane or pool naming a department; put it in a lane named after its "
                "department, or give --department CODE for such tasks ({known})",
                known=self.known_codes(),
            ),
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
        # 退回, 转办, 抄送, 批量审批, 延期, 签收, as written
        for key in ("return_to", "transfer", "cc", "batch", "extension", "claim_required"):
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
                    Message("the non-interrupting timer (a reminder) must fire before the interrupting one"),
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
                Message(
                    "the interrupting timer leads to '{target}', which is neither the task's approval nor "
                    "its rejection path; govflow decides a timed-out task approve or reject",
                    target=timer.outgoing[0].target.bpmn_id,
                ),
                node=timer,
            )
            return None
        sla["on_breach"] = on_breach
        basis = extra.get("legal_basis")
        if not isinstance(basis, str) or not basis.strip():
            basis = GENERIC_LEGAL_BASIS.format(id=timer.bpmn_id)
            self.note(
                Message(
                    "the interrupting timer decides the task '{outcome}' when it fires (silent consent or "
                    "refusal): write the local rule that allows it in sla.legal_basis",
                    outcome=on_breach,
                ),
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
                Message(
                    "an applicant's correction takes one interrupting timer (its deadline) and nothing else"
                ),
                node=node,
            )
        self.single_next(item, node)
        if interrupting:
            timer = interrupting[0]
            duration = self.timer_duration(timer)
            if len(timer.outgoing) != 1:
                self.problem(
                    Message("the deadline timer needs exactly one outgoing sequence flow"), node=timer
                )
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
            self.problem(_NO_WAY_OUT, node=node)
            return None
        if len(flows) == 1 and flows[0].condition is None:
            return self.entry_of(flows[0].target)
        if len(flows) == 1:
            self.note(Message("the condition on the only outgoing flow was ignored"), node=node)
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
            Message(
                "the activity has {count} outgoing flows (BPMN's implicit split); they start from "
                "{kind} gateway '{gateway}'",
                count=len(flows),
                kind=split["type"],
                gateway=split["id"],
            ),
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
                Message(
                    "the gateway both joins and splits; it became join '{join}' and split", join=join["id"]
                ),
                node=node,
            )
        item["type"] = kind
        self.title(item, node, ext, required=False)
        flows = node.outgoing
        if not flows:
            self.problem(_NO_WAY_OUT, node=node)
            return
        if len(flows) == 1:
            if flows[0].condition is not None:
                self.note(Message("the condition on the gateway's only outgoing flow was ignored"), node=node)
            item["next"] = self.entry_of(flows[0].target)
        elif kind == "parallel":
            if any(f.condition is not None for f in flows):
                self.problem(
                    Message("the flows leaving a parallel gateway cannot carry conditions"), node=node
                )
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
            self.problem(
                Message("the default flow '{flow}' does not leave this element", flow=default_id), node=node
            )
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
                            Message(
                                "the condition {original} was translated to {text}; check it",
                                original=repr(condition.original),
                                text=repr(condition.text),
                            ),
                            line=flow.line,
                            element=flow.id,
                        )
                    branch["when"] = condition.text
            seq.append(_flow_map(branch))
        if exclusive:
            always = [b["to"] for b in seq if b.get("when") == "true"]
            if len(always) > 1:
                self.problem(
                    Message(
                        "{gateway}: the conditions of {count} flows are always true, so only the first could "
                        "ever be taken; give them conditions that tell them apart",
                        gateway=_gateway_label(node),
                        count=len(always),
                    ),
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
                Message(
                    "flow '{flow}' of {gateway} has no condition: it became the default branch (taken when "
                    "no other condition holds)",
                    flow=bare[0].id,
                    gateway=_gateway_label(node),
                ),
                line=bare[0].line,
                element=bare[0].id,
            )
            return bare[0].id
        named = ", ".join(f"'{f.id}'" + (f" ({f.name!r})" if f.name else "") for f in bare)
        if conditioned or default_id:
            self.problem(
                Message(
                    "flows {flows} of {gateway} carry no condition besides the default flow; an exclusive "
                    "gateway takes one flow, so give each a condition (one may be the default flow)",
                    flows=named,
                    gateway=_gateway_label(node),
                )
                if default_id
                else Message(
                    "flows {flows} of {gateway} carry no condition besides one another; an exclusive gateway "
                    "takes one flow, so give each a condition (one may be the default flow)",
                    flows=named,
                    gateway=_gateway_label(node),
                ),
                node=node,
            )
            return False
        before = [self.nodes[b] for b in _sources(node) if b in self.nodes]
        after_correction = (
            len(before) == 1 and before[0].kind in ("task", "userTask") and self.is_correction(before[0])
        )
        where = (
            Message("it follows an applicant's correction, whose submission decides nothing")
            if after_correction
            else Message(
                "it does not stand right after a department's review task, whose decision could choose"
            )
        )
        self.problem(
            Message(
                "none of the {count} flows ({flows}) leaving {gateway} carries a condition, so nothing "
                "chooses between them; {where}. Give each flow a condition (one may be the default flow), "
                "or put the gateway right after the review task and name its flows after the decision "
                "(通过 / 不通过 / 退回, approve / reject / return)",
                count=len(flows),
                flows=named,
                gateway=_gateway_label(node),
                where=where,
            ),
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
        because = Message(" ({reason})", reason=condition.reason) if condition.reason else ""
        if not self.keep_conditions:
            self.problems.append(
                BpmnProblem(
                    flow.line,
                    flow.id,
                    Message(
                        "the condition {condition} (language {language}) cannot be translated into "
                        "govflow's condition language{because}; rewrite it in the model "
                        "(docs/process-language.md section 14), or import with --keep-conditions to keep it "
                        "as a placeholder for an admin to edit",
                        condition=repr(original),
                        language=language,
                        because=because,
                    ),
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
            Message(
                "the condition {condition} (language {language}) could not be translated{because}; it "
                "stands as a placeholder naming '{field}', which fails validation until an admin rewrites it",
                condition=repr(original),
                language=language,
                because=because,
                field=PLACEHOLDER_FIELD,
            ),
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
                if gid == node.bpmn_id:
                    return BpmnProblem(node.line, node.bpmn_id, Message(_CANNOT_RUN, problem=message))
                renamed = Message(_CANNOT_RUN_RENAMED, gid=gid, element=node.bpmn_id, problem=message)
                return BpmnProblem(node.line, node.bpmn_id, renamed)
        return BpmnProblem(0, "", Message(_CANNOT_RUN, problem=message))


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


def _gateway_label(node: _Node) -> Message:
    if node.name:
        return Message("exclusive gateway '{gateway}' ({name})", gateway=node.bpmn_id, name=repr(node.name))
    return Message("exclusive gateway '{gateway}'", gateway=node.bpmn_id)


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
