"""`user_task`: a review by one department, or a countersign (several
signature tasks: all of them, any one, or in turn), with outcomes such as
approve / reject / return, an optional SLA in working time (reminder, and on
breach: escalate or decide by silent consent), clearance for secret fields,
and optionally excluded from the statutory clock."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .. import operations
from ..definition import (
    ANY_TRANSFER,
    BREACH_ACTIONS,
    CLOCK_SCOPES,
    COUNTERSIGN_MODES,
    DEFAULT_EXTENSION,
    MAX_EXTENSIONS,
    TASK_OUTCOMES,
    TRANSFER_VIA,
    Countersign,
    Extension,
    Node,
    Sla,
    Transfer,
)
from ..effects import Notify, TaskCompleted, TimeExcluded, TimerCancelled
from ..events import AddSigner, CompleteTask, ExtendTask, RemoveSigner, ReturnTask, TransferTask
from ..loading.positions import item_pos, key_pos, value_pos
from ..loading.primitives import DURATION_KEYS
from ..notices import check_rounds, pending_notice
from ..problems import IllegalEvent, Message
from .base import NodeKind, read_claim_required

CLOCK_KEYS = ("excluded", "scope", "expected", "legal_basis")

if TYPE_CHECKING:
    from .base import Machine, Reader


#: roles a template may copy a step to (抄送); department_head means the heads
#: of the step's own department.
CC_ROLES = ("department_head", "leader", "auditor")


class UserTask(NodeKind):
    type = "user_task"
    keys = frozenset(
        {
            "department",
            "outcomes",
            "sla",
            "countersign",
            "clearance",
            "clock",
            "cc",
            "batch",
            "return_to",
            "transfer",
            "extension",
            "claim_required",
        }
    )
    waits = True
    decides = True
    has_results = True
    colours = ("#e8f0fb", "#1f4e8c", "")
    bpmn_element = "userTask"
    lane = "department"
    events = {
        CompleteTask: "complete",
        ReturnTask: "return_to_step",
        TransferTask: "transfer",
        ExtendTask: "extend",
        AddSigner: "add_signer",
        RemoveSigner: "remove_signer",
    }

    # reading ------------------------------------------------------------------

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "countersign" in item:
            sign = reader.mapping(
                item["countersign"], value_pos(item, "countersign"), Message("{what} countersign", what=what)
            )
            if sign is not None:
                reader.keys(
                    sign,
                    ("mode", "signers", "distinct_people", "pass_ratio", "weights"),
                    ("mode", "signers"),
                    Message("{what} countersign", what=what),
                )
                # 审批人去重: N signers are N different people unless the template opts out.
                distinct_people = reader.boolean(
                    sign, "distinct_people", Message("{what} countersign", what=what), True
                )
                mode = sign.get("mode")
                if "mode" in sign and mode not in COUNTERSIGN_MODES:
                    reader.err(
                        value_pos(sign, "mode"),
                        Message(
                            "{what} countersign 'mode' must be one of {COUNTERSIGN_MODES}",
                            what=what,
                            COUNTERSIGN_MODES=", ".join(COUNTERSIGN_MODES),
                        ),
                    )
                signers: list[str] = []
                raw = (
                    reader.seq(
                        sign.get("signers"), value_pos(sign, "signers"), Message("{what} signers", what=what)
                    )
                    or []
                )
                for index, value in enumerate(raw):
                    pos = item_pos(raw, index, value_pos(sign, "signers"))
                    dept = reader.department(value, pos, Message("{what} signers", what=what))
                    if dept and dept in signers and not distinct_people:
                        # One person could otherwise sign every task of the department.
                        reader.err(
                            pos,
                            Message(
                                "{what} countersign names department '{dept}' twice with "
                                "distinct_people: false; one person could sign both, so drop the "
                                "opt-out (two different people of the department then sign) or name "
                                "the department once",
                                what=what,
                                dept=dept,
                            ),
                        )
                    if dept:
                        signers.append(dept)
                if "signers" in sign and len(raw) < 2:
                    reader.err(
                        value_pos(sign, "signers"),
                        Message("{what}: a countersign needs at least two signers", what=what),
                    )
                ratio, weights = read_vote(reader, sign, mode, len(raw), what)
                if mode in COUNTERSIGN_MODES and len(signers) >= 2:
                    node.countersign = Countersign(
                        mode=str(mode),
                        signers=tuple(signers),
                        distinct_people=distinct_people,
                        pass_ratio=ratio,
                        weights=weights,
                    )
            if "department" in item:
                reader.department(
                    item["department"], value_pos(item, "department"), Message("{what} department", what=what)
                )
                node.department = str(item["department"]) if isinstance(item["department"], str) else None
        elif "department" not in item:
            reader.err(
                (node.line, node.col), Message("{what} is missing required key 'department'", what=what)
            )
        else:
            node.department = reader.department(item["department"], value_pos(item, "department"), what)
        node.outcomes = reader.outcomes(node, item, what, TASK_OUTCOMES, "approve")
        if node.countersign is not None and node.countersign.mode == "vote" and "reject" not in node.outcomes:
            reader.err(
                (node.line, node.col),
                Message("{what}: a vote (mode: vote) needs a 'reject' outcome for a lost vote", what=what),
            )
        read_flow_keys(reader, node, item, what)
        if "sla" in item:
            node.sla = self.sla(reader, item, what)
        if "clearance" in item:
            raw = (
                reader.seq(
                    item["clearance"], value_pos(item, "clearance"), Message("{what} clearance", what=what)
                )
                or []
            )
            cleared = []
            for index, value in enumerate(raw):
                if not isinstance(value, str):
                    reader.err(
                        item_pos(raw, index, value_pos(item, "clearance")),
                        Message("{what} clearance names a field id", what=what),
                    )
                else:
                    cleared.append((value, item_pos(raw, index, value_pos(item, "clearance"))))
            node.clearance = tuple(str(v) for v, _ in cleared)
            reader.clearance_positions[node.id] = dict(cleared)
        if "clock" in item:
            self.read_clock(reader, node, item, what)
            if node.clock_excluded and node.sla is not None:
                reader.err(
                    key_pos(item, "sla"),
                    Message("{what}: a step excluded from the clock cannot have an SLA", what=what),
                )
        if "cc" in item:
            self.read_cc(reader, node, item, what)
        if "batch" in item:
            # 批量审批: reviewers may approve several tasks of this node at once.
            node.settings["batch"] = reader.boolean(item, "batch", what, False)
        read_claim_required(reader, node, item, what)
        self.read_extension(reader, node, item, what)

    def read_extension(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        """延期: `extension: none`, or `{days: N | hours: N, max: M}`; a step
        with an SLA may be extended by 10 working days once by default."""
        node.extension = DEFAULT_EXTENSION if node.sla is not None else None
        if "extension" not in item:
            return
        value = item["extension"]
        if value == "none":
            node.extension = None
            return
        spec = reader.mapping(value, value_pos(item, "extension"), Message("{what} extension", what=what))
        if spec is None:
            return
        reader.keys(spec, ("days", "hours", "max"), (), Message("{what} extension", what=what))
        limit = DEFAULT_EXTENSION.limit
        if "days" in spec or "hours" in spec:
            limit = reader.duration(spec, Message("{what} extension", what=what)) or limit
        most = DEFAULT_EXTENSION.max
        if "max" in spec:
            most = (
                reader.integer(
                    spec, "max", Message("{what} extension", what=what), minimum=1, maximum=MAX_EXTENSIONS
                )
                or most
            )
        if "sla" not in item:
            reader.err(
                key_pos(item, "extension"),
                Message(
                    "{what}: an extension moves the step's time limit, so the step needs an 'sla'", what=what
                ),
            )
            return
        node.extension = Extension(limit=limit, max=most)

    def read_cc(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        """抄送: `cc: [dept, ...]` or `cc: {departments: [..], roles: [..]}`; kept
        in `node.settings["cc"]` as {"departments": [...], "roles": [...]}."""
        raw = item["cc"]
        pos = value_pos(item, "cc")
        departments: list[str] = []
        roles: list[str] = []
        if isinstance(raw, list):
            listed, listed_pos = raw, pos
        else:
            mapping = reader.mapping(raw, pos, Message("{what} cc", what=what))
            if mapping is None:
                return
            reader.keys(mapping, ("departments", "roles"), (), Message("{what} cc", what=what))
            listed = reader.seq(
                mapping.get("departments", []),
                value_pos(mapping, "departments"),
                Message("{what} cc", what=what),
            )
            listed = listed or []
            listed_pos = value_pos(mapping, "departments") if "departments" in mapping else pos
            for index, value in enumerate(
                reader.seq(
                    mapping.get("roles", []),
                    value_pos(mapping, "roles"),
                    Message("{what} cc roles", what=what),
                )
                or []
            ):
                if value not in CC_ROLES:
                    reader.err(
                        item_pos(mapping["roles"], index, value_pos(mapping, "roles")),
                        Message(
                            "{what} cc roles must be among {CC_ROLES}, not {value}",
                            what=what,
                            CC_ROLES=", ".join(CC_ROLES),
                            value=repr(value),
                        ),
                    )
                elif value not in roles:
                    roles.append(str(value))
        for index, value in enumerate(listed):
            dept = reader.department(
                value, item_pos(listed, index, listed_pos), Message("{what} cc", what=what)
            )
            if dept and dept not in departments:
                departments.append(dept)
        node.settings["cc"] = {"departments": departments, "roles": roles}

    def sla(self, reader: Reader, item: Any, what: str) -> Sla | None:
        sla = reader.mapping(item["sla"], value_pos(item, "sla"), Message("{what} sla", what=what))
        if sla is None:
            return None
        reader.keys(
            sla,
            (*DURATION_KEYS, "remind_at", "on_breach", "legal_basis"),
            (),
            Message("{what} sla", what=what),
        )
        limit = reader.duration(sla, Message("{what} sla", what=what))
        remind_at = reader.number(
            sla, "remind_at", Message("{what} sla", what=what), minimum=0, maximum=0.99, exclusive_min=True
        )
        on_breach = sla.get("on_breach", "escalate")
        if on_breach not in BREACH_ACTIONS:
            reader.err(
                value_pos(sla, "on_breach"),
                Message(
                    "{what} sla 'on_breach' must be one of {BREACH_ACTIONS}",
                    what=what,
                    BREACH_ACTIONS=", ".join(BREACH_ACTIONS),
                ),
            )
            on_breach = "escalate"
        legal_basis = reader.text(sla, "legal_basis", Message("{what} sla", what=what), max_length=2000)
        if on_breach in ("approve", "reject") and legal_basis is None:
            reader.err(
                value_pos(sla, "on_breach"),
                Message(
                    "{what}: automatic '{on_breach}' on breach needs a 'legal_basis' (the "
                    "local rule that allows it)",
                    what=what,
                    on_breach=on_breach,
                ),
            )
        if on_breach in ("approve", "reject") and on_breach not in outcomes_of(item):
            reader.err(
                value_pos(sla, "on_breach"),
                Message(
                    "{what}: on_breach '{on_breach}' is not one of the node's outcomes",
                    what=what,
                    on_breach=on_breach,
                ),
            )
        if limit is None:
            return None
        return Sla(limit=limit, remind_at=remind_at, on_breach=str(on_breach), legal_basis=legal_basis)

    # graph ------------------------------------------------------------------

    def read_clock(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        """`clock: counted | excluded`, or `clock: {excluded: true, scope:
        branch | case, expected: {days: N}, legal_basis: ...}` (art 45)."""
        clock = item["clock"]
        if isinstance(clock, dict):
            reader.keys(clock, CLOCK_KEYS, ("excluded",), Message("{what} clock", what=what))
            node.clock_excluded = reader.boolean(clock, "excluded", Message("{what} clock", what=what), False)
            scope = clock.get("scope", "branch")
            if scope not in CLOCK_SCOPES:
                reader.err(
                    value_pos(clock, "scope"),
                    Message("{what} clock 'scope' must be 'branch' or 'case'", what=what),
                )
                scope = "branch"
            node.clock_scope = str(scope)
            if "expected" in clock:
                at = value_pos(clock, "expected")
                expected = reader.mapping(clock["expected"], at, Message("{what} clock expected", what=what))
                if expected is not None:
                    reader.keys(expected, DURATION_KEYS, (), Message("{what} clock expected", what=what))
                    node.clock_expected = reader.duration(
                        expected, Message("{what} clock expected", what=what)
                    )
            node.clock_legal_basis = reader.text(
                clock, "legal_basis", Message("{what} clock", what=what), max_length=2000
            )
            if not node.clock_excluded and len(clock) > 1:
                reader.err(
                    value_pos(item, "clock"),
                    Message(
                        "{what} clock: 'scope', 'expected' and 'legal_basis' belong to an excluded step",
                        what=what,
                    ),
                )
            return
        if clock not in ("counted", "excluded"):
            reader.err(
                value_pos(item, "clock"), Message("{what} 'clock' must be 'counted' or 'excluded'", what=what)
            )
        node.clock_excluded = clock == "excluded"
        node.clock_scope = "branch"

    def successors(self, node: Node) -> tuple[str, ...]:
        return tuple(dict.fromkeys(node.outcomes.values()))

    def holds_clock(self, node: Node) -> bool:
        return node.clock_excluded

    # runtime ----------------------------------------------------------------

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        state = machine.state
        round_ = machine.next_round(node.id)
        state["decisions"].pop(node.id, None)
        if node.clock_excluded:
            machine.pause(node.id, token)
            machine.effects.append(TimeExcluded(node.id, node.clock_scope))
        sign = node.countersign
        if sign is None:
            token["tasks"] = [machine.create_task(token_id, node, "review", node.department, round_, None)]
            return
        token["signatures"] = []
        if sign.mode == "sequential":
            token["tasks"] = [machine.create_task(token_id, node, "signature", sign.signers[0], round_, 0)]
        else:
            token["tasks"] = [
                machine.create_task(token_id, node, "signature", dept, round_, index)
                for index, dept in enumerate(sign.signers)
            ]

    def complete(self, machine: Machine, event: CompleteTask, task: dict, node: Node) -> None:
        if event.outcome not in node.outcomes:
            raise IllegalEvent(
                Message(
                    "outcome '{outcome}' is not offered at '{node}' (offered: {offered})",
                    outcome=event.outcome,
                    node=node.id,
                    offered=", ".join(node.outcomes),
                ),
                code="outcome_not_offered",
            )
        if task.get("waiting"):
            raise IllegalEvent(
                Message("a signer added before you has not approved yet"), code="waiting_for_added_signer"
            )
        target = node.outcomes[event.outcome]
        check_rounds(machine, node, target)
        if event.notice:
            if machine.nodes[target].type != "correction":
                raise IllegalEvent(
                    Message("a correction notice goes only with an outcome that leads to a correction"),
                    code="notice_not_allowed",
                )
            pending_notice(machine, node, event.notice, required=False)
        if task.get("added"):
            self.added_signed(machine, event, task, node)
            return
        if task["kind"] == "signature":
            refuse_second_signature(machine.state, task, node, event.actor)
        self.decide(
            machine, event.task_id, task, node, event.outcome, event.actor, event.opinion, event.data, None
        )

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        task_id = timer["task"]
        task = machine.state["tasks"][task_id]
        if timer["kind"] == "sla_reminder":
            machine.effects.append(Notify("reminder", node.id, task_id, task["department"]))
            return
        # sla_breach
        sla = node.sla
        assert sla is not None
        if sla.on_breach == "escalate" or task.get("added") or task.get("waiting"):
            # An added signer's lateness (or a reviewer waiting for one) is
            # escalated; silent consent is for the statutory step, not for them.
            task["escalated"] = True
            machine.effects.append(Notify("escalation", node.id, task_id, task["department"]))
        else:
            self.decide(machine, task_id, task, node, sla.on_breach, None, None, None, sla.legal_basis or "")

    def return_to_step(self, machine: Machine, event: ReturnTask, task: dict, node: Node) -> None:
        operations.return_task(machine, event, task, node)

    def transfer(self, machine: Machine, event: TransferTask, task: dict, node: Node) -> None:
        operations.transfer_task(machine, event, task, node)

    def extend(self, machine: Machine, event: ExtendTask, task: dict, node: Node) -> None:
        operations.extend_task(machine, event, task, node)

    def add_signer(self, machine: Machine, event: AddSigner, task: dict, node: Node) -> None:
        operations.add_signer(machine, event, task, node)

    def remove_signer(self, machine: Machine, event: RemoveSigner, task: dict, node: Node) -> None:
        released = operations.remove_signer(machine, event, task, node)
        if released is not None:
            self.release_held(machine, *released, node)

    def decide(
        self,
        machine: Machine,
        task_id: str,
        task: dict,
        node: Node,
        outcome: str,
        actor: str | None,
        opinion: str | None,
        data: Mapping[str, Any] | None,
        legal_basis: str | None,
    ) -> None:
        state = machine.state
        del state["tasks"][task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == task_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        silent = legal_basis is not None
        machine.effects.append(TaskCompleted(task_id, node.id, outcome, silent, legal_basis))
        token_id = task["token"]
        token = state["tokens"][token_id]
        token["tasks"].remove(task_id)
        decision = {
            "outcome": outcome,
            "round": task["round"],
            "by": actor,
            "opinion": opinion,
            "at": machine.now,
        }
        if silent:
            decision["silent_consent"] = True
            decision["legal_basis"] = legal_basis
        if data:
            state["results"][node.id] = dict(data)
        if outcome == "approve" and task.get("after"):
            # 后加签: the approval counts once the signers added after it approve.
            waiting = [
                operations.add_task(machine, token_id, node, dept, task_id, "after", task["round"])
                for dept in task["after"]
            ]
            token.setdefault("held", {})[task_id] = {
                "task": task,
                "outcome": outcome,
                "decision": decision,
                "waiting": waiting,
            }
            return
        self.settle(machine, token_id, token, node, task, outcome, decision)

    def settle(
        self,
        machine: Machine,
        token_id: str,
        token: dict,
        node: Node,
        task: dict,
        outcome: str,
        decision: dict,
        final: str | None = None,
    ) -> None:
        """A decision (or a signature) counts: move on once the node's outcome
        is known. `final` forces the outcome (an added signer's refusal)."""
        state = machine.state
        sign = node.countersign
        if final is None:
            if sign is None:
                final = outcome
            else:
                signatures = token["signatures"]
                signatures.append({"signer": task["signer"], "department": task["department"], **decision})
                final = self.countersign_outcome(machine, token_id, token, node, outcome)
                if final is None:
                    return
                decision["signatures"] = signatures
        elif sign is not None:
            decision["signatures"] = token.get("signatures", [])
        state["decisions"][node.id] = decision
        for other in list(token["tasks"]):
            machine.cancel_task(other, "decided")
        for key in ("tasks", "signatures", "held"):
            token.pop(key, None)
        if node.clock_excluded:
            machine.resume(node.id, token)
        back = token.get("come_back")
        if back is not None and back["at"] == node.id and final != "return":
            del token["come_back"]
            if final == "approve":
                machine.move(token_id, back["to"])  # 回到我: straight back to the step that returned it
                return
        machine.move(token_id, node.outcomes[final])

    def added_signed(self, machine: Machine, event: CompleteTask, task: dict, node: Node) -> None:
        """An added signer decided: an approval clears the way (before) or
        counts toward the held approval (after); a refusal decides the step."""
        if event.outcome not in ("approve", "reject"):
            raise IllegalEvent(Message("an added signer approves or rejects"), code="outcome_not_offered")
        state = machine.state
        info = task["added"]
        token_id = task["token"]
        token = state["tokens"][token_id]
        decision = {
            "outcome": event.outcome,
            "round": task["round"],
            "by": event.actor,
            "opinion": event.opinion,
            "at": machine.now,
            "added": info["position"],
        }
        operations._close(machine, event.task_id, task, node, event.outcome)
        token.setdefault("added_signatures", []).append({"department": task["department"], **decision})
        if event.outcome == "reject":
            self.settle(machine, token_id, token, node, task, "reject", decision, final="reject")
            return
        if info["position"] == "before":
            owner = state["tasks"].get(info["for"])
            if owner is not None and event.task_id in owner.get("waiting", ()):
                owner["waiting"].remove(event.task_id)
                if not owner["waiting"]:
                    del owner["waiting"]
            return
        held = token["held"][info["for"]]
        held["waiting"].remove(event.task_id)
        if not held["waiting"]:
            self.release_held(machine, token_id, info["for"], node)

    def release_held(self, machine: Machine, token_id: str, owner_id: str, node: Node) -> None:
        """Every signer added after an approval has approved (or was removed):
        the approval counts now."""
        token = machine.state["tokens"][token_id]
        held = token["held"].pop(owner_id)
        if not token["held"]:
            del token["held"]
        self.settle(machine, token_id, token, node, held["task"], held["outcome"], held["decision"])

    def countersign_outcome(
        self, machine: Machine, token_id: str, token: dict, node: Node, outcome: str
    ) -> str | None:
        """The node's outcome once this signature is in, or None while more are needed."""
        sign = node.countersign
        assert sign is not None
        if sign.mode == "vote":
            return self.vote_outcome(sign, token["signatures"], outcome)
        if sign.mode == "any" or outcome != "approve":
            return outcome
        done = len(token["signatures"])
        if done == len(sign.signers):
            return "approve"
        if sign.mode == "sequential":
            round_ = machine.state["rounds"][node.id]
            token["tasks"].append(
                machine.create_task(token_id, node, "signature", sign.signers[done], round_, done)
            )
        return None

    @staticmethod
    def vote_outcome(sign: Countersign, signatures: list[dict], outcome: str) -> str | None:
        """票签: approve as soon as the approving weight reaches the pass
        ratio, reject as soon as it no longer can; a return (for correction)
        decides at once."""
        if outcome not in ("approve", "reject"):
            return outcome
        assert sign.pass_ratio is not None
        total = sum(sign.weight(index) for index in range(len(sign.signers)))
        needed = sign.pass_ratio * total
        yes = sum(sign.weight(s["signer"]) for s in signatures if s["outcome"] == "approve")
        no = sum(sign.weight(s["signer"]) for s in signatures if s["outcome"] != "approve")
        if yes >= needed:
            return "approve"
        if total - no < needed:
            return "reject"
        return None


def round_signers(token: dict) -> list[str]:
    """Who has signed the countersign's round `token` is in: the signatures
    that count, and the approvals held for signers added after them (后加签:
    signed, counted once those signers approve). A signature taken back is
    in neither."""
    signed = [signature.get("by") for signature in token.get("signatures", ())]
    signed += [held["decision"].get("by") for held in token.get("held", {}).values()]
    return [person for person in signed if person is not None]


def refuse_second_signature(state: dict[str, Any], task: dict, node: Node, actor: str | None) -> None:
    """审批人去重: on a countersign with `distinct_people` (the default) no
    person signs twice in one round; the services check the same before a
    claim, the engine refuses the signature itself."""
    sign = node.countersign
    if actor is None or sign is None or not sign.distinct_people:
        return
    if actor in round_signers(state["tokens"][task["token"]]):
        raise IllegalEvent(
            Message(
                "this countersign needs a different person for each signature (distinct_people): "
                "the same person has already signed another signature of this step"
            ),
            code="distinct_people",
        )


def read_vote(reader: Reader, sign: Any, mode: Any, count: int, what: str) -> tuple[Fraction | None, tuple]:
    """`pass_ratio` (2/3, 0.5, "60%") and `weights` of a vote (票签)."""
    if mode != "vote":
        for key in ("pass_ratio", "weights"):
            if key in sign:
                reader.err(
                    key_pos(sign, key),
                    Message("{what} countersign '{key}' belongs to mode: vote", what=what, key=key),
                )
        return None, ()
    if "pass_ratio" not in sign:
        reader.err(
            key_pos(sign, "mode"),
            Message("{what}: a vote needs 'pass_ratio' (such as 2/3 or 50%)", what=what),
        )
        return None, ()
    ratio = parse_ratio(sign["pass_ratio"])
    if ratio is None:
        reader.err(
            value_pos(sign, "pass_ratio"),
            Message(
                "{what} countersign 'pass_ratio' must be a share above 0 and at most 1 (2/3, 0.5 or 50%)",
                what=what,
            ),
        )
    weights: tuple[int, ...] = ()
    if "weights" in sign:
        raw = (
            reader.seq(sign["weights"], value_pos(sign, "weights"), Message("{what} weights", what=what))
            or []
        )
        if len(raw) != count or not all(type(w) is int and 1 <= w <= 100 for w in raw):
            reader.err(
                value_pos(sign, "weights"),
                Message(
                    "{what} countersign 'weights' gives each signer a whole number from 1 to 100, in order",
                    what=what,
                ),
            )
        else:
            weights = tuple(int(w) for w in raw)
    return ratio, weights


def parse_ratio(value: Any) -> Fraction | None:
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, str) and value.strip().endswith("%"):
            ratio = Fraction(value.strip()[:-1].strip()) / 100
        else:
            ratio = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        return None
    return ratio if 0 < ratio <= 1 else None


