"""Property tests of the engine: random well-formed processes, random event orders.

The generator builds block-structured processes: sequences of user tasks
(some countersigned, by all, any, in sequence or by a weighted 票签 vote where
the task can reject; some with SLAs, some off the clock), service tasks,
waits and corrections, nested parallel and inclusive blocks (conditions over
a number `x`, with a default; each block is followed by a review of its own
so the join's firings can be counted), exclusive choices that merge again,
exclusive gates that send the case back to an earlier user task outside any
block, splits without a join whose side branch ends without terminating, and
calls of a generated sub-process. Every user task approves to the next step
and rejects to a terminating 'rejected' end, except on a side branch, which
may not end the case (its reviews only approve; see the soundness rules in
docs/process-language.md). tests/engine/test_soundness.py adds unstructured
graphs.

After every step the state must survive a JSON round trip, no token may be
lost or left on a gateway, no join may fire twice, the case must either
have ended or still have something that can happen, and no person may sign
twice in a round of a countersign unless the template opts out
(`distinct_people: false`; 审批人去重): a second signature by someone who
signed is refused.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govflow.engine import (
    CompleteTask,
    Definition,
    FireTimer,
    ServiceDone,
    Start,
    SubmitCorrection,
    Withdraw,
    check_definition,
    dump_state,
    load_state,
    step,
)
from govflow.engine.events import (
    AddSigner,
    Objection,
    RemoveSigner,
    ReturnTask,
    Signal,
    SubmitApplicantTask,
    TakeBack,
    TransferTask,
)
from govflow.engine.operations import can_take_back, return_targets
from govflow.engine.problems import IllegalEvent
from govflow.engine.runtime import NodeEntered

from .conftest import DEPARTMENTS, HANDLERS, T0, VALID_DIR

WAIT_STATES = {
    "user_task",
    "service_task",
    "wait",
    "signal",
    "correction",
    "call",
    "acceptance",
    "publicity",
    "applicant_task",
    "fee",
}
REVIEWERS = ["market_regulation", "tax", "fire", "bank", "archives", "natural_resources"]
# The people who decide (a countersign has at most three signers: one is always free to sign).
PEOPLE = ("p1", "p2", "p3")
MAX_STEPS = 60
# Each example parses a template with the (pure Python) loader, so the counts stay moderate.
PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEWER = settings(PROPERTIES, max_examples=100)


# -- the generator ----------------------------------------------------------


@dataclass
class Builder:
    """Collects the YAML nodes of one process; ids are unique across processes."""

    process: str
    counter: list[int]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    ends_used: set[str] = field(default_factory=set)
    # Whether the called sub-process can end rejected (else a call mapping
    # 'rejected' would lead to a node that can never be reached).
    sub_refuses: bool = False

    def new_id(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"

    def end(self, kind: str) -> str:
        self.ends_used.add(kind)
        return f"{kind}_{self.process}"

    def add(self, node: dict[str, Any]) -> str:
        if node["type"] in ("user_task", "service_task", "wait", "correction", "call", "end"):
            node.setdefault("title", {"zh": node["id"], "en": node["id"]})
        self.nodes.append(node)
        return node["id"]


def _title(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


@st.composite
def user_task_spec(draw: st.DrawFn, *, vote: bool = False) -> dict[str, Any]:
    """A user task's keys; `vote` where the node has a reject outcome (票签
    needs one)."""
    spec: dict[str, Any] = {"department": draw(st.sampled_from(REVIEWERS))}
    if draw(st.integers(0, 5)) == 0:
        mode = draw(st.sampled_from(["all", "any", "sequential", *(["vote"] if vote else [])]))
        signers = draw(st.lists(st.sampled_from(REVIEWERS), min_size=2, max_size=3, unique=True))
        countersign: dict[str, Any] = {"mode": mode, "signers": signers}
        if draw(st.integers(0, 2)) == 0:
            countersign["distinct_people"] = False  # the opt-out of 审批人去重
        if mode == "vote":
            countersign["pass_ratio"] = draw(st.sampled_from(["1/2", "2/3", "1", "0.3"]))
            if draw(st.booleans()):
                countersign["weights"] = draw(
                    st.lists(st.integers(1, 3), min_size=len(signers), max_size=len(signers))
                )
        spec = {"countersign": countersign}
    choice = draw(st.integers(0, 5))
    if choice == 0:
        spec["clock"] = "excluded"
    elif choice == 1:
        sla: dict[str, Any] = {"days": draw(st.integers(1, 20))}
        if draw(st.booleans()):
            sla["remind_at"] = draw(st.sampled_from([0.5, 0.8]))
        breach = draw(st.sampled_from(["escalate", "approve", "reject"]))
        sla["on_breach"] = breach
        if breach != "escalate":
            sla["legal_basis"] = "地方规定"
        spec["sla"] = sla
    return spec


@st.composite
def sequence(
    draw: st.DrawFn, builder: Builder, next_id: str, depth: int, top: bool, calls: bool, side: bool = False
) -> str:
    """Add a sequence of steps leading to `next_id`; return its entry node id.

    A side path (a branch of a split without a join) may not end the case:
    its reviews only approve, its corrections have no deadline, and it holds
    no block (whose refusals terminate) and no call (whose refusal would)."""
    kinds = ["user", "user", "service", "wait", "signal", "correction", "xor"]
    if depth < 2 and not side:
        kinds += ["parallel", "inclusive"]
    if top:
        kinds += ["loop", "loop", "open"]
    if calls and not side:
        kinds += ["call"]
    plan = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=4 if top else 3))
    # Ids first, so that a loop can name a task that comes before it.
    steps: list[tuple[str, str]] = []
    for kind in plan:
        steps.append((kind, builder.new_id({"user": "u", "loop": "r"}.get(kind, "n"))))
    entry = next_id
    for index in range(len(steps) - 1, -1, -1):
        kind, node_id = steps[index]
        # A loop may not lead back past a split without a join (its branches would run again).
        opened = max((i for i, (k, _n) in enumerate(steps[:index]) if k == "open"), default=-1)
        earlier = [n for k, n in steps[opened + 1 : index] if k == "user"]
        entry = draw(element(builder, kind, node_id, entry, depth, earlier, calls, side))
    return entry


@st.composite
def element(
    draw: st.DrawFn,
    builder: Builder,
    kind: str,
    node_id: str,
    next_id: str,
    depth: int,
    earlier: list[str],
    calls: bool,
    side: bool = False,
) -> str:
    if kind == "user" and side:
        spec = draw(user_task_spec())
        if spec.get("sla", {}).get("on_breach") == "reject":
            del spec["sla"]
        return builder.add({"id": node_id, "type": "user_task", "outcomes": {"approve": next_id}} | spec)
    refused = builder.end("refused") if kind in ("user", "loop", "parallel", "inclusive") else None
    if kind == "user" or (kind == "loop" and not earlier):
        return builder.add(
            {"id": node_id, "type": "user_task", "outcomes": {"approve": next_id, "reject": refused}}
            | draw(user_task_spec(vote=True))
        )
    if kind == "loop":
        gate = builder.new_id("g")
        builder.add(
            {
                "id": gate,
                "type": "exclusive",
                "branches": [
                    {"to": draw(st.sampled_from(earlier)), "when": f"decision.{node_id} == 'return'"},
                    {"to": next_id, "default": True},
                ],
            }
        )
        return builder.add(
            {
                "id": node_id,
                "type": "user_task",
                "department": draw(st.sampled_from(REVIEWERS)),
                "outcomes": {"approve": gate, "return": gate, "reject": refused},
            }
        )
    if kind == "service":
        handler = draw(st.sampled_from(sorted(HANDLERS)))
        return builder.add({"id": node_id, "type": "service_task", "handler": handler, "next": next_id})
    if kind == "wait":
        duration = draw(st.sampled_from([{"days": 5}, {"hours": 4}, {"days": 1}]))
        return builder.add({"id": node_id, "type": "wait", "next": next_id} | duration)
    if kind == "signal":
        # A message from another system; two names, so one may wait for a message another will not send.
        signal: dict[str, Any] = {
            "id": node_id,
            "type": "signal",
            "title": {"zh": "等待", "en": "Wait"},
            "signal": draw(st.sampled_from(["fee_paid", "filed"])),
            "next": next_id,
        }
        if not side and draw(st.booleans()):
            signal["deadline"] = {"days": draw(st.integers(1, 30))}
            signal["on_timeout"] = builder.end("lapsed")
        return builder.add(signal)
    if kind == "correction":
        node: dict[str, Any] = {"id": node_id, "type": "correction", "next": next_id}
        if not side and draw(st.booleans()):
            node["deadline"] = {"days": draw(st.integers(1, 30))}
            node["on_timeout"] = builder.end("lapsed")
        return builder.add(node)
    if kind == "call":
        outcomes = {"approved": next_id}
        if builder.sub_refuses and draw(st.booleans()):
            outcomes["rejected"] = builder.end("refused")
        return builder.add({"id": node_id, "type": "call", "process": "sub", "outcomes": outcomes})
    if kind == "open":
        # A split without a join: a side branch ends on its own (terminate: false).
        filed = builder.add(
            {"id": builder.new_id("filed"), "type": "end", "outcome": "approved", "terminate": False}
        )
        branch = draw(sequence(builder, filed, depth + 1, False, calls, side=True))
        # The main path waits for a review before it goes on: were it to end the
        # case straight away, the side branch would be cancelled as it starts.
        main = builder.add(
            {
                "id": builder.new_id("u"),
                "type": "user_task",
                "department": draw(st.sampled_from(REVIEWERS)),
                "outcomes": {"approve": next_id, "reject": builder.end("refused")},
            }
        )
        return builder.add({"id": node_id, "type": "parallel", "next": [branch, main]})
    if kind == "xor":
        merge = builder.add({"id": builder.new_id("m"), "type": "exclusive", "next": next_id})
        first = draw(sequence(builder, merge, depth + 1, False, calls, side))
        other = merge
        if draw(st.booleans()):
            other = draw(sequence(builder, merge, depth + 1, False, calls, side))
        threshold = draw(st.integers(0, 100))
        return builder.add(
            {
                "id": node_id,
                "type": "exclusive",
                "branches": [{"to": first, "when": f"x > {threshold}"}, {"to": other, "default": True}],
            }
        )
    # A parallel or inclusive block, followed by a review of its own.
    after = builder.add(
        {
            "id": builder.new_id("after"),
            "type": "user_task",
            "department": draw(st.sampled_from(REVIEWERS)),
            "outcomes": {"approve": next_id, "reject": refused},
        }
    )
    join = builder.add({"id": builder.new_id("j"), "type": kind, "next": after})
    count = draw(st.integers(2, 3))
    # One branch at most may call the sub-process: two runs of it at once would share its nodes.
    entries = [draw(sequence(builder, join, depth + 1, False, calls and i == 0)) for i in range(count)]
    if kind == "parallel":
        return builder.add({"id": node_id, "type": "parallel", "next": entries})
    branches: list[dict[str, Any]] = [
        {"to": target, "when": f"x > {draw(st.integers(0, 100))}"} for target in entries[:-1]
    ]
    branches.append({"to": entries[-1], "default": True})
    return builder.add({"id": node_id, "type": "inclusive", "branches": branches})


def _finish(builder: Builder, entry: str) -> list[dict[str, Any]]:
    start = {"id": f"start_{builder.process}", "type": "start", "next": entry}
    ends = [{"id": f"done_{builder.process}", "type": "end", "outcome": "approved"}]
    outcomes = {"refused": "rejected", "lapsed": "withdrawn"}
    ends += [
        {"id": f"{kind}_{builder.process}", "type": "end", "outcome": outcomes[kind]}
        for kind in sorted(builder.ends_used)
    ]
    for end in ends:
        end["title"] = _title(end["id"])
    return [start, *builder.nodes, *ends]


@st.composite
def processes(draw: st.DrawFn) -> str:
    counter = [0]
    sub = Builder("sub", counter)
    sub_entry = draw(sequence(sub, "done_sub", 1, True, False))
    main = Builder("main", counter, sub_refuses="refused" in sub.ends_used)
    entry = draw(sequence(main, "done_main", 0, True, True))
    document: dict[str, Any] = {
        "id": "generated",
        "title": _title("generated"),
        "form": {"fields": [{"id": "x", "type": "number", "label": _title("x")}]},
        "nodes": _finish(main, entry),
    }
    if any(node["type"] == "call" for node in main.nodes):
        document["subprocesses"] = {"sub": {"title": _title("sub"), "nodes": _finish(sub, sub_entry)}}
    return to_yaml(document)


PLAIN = re.compile(r"[a-z][a-z0-9_]*")


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, str) and PLAIN.fullmatch(value) and value not in ("true", "false", "null"):
        # Ids stay plain: quoted ones reach the state as ruamel string subclasses
        # (see test_runtime.py::test_quoted_names_in_a_template_do_not_leak_into_the_state).
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string or number is a YAML scalar


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in items:
        head = f"{pad}{key}:" if key is not None else f"{pad}-"
        if isinstance(item, dict | list) and item:
            inner = _block(item, indent + 2)
            if key is None:
                lines.append(f"{head} {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(head)
                lines += inner
        else:
            lines.append(f"{head} {_scalar(item)}")
    return lines


def to_yaml(document: dict[str, Any]) -> str:
    """Block-style YAML for plain data (ruamel's emitter is too slow to run hundreds of times)."""
    return "\n".join(_block(document, 0)) + "\n"


def load_generated(text: str) -> Definition:
    definition, problems = check_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)
    assert problems == [], f"a generated process does not validate:\n{text}"
    assert definition is not None
    return definition


