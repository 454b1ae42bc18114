"""Soundness: every template the validator accepts runs as drawn.

test_properties.py draws block-structured processes, which are sound by
construction. Here the graphs are *unstructured*: arbitrary flows between a
start, ends (approved, rejected, withdrawn; some not terminating, some with
certificates), user tasks (approve / reject / return, SLAs that decide on
breach, countersigns), service tasks, waits, parallel, exclusive and
inclusive gateways, corrections (with deadlines) and calls of a small
sub-process; and block-structured processes with one flow redirected at
random. Most of them are refused; for those the validator accepts, random
runs that decide, return, time out and correct at random (each step applied
with `step` to the state read back from its stored JSON) must:

- end exactly once, and then leave no token, task, timer, scope or frame;
- never hold two tokens on one node, nor two live tasks of one node and
  signer (no task is created twice in one round);
- never approve the case while a task that could still end it is open (an
  approval cuts short only side paths, which cannot end the case);
- while running, always have something that can happen, and a way to an end
  (searched breadth-first, taking every gateway condition as a free choice,
  which is what the validator guarantees).

On top of random runs, a model check explores every reachable state of the
accepted graphs (ids and counters left out, the data changed freely between
steps so that every gateway condition is a free choice, as the validator
assumes), up to a bound: no state is stuck or cut off from every end, and
every node that the graph lets run does run.

Templates it refuses must be refused with every problem at a line of the
text. Counterexamples found while writing the rules are kept in
tests/data/workflows/invalid/ (each names its error) and valid/.

Amount of testing follows the Hypothesis profile tests/conftest.py loads:
`dev` on a developer's machine (50 examples, a few seconds per test), `ci`
under CI=true (500, derandomized); each test takes a share of it (`scaled`),
by the cost of its examples. HYPOTHESIS_PROFILE=ci runs the CI amount
locally.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from govflow.engine import (
    Definition,
    IllegalEvent,
    Start,
    Withdraw,
    check_definition,
    dump_state,
    load_state,
    step,
)
from govflow.engine.runtime import CaseCompleted, NodeEntered, TaskCancelled

from .conftest import DEPARTMENTS, HANDLERS, T0
from .test_properties import Journal, assert_invariants, possible_events, processes, to_yaml


def scaled(share: float) -> settings:
    """The loaded profile (dev or ci, tests/conftest.py) with `share` of its
    examples: a model check costs far more per example than a random run."""
    base = settings.default
    return settings(
        base,
        max_examples=max(round(base.max_examples * share), 10),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


REVIEWERS = ["market_regulation", "tax", "fire", "bank"]
MAX_STEPS = 80
SEARCH_LIMIT = 400  # abstract states a search for a way to an end may visit
# Values of x that make every branch of a generated gateway hold in turn:
# `x > k` (0 <= k <= 100) with 0, 50 and 101; `x % p == 0` (p = 2, 3, 5, at
# most one per branch of a gateway) with 1 and every product of them.
MODULI = (2, 3, 5)
X_VALUES = (0, 1, 2, 3, 5, 6, 10, 15, 30, 50, 101)
# enough to take every branch (-1: `x > 0` and `x % 2 == 0` both false, so an inclusive default runs)
X_CHOICES = (-1, 0, 1, 2, 3, 5, 6, 10, 15, 30, 101)
MODEL_LIMIT = 1500  # abstract states a model check may visit before it gives up

SUB_PROCESS = [
    {"id": "s_start", "type": "start", "next": "s_review"},
    {
        "id": "s_review",
        "type": "user_task",
        "title": {"zh": "s_review", "en": "s_review"},
        "department": "archives",
        "outcomes": {"approve": "s_done", "reject": "s_refused"},
    },
    {"id": "s_done", "type": "end", "title": {"zh": "s", "en": "s"}, "outcome": "approved"},
    {"id": "s_refused", "type": "end", "title": {"zh": "s", "en": "s"}, "outcome": "rejected"},
]


# -- unstructured graphs ------------------------------------------------------


def _title(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


@st.composite
def unstructured(draw: st.DrawFn) -> str:
    """Arbitrary flows. Every node's first flow goes to a later node (so most
    nodes can reach an end); the others go anywhere, loops included."""
    kinds = draw(
        st.lists(
            st.sampled_from(
                ["user"] * 4
                + ["parallel"] * 3
                + ["exclusive"] * 2
                + ["inclusive"] * 2
                + ["correction", "wait", "service", "call"]
            ),
            min_size=1,
            max_size=8,
        )
    )
    inner = [f"n{i}" for i in range(1, len(kinds) + 1)]
    ends = ["done"]
    end_nodes = [{"id": "done", "type": "end", "outcome": "approved"}]
    if draw(st.integers(0, 5)) == 0:
        end_nodes[0]["certificates"] = [{"type": "licence", "department": "fire", "title": _title("licence")}]
    for end_id, outcome in (("refused", "rejected"), ("lapsed", "withdrawn"), ("filed", "approved")):
        if draw(st.booleans()):
            ends.append(end_id)
            end_nodes.append({"id": end_id, "type": "end", "outcome": outcome})
    for end in end_nodes:
        if draw(st.integers(0, 3)) == 0:
            end["terminate"] = False
    everything = inner + ends

    def later(index: int) -> str:
        # Mostly the next node: a chain from the start reaches most nodes.
        if index + 1 < len(inner) and draw(st.booleans()):
            return everything[index + 1]
        return draw(st.sampled_from(everything[index + 1 :]))

    def anywhere(index: int) -> str:
        # Rarely the node itself (refused: a node may not lead to itself).
        return draw(
            st.sampled_from(
                everything
                if draw(st.integers(0, 9)) == 0
                else [*everything[:index], *everything[index + 1 :]]
            )
        )

    def conditions(count: int) -> list[str]:
        # Distinct moduli within a gateway, so that some x takes each branch.
        moduli = draw(st.permutations(MODULI))
        return [
            draw(st.sampled_from(["true", "false", f"x % {m} == 0", f"x % {m} == 0"])) for m in moduli[:count]
        ]

    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start", "next": later(-1)}]
    for index, (node_id, kind) in enumerate(zip(inner, kinds, strict=True)):
        node: dict[str, Any] = {"id": node_id}
        if kind == "user":
            outcomes = {"approve": later(index)}
            for outcome in ("reject", "return"):
                if draw(st.booleans()):
                    outcomes[outcome] = anywhere(index)
            node |= {
                "type": "user_task",
                "department": draw(st.sampled_from(REVIEWERS)),
                "outcomes": outcomes,
            }
            if draw(st.integers(0, 4)) == 0:
                mode = draw(st.sampled_from(["all", "any", "sequential"]))
                node["countersign"] = {"mode": mode, "signers": ["fire", "tax"]}
            if draw(st.integers(0, 2)) == 0:
                breach = draw(st.sampled_from([*sorted(outcomes.keys() & {"approve", "reject"}), "escalate"]))
                node["sla"] = {"days": 3, "on_breach": breach}
                if breach != "escalate":
                    node["sla"]["legal_basis"] = "地方规定"
        elif kind in ("parallel", "exclusive", "inclusive"):
            node["type"] = kind
            width = draw(st.integers(1, 3))
            targets = list(dict.fromkeys([later(index)] + [anywhere(index) for _ in range(width - 1)]))
            if len(targets) == 1:
                node["next"] = targets[0]
            elif kind == "parallel":
                node["next"] = targets
            else:
                whens = conditions(len(targets) - 1)
                branches: list[dict[str, Any]] = [
                    {"to": t, "when": when} for t, when in zip(targets[1:], whens, strict=True)
                ]
                branches.insert(draw(st.integers(0, len(branches))), {"to": targets[0], "default": True})
                node["branches"] = branches
        elif kind == "correction":
            node |= {"type": "correction", "next": anywhere(index)}
            if draw(st.booleans()):
                node |= {"deadline": {"days": 5}, "on_timeout": later(index)}
            else:
                node["next"] = later(index)
        elif kind == "wait":
            node |= {"type": "wait", "days": 2, "next": later(index)}
        elif kind == "service":
            node |= {"type": "service_task", "handler": "id_numbers_check", "next": later(index)}
        else:
            outcomes = {"approved": later(index)}
            if draw(st.booleans()):
                outcomes["rejected"] = anywhere(index)
            node |= {"type": "call", "process": "sub", "outcomes": outcomes}
        nodes.append(node)
    # Ends nothing leads to are left out (they would only be unreachable).
    named = json.dumps(nodes)
    end_nodes = [end for end in end_nodes if f'"{end["id"]}"' in named]
    for node in [*nodes[1:], *end_nodes]:
        if node["type"] in ("user_task", "service_task", "wait", "correction", "call", "end"):
            node["title"] = _title(node["id"])
    document: dict[str, Any] = {
        "id": "unstructured",
        "title": _title("unstructured"),
        "form": {"fields": [{"id": "x", "type": "number", "label": _title("x")}]},
        "nodes": [*nodes, *end_nodes],
    }
    if "call" in kinds:
        document["subprocesses"] = {"sub": {"title": _title("sub"), "nodes": SUB_PROCESS}}
    return to_yaml(document)


@st.composite
def redirected(draw: st.DrawFn) -> str:
    """A block-structured process (sound by construction) with one flow sent
    elsewhere in its process: near misses of the rules."""
    document = YAML(typ="safe", pure=True).load(draw(processes()))
    lists = [document["nodes"], *(sub["nodes"] for sub in (document.get("subprocesses") or {}).values())]
    nodes = draw(st.sampled_from(lists))
    ids = [n["id"] for n in nodes if n["type"] != "start"]
    flows: list[tuple[str, Any, Any]] = []  # (node, container, key) holding a target
    for node in nodes:
        for key in ("next", "on_timeout"):
            if isinstance(node.get(key), str):
                flows.append((node["id"], node, key))
            elif isinstance(node.get(key), list):
                flows += [(node["id"], node[key], i) for i in range(len(node[key]))]
        flows += [(node["id"], node["outcomes"], k) for k in node.get("outcomes", {})]
        flows += [(node["id"], branch, "to") for branch in node.get("branches", [])]
    owner, container, key = draw(st.sampled_from(flows))
    container[key] = draw(st.sampled_from([i for i in ids if i != owner]))
    return to_yaml(document)


@st.composite
def extended(draw: st.DrawFn) -> str:
    """A block-structured process with one to three flows added anywhere in
    its process: a `return` or `reject` to another node, a branch more, a
    correction deadline's timeout. Nothing becomes unreachable, so whether it
    is accepted depends on the soundness rules alone."""
    document = YAML(typ="safe", pure=True).load(draw(processes()))
    lists = [document["nodes"], *(sub["nodes"] for sub in (document.get("subprocesses") or {}).values())]
    for _ in range(draw(st.integers(1, 3))):
        nodes = draw(st.sampled_from(lists))
        node = draw(st.sampled_from([n for n in nodes if n["type"] != "end"]))
        target = draw(st.sampled_from([n["id"] for n in nodes if n["type"] != "start" and n is not node]))
        if node["type"] == "user_task":
            node["outcomes"][draw(st.sampled_from(["return", "reject"]))] = target
        elif node["type"] == "correction" and "deadline" not in node:
            node |= {"deadline": {"days": 3}, "on_timeout": target}
        elif node["type"] == "parallel" and isinstance(node["next"], list) and target not in node["next"]:
            node["next"].append(target)
        elif "branches" in node and all(b["to"] != target for b in node["branches"]):
            # A modulus no branch of the gateway uses yet, so that some x takes the new branch.
            free = [m for m in MODULI if all(f"x % {m} " not in b.get("when", "") for b in node["branches"])]
            if free:
                node["branches"].append({"to": target, "when": f"x % {draw(st.sampled_from(free))} == 0"})
    return to_yaml(document)


# -- driving a case -------------------------------------------------------------


def _stored(state: dict[str, Any]) -> dict[str, Any]:
    """The state as the service reads it back: through its JSON."""
    return load_state(json.loads(dump_state(state)))


def _deciders(definition: Definition) -> set[str]:
    """Main-process nodes from which the case can still be ended by a
    terminating end or a call's unmapped outcome."""
    nodes = definition.nodes
    ends_with = {
        p: {n.outcome for n in nodes.values() if n.process == p and n.type == "end"}
        for p in definition.processes
    }
    enders = {
        n.id
        for n in nodes.values()
        if (n.type == "end" and n.terminate)
        or (n.type == "call" and ends_with[n.calls or ""] - set(n.outcomes))
    }
    found = set(enders)
    changed = True
    while changed:
        changed = False
        for node in nodes.values():
            if node.id not in found and any(t in found for t in node.successors):
                found.add(node.id)
                changed = True
    return {n for n in found if nodes[n].process == "main"}