def read_flow_keys(reader: Reader, node: Node, item: Any, what: str) -> None:
    """`return_to` (退回: a list of earlier user tasks, or none) and
    `transfer` (转办: none, or {to: any | [departments], via: queue | head})."""
    if "return_to" in item:
        value = item["return_to"]
        if value == "none":
            node.return_to = ()
        else:
            raw = (
                reader.seq(value, value_pos(item, "return_to"), Message("{what} return_to", what=what)) or []
            )
            targets = []
            for index, target in enumerate(raw):
                pos = item_pos(raw, index, value_pos(item, "return_to"))
                if not isinstance(target, str):
                    reader.err(pos, Message("{what} return_to names user task ids (or is 'none')", what=what))
                    continue
                targets.append(str(target))
                reader.return_positions.setdefault(node.id, {})[str(target)] = pos
            node.return_to = tuple(targets)
    node.transfer = ANY_TRANSFER
    if "transfer" in item:
        value = item["transfer"]
        if value == "none":
            node.transfer = None
            return
        spec = reader.mapping(value, value_pos(item, "transfer"), Message("{what} transfer", what=what))
        if spec is None:
            return
        reader.keys(spec, ("to", "via"), (), Message("{what} transfer", what=what))
        to: tuple[str, ...] | None = None
        if "to" in spec and spec["to"] != "any":
            raw = (
                reader.seq(spec["to"], value_pos(spec, "to"), Message("{what} transfer to", what=what)) or []
            )
            found = [
                reader.department(
                    v, item_pos(raw, i, value_pos(spec, "to")), Message("{what} transfer to", what=what)
                )
                for i, v in enumerate(raw)
            ]
            to = tuple(d for d in found if d)
        via = spec.get("via", "queue")
        if via not in TRANSFER_VIA:
            reader.err(
                value_pos(spec, "via"),
                Message(
                    "{what} transfer 'via' must be one of {TRANSFER_VIA}",
                    what=what,
                    TRANSFER_VIA=", ".join(TRANSFER_VIA),
                ),
            )
            via = "queue"
        node.transfer = Transfer(to=to, via=str(via))


def outcomes_of(item: Any) -> set[str]:
    value = item.get("outcomes")
    return set(value) if isinstance(value, dict) else set()