# -- driving a case -----------------------------------------------------------


def possible_events(
    definition: Definition, state: dict[str, Any], x: int, *, approve_weight: int = 1, operations: bool = True
) -> list[Any]:
    """Every event that applies now, sorted; approvals `approve_weight` times (so random paths get far)."""
    events: list[Any] = []
    for task_id, task in sorted(state["tasks"].items()):
        node = definition.nodes[task["node"]]
        if task["kind"] in ("review", "signature"):
            if task.get("waiting"):  # a signer added before decides first
                continue
            offered = [o for o in node.outcomes if o in ("approve", "reject") or not task.get("added")]
            for outcome in offered:
                # (the model checks of test_soundness decide without people: fewer states)
                for actor in _deciders(node, state, task_id, task) if operations else [None]:
                    events += [CompleteTask(task_id, outcome, actor=actor)] * (
                        approve_weight if outcome == "approve" else 1
                    )
        elif task["kind"] == "correction":
            events.append(SubmitCorrection(task_id, {"x": x}))
        elif task["kind"] == "applicant":
            events.append(SubmitApplicantTask(task_id, {}, confirmed=True))
        elif task["kind"] == "acceptance":
            events += [CompleteTask(task_id, "accept")] * approve_weight
            if "refuse" in node.outcomes:
                events.append(
                    CompleteTask(task_id, "refuse", opinion="材料不全", legal_basis="行政许可法第三十二条")
                )
            notice = _some_notice(definition)
            if "notice" in node.outcomes and notice:
                events.append(CompleteTask(task_id, "notice", notice=notice))
        else:
            events.append(ServiceDone(task_id, {}))
    events += [FireTimer(timer_id) for timer_id in sorted(state["timers"])]
    events += [Signal(name, {"amount": x}) for name in waiting_signals(definition, state)]
    # a fee paid, and an objection during a public notice (公示)
    resting = [definition.nodes[token["node"]] for _, token in sorted(state["tokens"].items())]
    events += [
        Signal(n.settings["signal"], {"amount": n.settings["amount"]}) for n in resting if n.type == "fee"
    ]
    events += [Objection(n.id) for n in resting if n.type == "publicity"]
    if operations:
        # 退回 to every step offered, and 撤回 of every decision that can still be taken back
        for task_id in sorted(state["tasks"]):
            events += [ReturnTask(task_id, target) for target in return_targets(definition, state, task_id)]
        events += [
            TakeBack(task_id) for task_id in sorted(state.get("undo", {})) if can_take_back(state, task_id)
        ]
        # 转办, 加签 before and after, and 减签 of an added signer
        for task_id, task in sorted(state["tasks"].items()):
            if task["kind"] not in ("review", "signature"):
                continue
            if task.get("added"):
                events.append(RemoveSigner(task_id, task_id))
            elif definition.nodes[task["node"]].type == "user_task":
                candidates = [TransferTask(task_id, "archives")]
                candidates += [
                    AddSigner(task_id, "natural_resources", where) for where in ("before", "after")
                ]
                events += [event for event in candidates if _accepted(definition, state, event)]
    return events