def check_step(
    definition: Definition,
    before: dict[str, Any],
    state: dict[str, Any],
    effects: list[Any],
    deciders: set[str],
) -> None:
    # No node holds two tokens, no node and signer two live tasks.
    on_nodes = Counter(token["node"] for token in state["tokens"].values())
    assert max(on_nodes.values(), default=0) <= 1, f"two tokens on one node: {on_nodes}"
    live = Counter((task["node"], task["signer"]) for task in state["tasks"].values())
    assert max(live.values(), default=0) <= 1, f"a task created twice: {live}"
    # An approval never cuts short a task that could still end the case.
    completed = [e for e in effects if isinstance(e, CaseCompleted)]
    if completed and completed[0].outcome == "approved":
        for effect in effects:
            if (
                isinstance(effect, TaskCancelled)
                and effect.reason == "ended"
                and effect.task_id in before["tasks"]
            ):
                task = before["tasks"][effect.task_id]
                assert task["node"] not in deciders, f"the approval cut '{task['node']}' short"


def _abstract(state: dict[str, Any]) -> Any:
    """A state without its ids and counters: what decides what can happen next."""
    scopes = state["scopes"]
    tokens = []
    for token_id, token in state["tokens"].items():
        tasks = sorted(
            (t["kind"], t["signer"] if t["signer"] is not None else -1, t["escalated"])
            for t in state["tasks"].values()
            if t["token"] == token_id
        )
        timers = sorted(m["kind"] for m in state["timers"].values() if m["token"] == token_id)
        frame = state["frames"].get(token["frame"], {}).get("call", "")
        tokens.append(
            (
                token["node"],
                frame,
                tuple(
                    (scopes[s]["join"], scopes[s]["expected"], scopes[s]["arrived"])
                    for s in token["scopes"]
                    if s in scopes
                ),
                len(token.get("signatures", ())),
                tuple(tasks),
                tuple(timers),
            )
        )
    return (state["status"], state["data"].get("x"), tuple(sorted(tokens)))


