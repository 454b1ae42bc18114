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

Three stages: govflow.bpmn.reading (the subset, the processes, their nodes,
flows and lanes), govflow.bpmn.model (what was read, folded into govflow's
shape) and govflow.bpmn.writing (the YAML); this module is the entry point,
`import_bpmn`, and the run that puts the stages together.

Pure Python (lxml, ruamel.yaml and the engine); no Django import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree
from ruamel.yaml.comments import CommentedMap

from govflow.engine import check_definition
from govflow.engine.definition import MAIN
from govflow.engine.problems import Message

from .common import (
    BPMN,
    ID_RE,
    BpmnError,
    BpmnProblem,
    lane_map_problem,
    local,
    namespace,
    normalise,
    parse_xml,
    to_identifier,
)
from .conditions import PLACEHOLDER_FIELD, Variables
from .model import ImportResult, Modeller, _element_id, _Flow, _Lane, _Node, decision_variable_outcome
from .reading import Reader
from .writing import Writer

__all__ = ["ImportResult", "decision_variable_outcome", "import_bpmn"]


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
        BpmnProblem(
            0, "", Message("--lane-map '{entry}': {problem}", entry=f"{lane}={code}", problem=message)
        )
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


class _Importer(Reader, Modeller, Writer):
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
            raise BpmnError(
                [
                    BpmnProblem(
                        root.sourceline or 1,
                        "",
                        Message(
                            "not a BPMN 2.0 file: the root element is <{root}> in namespace {namespace}; "
                            "expected <definitions> in {bpmn}",
                            root=local(root.tag),
                            namespace=ns,
                            bpmn=BPMN,
                        )
                        if ns
                        else Message(
                            "not a BPMN 2.0 file: the root element is <{root}> (no namespace); "
                            "expected <definitions> in {bpmn}",
                            root=local(root.tag),
                            bpmn=BPMN,
                        ),
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