def _round_signatures(token: dict[str, Any]) -> list[dict[str, Any]]:
    """The signatures of a countersign's round so far: those that count, and
    the approvals held for signers added after them (后加签), signed too."""
    return [*token.get("signatures", ()), *(held["decision"] for held in token.get("held", {}).values())]


def _signed(state: dict[str, Any], task: dict[str, Any]) -> list[str]:
    """Who has signed the round of a countersign the signature `task` belongs to."""
    signatures = _round_signatures(state["tokens"][task["token"]])
    return [s["by"] for s in signatures if s.get("by") is not None]


def _deciders(node: Any, state: dict[str, Any], task_id: str, task: dict[str, Any]) -> list[str | None]:
    """Who may decide the task: a review by one person; a signature by any of
    PEOPLE who has not signed the round yet (审批人去重), or by anyone where
    the countersign opts out (so that random runs do sign twice there)."""
    if task["kind"] != "signature" or node.countersign is None:
        return [PEOPLE[int(task_id[1:]) % len(PEOPLE)]]
    if not node.countersign.distinct_people:
        return list(PEOPLE)
    return [p for p in PEOPLE if p not in _signed(state, task)]


def assert_second_signatures_refused(definition: Definition, state: dict[str, Any]) -> None:
    """审批人去重: whoever signed a round of a countersign with distinct_people
    (the default) is refused another signature of it, and the state stays
    as it was; where the template opts out, distinct_people refuses nothing."""
    if state["status"] != "running":
        return
    for task_id, task in sorted(state["tasks"].items()):
        node = definition.nodes[task["node"]]
        if task["kind"] != "signature" or node.countersign is None or task.get("waiting"):
            continue  # (a signer added before it signs first)
        for person in sorted(set(_signed(state, task))):
            before = json.dumps(state, sort_keys=True)
            refusal = _refusal(definition, state, CompleteTask(task_id, "approve", actor=person))
            assert (refusal == "distinct_people") == node.countersign.distinct_people, (refusal, task_id)
            assert json.dumps(state, sort_keys=True) == before