def _moves(definition: Definition, state: dict[str, Any]) -> list[Any]:
    events = possible_events(definition, state, state["data"].get("x", 0), operations=False)
    return [e for e in events if not isinstance(e, Withdraw)]


def can_end(definition: Definition, state: dict[str, Any]) -> bool | None:
    """Whether some sequence of events ends the case (conditions taken as free
    choices: the applicant's data may be anything). None: not decided within
    SEARCH_LIMIT states."""
    queue = deque([state])
    seen = {_abstract(state)}
    while queue:
        current = queue.popleft()
        choices = [(e, current) for e in _moves(definition, current)]
        for x in X_VALUES:
            if current["data"].get("x") != x:
                other = {**current, "data": {**current["data"], "x": x}}
                choices += [(e, other) for e in _moves(definition, other)]
        for event, source in choices:
            try:
                result = step(definition, source, event, T0)
            except IllegalEvent as exc:
                raise AssertionError(f"{event} refused from a reachable state: {exc.message}") from exc
            if result.state["status"] != "running":
                return True
            key = _abstract(result.state)
            if key not in seen:
                if len(seen) >= SEARCH_LIMIT:
                    return None
                seen.add(key)
                queue.append(result.state)
    return False


def _never_holds(branch: Any) -> bool:
    condition = branch.condition
    return condition is not None and not condition.names and condition.test({}) is False


