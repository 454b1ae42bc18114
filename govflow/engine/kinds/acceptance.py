"""`acceptance` (受理, 行政许可法 art 32): the accepting department decides,
within a limit (default 5 working days), to accept the application, to
refuse to accept it (不予受理, with reasons and the legal basis), or to give
one consolidated correction notice (一次性告知) listing exactly which form
fields and which materials must be corrected, each with a reason.

    - id: accept
      type: acceptance
      title: {zh: 受理, en: Acceptance}
      department: market_regulation
      days: 5                      # optional; default 5 working days
      outcomes:
        accept: check_name         # required
        refuse: not_accepted       # an end with outcome rejected
        notice: supply             # a correction node (often max_rounds: 1)

Silence until the limit counts as acceptance (art 32(4)): the limit's timer
(which has legal effect, so it never fires on a provisional date) accepts
the application, recorded as an automatic decision with its legal basis,
as of the day the materials were received (the task's start: the
submission, or the receipt of the corrected materials).

The engine records the acceptance in `state["accepted"]` (the first one of
the case) and says so with an `Accepted` effect; the services move the
case from submitted to in review and keep the date (`Case.accepted_at`),
from which the decision clock of art 42 runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Duration, Node
from ..effects import Accepted, TaskCompleted, TimerCancelled
from ..events import CompleteTask
from ..loading.positions import pos_of, value_pos
from ..notices import check_rounds, pending_notice
from ..problems import IllegalEvent, Message
from .base import NodeKind, gettext_noop, read_claim_required

if TYPE_CHECKING:
    from .base import Machine, Reader

ACCEPTANCE_OUTCOMES = ("accept", "refuse", "notice")
DEFAULT_DAYS = 5
#: The legal basis recorded on an acceptance by silence.
SILENCE_BASIS = (
    "《中华人民共和国行政许可法》第三十二条第一款第（四）项：申请材料不齐全或者不符合法定形式的，"
    "应当当场或者在五日内一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理。"
)


class Acceptance(NodeKind):
    type = "acceptance"
    keys = frozenset({"department", "days", "hours", "outcomes", "claim_required"})
    article = "an"
    waits = True
    decides = True
    colours = ("#eef7f7", "#1d6b6b", "")
    caption = gettext_noop("acceptance")
    bpmn_element = "userTask"
    lane = "department"
    events = {CompleteTask: "complete"}

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "department" not in item:
            reader.err(pos_of(item), Message("{what} is missing required key 'department'", what=what))
        else:
            node.department = reader.department(item["department"], value_pos(item, "department"), what)
        if "days" in item or "hours" in item:
            node.duration = reader.duration(item, what)
        else:
            node.duration = Duration(days=DEFAULT_DAYS)
        node.outcomes = reader.outcomes(node, item, what, ACCEPTANCE_OUTCOMES, "accept")
        read_claim_required(reader, node, item, what)
        outcomes = item.get("outcomes")
        if hasattr(outcomes, "lc"):
            # where each outcome's target is written, for `check`'s messages
            positions = reader.__dict__.setdefault("outcome_positions", {})
            positions[node.id] = {key: value_pos(outcomes, key) for key in outcomes if key in node.outcomes}

    def check(self, reader: Reader, node: Node, nodes: dict[str, Node]) -> None:
        """The refusal ends the case as rejected; the notice goes to the applicant."""
        where = reader.__dict__.get("outcome_positions", {}).get(node.id, {})
        refuse = node.outcomes.get("refuse")
        if refuse is not None and refuse in nodes:
            target = nodes[refuse]
            if target.type != "end" or target.outcome != "rejected":
                reader.err(
                    where.get("refuse", (node.line, node.col)),
                    Message(
                        "node '{node}': outcome 'refuse' (不予受理) must lead to an end with "
                        "outcome 'rejected'",
                        node=node.id,
                    ),
                )
        notice = node.outcomes.get("notice")
        if notice is not None and notice in nodes and nodes[notice].type != "correction":
            reader.err(
                where.get("notice", (node.line, node.col)),
                Message(
                    "node '{node}': outcome 'notice' (一次性告知) must lead to a correction node",
                    node=node.id,
                ),
            )

    def successors(self, node: Node) -> tuple[str, ...]:
        return tuple(dict.fromkeys(node.outcomes.values()))

    # runtime ----------------------------------------------------------------

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        round_ = machine.next_round(node.id)
        machine.state["decisions"].pop(node.id, None)
        task_id = machine.create_task(token_id, node, "acceptance", node.department, round_, None)
        token["tasks"] = [task_id]
        limit = node.duration or Duration(days=DEFAULT_DAYS)
        machine.start_timer("acceptance_deadline", node, token_id, task_id, limit.days, limit.hours, 1.0)

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
        check_rounds(machine, node, node.outcomes[event.outcome])
        extra: dict[str, Any] = {}
        if event.outcome == "refuse":
            if not (event.opinion or "").strip():
                raise IllegalEvent(
                    Message("a refusal to accept (不予受理) needs its reasons"), code="refusal_needs_reasons"
                )
            if not (event.legal_basis or "").strip():
                raise IllegalEvent(
                    Message("a refusal to accept (不予受理) needs its legal basis"),
                    code="refusal_needs_legal_basis",
                )
            extra["legal_basis"] = event.legal_basis
        if event.outcome == "notice":
            extra["notice"] = pending_notice(machine, node, event.notice, required=True)
        elif event.notice:
            raise IllegalEvent(
                Message("a correction notice goes with the outcome 'notice' only"), code="notice_not_allowed"
            )
        self.decide(machine, event.task_id, task, node, event.outcome, event.actor, event.opinion, extra)

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # acceptance_deadline: no notice in time, so the application is accepted (art 32(4)).
        task_id = timer["task"]
        task = machine.state["tasks"][task_id]
        self.decide(machine, task_id, task, node, "accept", None, None, {"legal_basis": SILENCE_BASIS})

    def decide(
        self,
        machine: Machine,
        task_id: str,
        task: dict,
        node: Node,
        outcome: str,
        actor: str | None,
        opinion: str | None,
        extra: dict[str, Any],
    ) -> None:
        state = machine.state
        del state["tasks"][task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == task_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        deemed = actor is None and outcome == "accept" and "legal_basis" in extra
        machine.effects.append(
            TaskCompleted(task_id, node.id, outcome, deemed, extra.get("legal_basis") if deemed else None)
        )
        decision: dict[str, Any] = {
            "outcome": outcome,
            "round": task["round"],
            "by": actor,
            "opinion": opinion,
            "at": machine.now,
            **extra,
        }
        if deemed:
            decision["deemed"] = True
        state["decisions"][node.id] = decision
        token_id = task["token"]
        state["tokens"][token_id].pop("tasks", None)
        if outcome == "accept":
            # By silence the application counts as accepted on receipt of the
            # materials (the task's start), not on the day the limit ran out.
            at = task["created"] if deemed else machine.now
            if "accepted" not in state:
                state["accepted"] = {"node": node.id, "at": at, "deemed": deemed}
            machine.effects.append(Accepted(node.id, task_id, at, deemed, extra.get("legal_basis")))
        machine.move(token_id, node.outcomes[outcome])