def _some_notice(definition: Definition) -> tuple[dict[str, str], ...]:
    """A one-item correction notice on the form's first field or material (none without either)."""
    form = definition.form
    if form.fields:
        return ({"kind": "field", "id": form.fields[0].id, "reason": "请更正"},)
    if form.attachments:
        return ({"kind": "material", "id": form.attachments[0].id, "reason": "请补交"},)
    return ()


def waiting_signals(definition: Definition, state: dict[str, Any]) -> list[str]:
    """The messages tokens wait for at `signal` nodes (each name once)."""
    names = (definition.nodes[token["node"]] for token in state["tokens"].values())
    return sorted({node.settings["signal"] for node in names if node.type == "signal"})


def _refusal(definition: Definition, state: dict[str, Any], event: Any) -> str | None:
    """The code the engine refuses `event` with, or None when it takes it."""
    try:
        step(definition, state, event, T0)
    except IllegalEvent as refused:
        return refused.code
    return None


def _accepted(definition: Definition, state: dict[str, Any], event: Any) -> bool:
    try:
        step(definition, state, event, T0)
    except IllegalEvent:
        return False
    return True


def approve_all_event(state: dict[str, Any], definition: Definition | None = None) -> Any | None:
    """The next event of a case where everyone approves, only waits elapse
    and every message a signal node waits for arrives."""
    for task_id, task in sorted(state["tasks"].items()):
        if task["kind"] in ("review", "signature"):
            return CompleteTask(task_id, "approve")
        if task["kind"] == "acceptance":
            return CompleteTask(task_id, "accept")
        if task["kind"] == "correction":
            return SubmitCorrection(task_id, {})
        if task["kind"] == "applicant":
            return SubmitApplicantTask(task_id, {}, confirmed=True)
        return ServiceDone(task_id, {})
    for timer_id, timer in sorted(state["timers"].items()):
        if timer["kind"] in ("wait", "notice"):  # a waiting period, a public notice with no objection
            return FireTimer(timer_id)
    if definition is not None:
        for name in waiting_signals(definition, state):
            return Signal(name, {"amount": 100})
        for token in state["tokens"].values():
            node = definition.nodes[token["node"]]
            if node.type == "fee":  # the fee is paid
                return Signal(node.settings["signal"], {"amount": node.settings["amount"]})
    return None