def runnable_nodes(definition: Definition) -> set[str]:
    """Every node the graph lets run: all of them but those reached only
    through a branch switched off by a condition that never holds, or an
    outcome a called sub-process never ends with."""
    nodes = definition.nodes
    outcomes = {
        p: {n.outcome for n in nodes.values() if n.process == p and n.type == "end"}
        for p in definition.processes
    }
    changed = True
    while changed:  # outcomes a call does not map end its caller with them
        changed = False
        for node in nodes.values():
            extra = (
                outcomes[node.calls] - set(node.outcomes) - outcomes[node.process]
                if node.type == "call"
                else set()
            )
            if extra:
                outcomes[node.process] |= extra
                changed = True
    found = {definition.start}
    queue = deque(found)
    while queue:
        node = nodes[queue.popleft()]
        if node.type == "call":
            targets = [t for o, t in node.outcomes.items() if o in outcomes[node.calls or ""]]
            targets.append(definition.processes[node.calls or ""].start)
        elif node.branches:
            targets = [b.target for b in node.branches if not _never_holds(b)]
        else:
            targets = list(node.successors)
        for target in targets:
            if target not in found:
                found.add(target)
                queue.append(target)
    return found


def choices_are_independent(definition: Definition) -> bool:
    """Whether no gateway with conditions follows another one within a step
    (through gateways, and calls into their sub-process). Then x, which the model check changes freely
    between steps, is a free choice at every gateway; otherwise two
    conditions on one x in one step may rule out a branch for good."""
    nodes = definition.nodes
    choosing = {n.id for n in nodes.values() if n.branches and len(n.successors) > 1}
    for gateway in choosing:
        seen: set[str] = set()
        queue = deque(nodes[gateway].successors)
        while queue:
            node_id = queue.popleft()
            node = nodes[node_id]
            if node_id in choosing:
                return False
            if node_id in seen:
                continue
            seen.add(node_id)
            if node.type in ("parallel", "exclusive", "inclusive", "start"):
                queue.extend(node.successors)
            elif node.type == "call":  # the sub-process starts in the same step
                queue.append(definition.processes[node.calls or ""].start)
    return True