def counted_joins(definition: Definition) -> list[tuple[str, str]]:
    """(split, node after its join) for every join whose successor nothing else leads to."""
    nodes = definition.nodes
    pairs = []
    for split in nodes.values():
        if split.join is not None:
            after = nodes[split.join].next[0]
            if [n.id for n in nodes.values() if after in n.successors] == [split.join]:
                pairs.append((split.id, after))
    return pairs


@dataclass
class Journal:
    """What a run has seen so far, for the checks that span several steps."""

    entered: Counter = field(default_factory=Counter)
    steps: int = 0
    # decided task -> the nodes its decision's step entered (a take-back un-enters them)
    entered_by: dict[str, list[str]] = field(default_factory=dict)


def assert_invariants(
    definition: Definition, state: dict[str, Any], effects: list[Any], journal: Journal
) -> None:
    nodes = definition.nodes
    journal.steps += 1
    journal.entered.update(e.node for e in effects if isinstance(e, NodeEntered))

    # (a) the stored form is the state
    assert load_state(json.loads(dump_state(state))) == state

    # (c) a join fires once per split firing: the node after it is entered no more often than the split
    for split_id, after in counted_joins(definition):
        assert journal.entered[after] <= journal.entered[split_id], (split_id, after)

    # (e) 审批人去重: no person signs twice in a round of a countersign unless the template opts out
    rounds = [(nodes[t["node"]], _round_signatures(t)) for t in state["tokens"].values()]
    rounds += [(nodes[n], d.get("signatures", ())) for n, d in state["decisions"].items() if n in nodes]
    for node, signatures in rounds:
        if node.countersign is not None and node.countersign.distinct_people:
            people = [s["by"] for s in signatures if s.get("by") is not None]
            assert len(people) == len(set(people)), (node.id, signatures)

    if state["status"] != "running":
        assert state["outcome"] in ("approved", "rejected", "withdrawn")
        for key in ("tokens", "tasks", "timers", "scopes", "frames"):
            assert state[key] == {}, key
        assert state["paused"] == 0
        return

    tokens, tasks, timers, scopes, frames = (
        state[key] for key in ("tokens", "tasks", "timers", "scopes", "frames")
    )
    # (d) never stuck (a signal node waits for a message from outside)
    on_signal = any(nodes[t["node"]].type in ("signal", "fee") for t in tokens.values())
    assert tasks or timers or on_signal, "the case is running but nothing can happen"

    # (b) every token waits on a wait state, with what it waits for
    paused = 0
    for token_id, token in tokens.items():
        node = nodes[token["node"]]
        assert node.type in WAIT_STATES, f"token {token_id} left on {node.type} '{node.id}'"
        assert token["frame"] == "" or token["frame"] in frames
        assert all(scope in scopes for scope in token["scopes"]), token
        own_tasks = [t for t, task in tasks.items() if task["token"] == token_id]
        own_timers = [m for m, timer in timers.items() if timer["token"] == token_id]
        if node.type == "acceptance":
            assert sorted(token["tasks"]) == sorted(own_tasks)
            assert len(own_tasks) == 1
            assert [timers[m]["kind"] for m in own_timers] == ["acceptance_deadline"]
        elif node.type in ("user_task", "service_task", "correction", "applicant_task"):
            assert own_tasks, f"token on '{node.id}' has no task"
            assert sorted(token["tasks"]) == sorted(own_tasks)
            if node.type in ("correction", "applicant_task") or (
                node.clock_excluded and node.clock_scope == "case"
            ):
                paused += 1
            elif node.clock_excluded:  # a branch-scoped exclusion marks its token only
                assert token.get("excluded"), f"token on excluded '{node.id}' is not marked"
        elif node.type == "publicity":
            assert [timers[m]["kind"] for m in own_timers] == ["notice"]
            assert bool(token.get("holding")) == node.clock_excluded
            paused += node.clock_excluded
        elif node.type == "fee":
            expected = ["fee_deadline"] if node.duration is not None else []
            assert [timers[m]["kind"] for m in own_timers] == expected
            assert token.get("holding")
            paused += 1
        elif node.type == "wait":
            assert [timers[m]["kind"] for m in own_timers] == ["wait"]
        elif node.type == "signal":
            expected = ["signal_deadline"] if node.duration is not None else []
            assert [timers[m]["kind"] for m in own_timers] == expected
        else:
            assert [f for f in frames.values() if f["token"] == token_id], f"call '{node.id}' has no frame"
    assert state["paused"] == paused
    for task in tasks.values():
        assert task["token"] in tokens
        assert tokens[task["token"]]["node"] == task["node"]
    for timer in timers.values():
        assert timer["token"] in tokens
        assert timer["task"] is None or timer["task"] in tasks
    for frame in frames.values():
        assert nodes[tokens[frame["token"]]["node"]].calls == frame["process"]

    # (b) every scope is alive, and counts exactly the branches still out
    for scope_id, scope in scopes.items():
        assert 0 <= scope["arrived"] < scope["expected"], scope
        assert nodes[scope["join"]].is_join
        lineages = set()
        for token_id, token in tokens.items():
            if scope_id in token["scopes"]:
                index = token["scopes"].index(scope_id)
                nested = token["scopes"][index + 1 :]
                lineages.add(nested[0] if nested else token_id)
        assert lineages, f"scope {scope_id} is referenced by no token"
        assert len(lineages) == scope["expected"] - scope["arrived"], scope


def run_random(definition: Definition, data: st.DataObject, x: int) -> dict[str, Any]:
    result = step(definition, None, Start({"x": x}), T0)
    journal = Journal()
    assert_invariants(definition, result.state, result.effects, journal)
    may_withdraw = data.draw(st.integers(0, 9)) == 0
    state = result.state
    for _ in range(MAX_STEPS):
        if state["status"] != "running":
            break
        events = possible_events(definition, state, data.draw(st.integers(0, 100)), approve_weight=3)
        if may_withdraw:
            events.append(Withdraw())
        event = data.draw(st.sampled_from(events))
        taken_back = _taken_back_rounds(state, event, journal)
        result = step(definition, state, event, T0)
        journal.entered.subtract(taken_back)
        _note_decision(journal, event, result.effects)
        state = result.state
        assert_invariants(definition, state, result.effects, journal)
        assert_second_signatures_refused(definition, state)
    return state


def _taken_back_rounds(state: dict[str, Any], event: Any, journal: Journal | None = None) -> list[str]:
    """Entries the join-counting check must not count as a join's firing:
    the nodes a take-back un-enters (entered again when the decision is made
    again), and the step a return sends the case back to."""
    if isinstance(event, ReturnTask):
        return [event.target]
    if isinstance(event, TakeBack):
        if journal is not None and event.task_id in journal.entered_by:
            return journal.entered_by.pop(event.task_id)
        return list(state["undo"][event.task_id]["rounds"])
    return []