def model_check(definition: Definition, limit: int = MODEL_LIMIT) -> bool:
    """Every reachable state (ids and counters left out, x taken as any of
    X_CHOICES at any moment: conditions are free choices), up to `limit`
    of them: each step keeps the invariants, no running state is
    stuck or cut off from every end, and every runnable node runs (when the
    choices are independent). False when the state space was too large to
    finish."""
    deciders = _deciders(definition)
    states: dict[Any, dict[str, Any]] = {}
    successors: dict[Any, set[Any]] = {}
    entered: set[str] = set()
    queue: deque[Any] = deque()
    truncated = False

    def visit(source: dict[str, Any], result: Any, key: Any | None) -> None:
        nonlocal truncated
        entered.update(e.node for e in result.effects if isinstance(e, NodeEntered))
        check_step(definition, source, result.state, result.effects, deciders)
        assert sum(isinstance(e, CaseCompleted) for e in result.effects) <= 1
        target = _abstract(result.state)
        if key is not None:
            successors[key].add(target)
        if target not in states:
            if len(states) >= limit:
                truncated = True
                return
            states[target] = result.state
            successors[target] = set()
            queue.append(target)

    for x in X_CHOICES:
        visit({"tasks": {}}, step(definition, None, Start({"x": x}), T0), None)
    while queue:
        key = queue.popleft()
        state = states[key]
        if state["status"] != "running":
            assert all(state[k] == {} for k in ("tokens", "tasks", "timers", "scopes", "frames")), key
            continue
        sources = [state] + [
            {**state, "data": {**state["data"], "x": x}} for x in X_CHOICES if x != state["data"].get("x")
        ]
        moves = [(event, source) for source in sources for event in _moves(definition, source)]
        assert moves, f"stuck: nothing can happen in {key}"
        for event, source in moves:
            try:
                result = step(definition, source, event, T0)
            except IllegalEvent as exc:
                raise AssertionError(f"{event} refused in {key}: {exc.message}") from exc
            visit(source, result, key)
    if truncated:
        return False
    # Every state can still reach an end.
    predecessors: dict[Any, set[Any]] = {k: set() for k in states}
    for key, targets in successors.items():
        for target in targets:
            if target in predecessors:
                predecessors[target].add(key)
    can_end = {k for k, state in states.items() if state["status"] != "running"}
    queue = deque(can_end)
    while queue:
        for prev in predecessors[queue.popleft()]:
            if prev not in can_end:
                can_end.add(prev)
                queue.append(prev)
    stuck = [k for k in states if k not in can_end]
    assert not stuck, f"{len(stuck)} states cannot reach an end, e.g. {stuck[0]}"
    if choices_are_independent(definition):
        missing = runnable_nodes(definition) - entered
        assert not missing, f"nodes that never run: {sorted(missing)}"
    return True