def _note_decision(journal: Journal, event: Any, effects: list[Any]) -> None:
    if isinstance(event, CompleteTask):
        journal.entered_by[event.task_id] = [e.node for e in effects if isinstance(e, NodeEntered)]


# -- the properties ----------------------------------------------------------------


@PROPERTIES
@given(processes(), st.integers(0, 100), st.data())
def test_random_event_orders_keep_every_invariant(text: str, x: int, data: st.DataObject):
    definition = load_generated(text)
    run_random(definition, data, x)


@FEWER
@given(processes(), st.integers(0, 100))
def test_approving_everything_ends_approved(text: str, x: int):
    # Given any generated process and any value of x
    definition = load_generated(text)
    result = step(definition, None, Start({"x": x}), T0)
    journal = Journal()
    state = result.state
    assert_invariants(definition, state, result.effects, journal)

    # When every task is approved, every correction submitted and every wait elapses
    for _ in range(2_000):
        if state["status"] != "running":
            break
        event = approve_all_event(state, definition)
        assert event is not None, "stuck: no task and no wait left"
        result = step(definition, state, event, T0)
        state = result.state
        assert_invariants(definition, state, result.effects, journal)

    # Then the case is approved, and (unless a terminating end cut a side branch short) every
    # join fired exactly once per split
    assert (state["status"], state["outcome"]) == ("completed", "approved")
    joins = counted_joins(definition)
    assert len(joins) == sum(1 for n in definition.nodes.values() if n.join is not None)
    if not any(n.type == "parallel" and n.is_split and n.join is None for n in definition.nodes.values()):
        for split_id, after in joins:
            assert journal.entered[after] == journal.entered[split_id]


def _replay(definition: Definition, x: int, choices: list[int], *, restart: bool) -> tuple[dict, list]:
    result = step(definition, None, Start({"x": x}), T0)
    state, effects = result.state, list(result.effects)
    for choice in choices:
        if state["status"] != "running":
            break
        events = possible_events(definition, state, choice % 101)
        event = events[choice % len(events)]
        if restart:
            # As after a crash: only the stored JSON survives, and the service steps in place.
            state = load_state(dump_state(state))
            result = step(definition, state, event, T0, in_place=True)
        else:
            result = step(definition, state, event, T0)
        state = result.state
        effects += result.effects
    return state, effects


@FEWER
@given(processes(), st.integers(0, 100), st.lists(st.integers(0, 10**6), max_size=MAX_STEPS))
def test_restarting_after_every_step_changes_nothing(text: str, x: int, choices: list[int]):
    # Given a process and a fixed sequence of choices
    definition = load_generated(text)

    # When it is run once continuously and once reloaded from JSON before every step
    continuous = _replay(definition, x, choices, restart=False)
    restarted = _replay(definition, x, choices, restart=True)

    # Then the final state and every effect are the same
    assert restarted == continuous


# -- the shipped example templates, on random paths ------------------------------------

VALID_DATA = {
    "inclusive_default": {"floor_area": "600", "industry": "chemical"},
    "exclusive_loop": {"capital": "20000000"},
    "inclusive_rounds": {"x": 20},
    "service_tasks": {"company_name": "甲公司"},
    "correction_deadline": {"company_name": "甲公司"},
}


VALID_DEFINITIONS = {
    path.stem: check_definition(path.read_bytes(), departments=DEPARTMENTS, handlers=HANDLERS)[0]
    for path in sorted(VALID_DIR.glob("*.yaml"))
}


@PROPERTIES
@given(st.sampled_from(sorted(VALID_DEFINITIONS)), st.data())
def test_valid_templates_keep_every_invariant_on_random_paths(name: str, data: st.DataObject):
    definition = VALID_DEFINITIONS[name]
    assert definition is not None
    result = step(definition, None, Start(VALID_DATA.get(name, {})), T0)
    journal = Journal()
    state = result.state
    assert_invariants(definition, state, result.effects, journal)
    for _ in range(2 * MAX_STEPS):
        if state["status"] != "running":
            break
        events = possible_events(definition, state, data.draw(st.integers(0, 30)), approve_weight=4)
        event = data.draw(st.sampled_from(events))
        taken_back = _taken_back_rounds(state, event, journal)
        result = step(definition, state, event, T0)
        journal.entered.subtract(taken_back)
        _note_decision(journal, event, result.effects)
        state = result.state
        assert_invariants(definition, state, result.effects, journal)
        assert_second_signatures_refused(definition, state)