def run_random(definition: Definition, data: st.DataObject) -> dict[str, Any]:
    deciders = _deciders(definition)
    x = data.draw(st.integers(0, 100), label="x")
    result = step(definition, None, Start({"x": x}), T0)
    state, effects = _stored(result.state), result.effects
    journal = Journal()
    assert_invariants(definition, state, effects, journal)
    check_step(definition, {"tasks": {}}, state, effects, deciders)
    endings = sum(isinstance(e, CaseCompleted) for e in effects)
    may_withdraw = data.draw(st.integers(0, 14), label="withdraws") == 0
    for _ in range(MAX_STEPS):
        if state["status"] != "running":
            break
        events = possible_events(
            definition, state, data.draw(st.integers(0, 100)), approve_weight=2, operations=False
        )
        if may_withdraw:
            events.append(Withdraw())
        event = data.draw(st.sampled_from(events))
        try:
            result = step(definition, state, event, T0)
        except IllegalEvent as exc:
            raise AssertionError(f"{event} refused on a running case: {exc.message}") from exc
        before, state, effects = state, _stored(result.state), result.effects
        assert_invariants(definition, state, effects, journal)
        check_step(definition, before, state, effects, deciders)
        endings += sum(isinstance(e, CaseCompleted) for e in effects)
    assert endings == (0 if state["status"] == "running" else 1)
    if state["status"] == "running":
        assert can_end(definition, state) is not False, "the case can no longer reach an end"
    return state


def check_graph(text: str, data: st.DataObject) -> Definition | None:
    note(text)
    definition, problems = check_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)
    if definition is None:
        lines = text.splitlines()
        assert problems
        for problem in problems:
            assert 1 <= problem.line <= len(lines) + 1, problem
            assert problem.col >= 1, problem
            assert problem.message, problem
        return None
    assert problems == []
    for _ in range(2):
        run_random(definition, data)
    return definition


# -- the properties -------------------------------------------------------------------


@scaled(2)
@given(unstructured(), st.data())
def test_every_accepted_unstructured_graph_runs_soundly(text: str, data: st.DataObject):
    check_graph(text, data)


@scaled(0.5)
@given(redirected(), st.data())
def test_every_accepted_near_miss_runs_soundly(text: str, data: st.DataObject):
    check_graph(text, data)


@scaled(0.6)
@given(extended(), st.data())
def test_every_accepted_process_with_flows_added_runs_soundly(text: str, data: st.DataObject):
    check_graph(text, data)


@scaled(1)
@given(unstructured())
def test_every_accepted_unstructured_graph_passes_a_model_check(text: str):
    note(text)
    definition, _problems = check_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)
    if definition is not None:
        model_check(definition)


@scaled(0.25)
@given(extended())
def test_every_accepted_process_with_flows_added_passes_a_model_check(text: str):
    note(text)
    definition, _problems = check_definition(text, departments=DEPARTMENTS, handlers=HANDLERS)
    if definition is not None:
        model_check(definition, limit=MODEL_LIMIT // 3)
