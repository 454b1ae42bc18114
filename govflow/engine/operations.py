"""The operations that move a case other than by a plain decision:
退回 (send the case back to an earlier step), 撤回/拿回 (take a decision
back), 转办 (pass a task to another department) and 加签/减签 (signers added
before or after a reviewer, and removed again).

The runtime calls these on its `_Machine` (the user task's reactions and
`EVENT_HANDLERS`); like the rest of the engine they read no clock and touch
no database. What they guarantee (docs/process-language.md, "Operations"):

- A return goes only to a user task of the same process that the case has
  passed on the way to this one and that has no token now, is not fenced
  off by the template (`return_to`), does not sit inside a block the
  returning step is outside of, and is not behind a split without a join
  (whose side branch would run twice). Inside one branch of a block only
  that branch restarts; to a step before the block's split every open task
  of the block is cancelled and the block's decisions are cleared.
- A take-back undoes exactly what the decision set going (tokens, tasks,
  scopes, join arrivals, rounds), and only while all of it is untouched: no
  task it created has been decided, no token it moved has moved again. The
  decided task comes back with the time it had (its SLA continues).
- A decision that ended a sub-process (the last step of a `call`) can be
  taken back too, while the caller's next step has not acted: the
  sub-process is opened again where it was, the caller's token goes back to
  the call node and the call's outcome is forgotten. Not when the
  sub-process had other branches still running, issued certificates, or
  its end started or ended any other sub-process (or the case).
- A decision inside a sub-process (or a bundle's item) is taken back into
  that sub-process only while it is still open: once it has ended (a path
  the decision ended at a `terminate: false` end, then another branch
  ended the sub-process), the take-back is refused (`take_back_too_late`),
  since it would put a token into a frame that no longer exists.
"""

from __future__ import annotations

import marshal
from typing import TYPE_CHECKING, Any

from .definition import Definition, Node
from .effects import (
    DecisionTakenBack,
    SentBack,
    TaskCompleted,
    TaskExtended,
    TaskTransferred,
    TimerCancelled,
)
from .problems import IllegalEvent, Message

if TYPE_CHECKING:
    from .events import AddSigner, ExtendTask, RemoveSigner, ReturnTask, TakeBack, TransferTask
    from .runtime import _Machine as Machine

SPLIT_KINDS = ("parallel", "inclusive")


def _copy(value: Any) -> Any:
    return marshal.loads(marshal.dumps(value))


# -- the graph ----------------------------------------------------------------------


def _reach(definition: Definition, start: str, *, forward: bool) -> set[str]:
    nodes = definition.nodes
    if forward:
        links = {node_id: node.successors for node_id, node in nodes.items()}
    else:
        back: dict[str, list[str]] = {}
        for node in nodes.values():
            for target in node.successors:
                back.setdefault(target, []).append(node.id)
        links = {node_id: tuple(back.get(node_id, ())) for node_id in nodes}
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in links[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def return_targets(definition: Definition, state: dict[str, Any], task_id: str) -> list[str]:
    """The steps the reviewer of open task `task_id` may send the case back
    to, in the template's order (empty when there are none)."""
    task = state["tasks"].get(task_id)
    if task is None or task["kind"] not in ("review", "signature") or task.get("added"):
        return []
    nodes = definition.nodes
    node = nodes[task["node"]]
    if node.return_to == ():
        return []
    token = state["tokens"][task["token"]]
    earlier = _reach(definition, node.id, forward=False)
    active = {t["node"] for t in state["tokens"].values() if t["frame"] == token["frame"]}
    splits = [n for n in nodes.values() if n.type in SPLIT_KINDS and n.is_split]
    found = []
    for candidate in nodes.values():
        if (
            candidate.id not in earlier
            or candidate.id == node.id
            or candidate.type != "user_task"
            or candidate.process != node.process
            or (node.return_to is not None and candidate.id not in node.return_to)
            or not state["rounds"].get(candidate.id)
            or candidate.id in active
        ):
            continue
        # Its blocks must be the returning step's blocks too (else its branch
        # would reach a join outside any scope) ...
        if any(candidate.id in s.block and node.id not in s.block for s in splits if s.join):
            continue
        # ... and no split without a join may lie between (its side branch would run twice).
        later = _reach(definition, candidate.id, forward=True)
        if any(s.join is None and s.id in later and s.id in earlier for s in splits):
            continue
        found.append(candidate.id)
    return found


def _between(definition: Definition, first: str, last: str) -> set[str]:
    """The nodes on some path from `first` to `last`, both included."""
    return (_reach(definition, first, forward=True) & _reach(definition, last, forward=False)) | {
        first,
        last,
    }


# -- 退回 -----------------------------------------------------------------------------


def return_task(machine: Machine, event: ReturnTask, task: dict, node: Node) -> None:
    state, nodes = machine.state, machine.nodes
    targets = return_targets(machine.definition, state, event.task_id)
    if event.target not in targets:
        offered = ", ".join(targets)
        raise IllegalEvent(
            Message(
                "'{node}' cannot send the case back to '{target}' (possible: {offered})",
                node=node.id,
                target=event.target,
                offered=offered,
            )
            if offered
            else Message(
                "'{node}' cannot send the case back to '{target}' (no step is possible)",
                node=node.id,
                target=event.target,
            ),
            code="return_target_not_allowed",
        )
    token_id = task["token"]
    token = state["tokens"][token_id]
    scopes = token["scopes"]
    split_of = {n.join: n for n in nodes.values() if n.join is not None}
    level = 0
    for scope_id in scopes:
        if event.target in split_of[state["scopes"][scope_id]["join"]].block:
            level += 1
        else:
            break
    if event.come_back and level < len(scopes):
        raise IllegalEvent(
            Message(
                "the case can come straight back only from a step of the same branch; "
                "a return before the split runs the block again"
            ),
            code="come_back_not_possible",
        )
    _close(machine, event.task_id, task, node, "returned")
    for other in list(token.get("tasks", ())):
        machine.cancel_task(other, "returned")
    for key in ("tasks", "signatures", "held", "come_back"):
        token.pop(key, None)
    if node.clock_excluded:
        machine.resume(node.id, token)
    # 回到我 skips the steps between: their decisions stand. Otherwise the
    # path runs again and none of them counts until decided anew.
    cleared = {node.id} if event.come_back else _between(machine.definition, event.target, node.id)
    cancelled_block = None
    if level < len(scopes):
        outer = scopes[level]
        split = split_of[state["scopes"][outer]["join"]]
        cancelled_block = split.id
        cleared |= split.block
        doomed = [t for t, other in state["tokens"].items() if t != token_id and outer in other["scopes"]]
        frames: set[str] = set()
        for frame_id, frame in list(state["frames"].items()):
            if frame["token"] in doomed:
                frames |= machine.frames_within(frame_id)
        inner = [t for t, other in state["tokens"].items() if other["frame"] in frames]
        gone = set(scopes[level:])
        for other_id in doomed:
            other_scopes = machine.discard_token(other_id, "returned")["scopes"]
            gone |= set(other_scopes[other_scopes.index(outer) :])
        for other_id in inner:
            if other_id in state["tokens"]:
                gone |= set(machine.discard_token(other_id, "returned")["scopes"])
        for frame_id in frames:
            state["frames"].pop(frame_id, None)
        for scope_id in gone:
            state["scopes"].pop(scope_id, None)
        token["scopes"] = scopes[:level]
    dropped = []
    for member in sorted(cleared):
        if member != event.target:
            had = state["decisions"].pop(member, None) is not None
            if state["results"].pop(member, None) is not None or had:
                dropped.append(member)
    prune_undo(state)
    if event.come_back:
        token["come_back"] = {"at": event.target, "to": node.id}
    machine.effects.append(
        SentBack(event.task_id, node.id, event.target, tuple(dropped), cancelled_block, event.come_back)
    )
    machine.move(token_id, event.target)


def _close(machine: Machine, task_id: str, task: dict, node: Node, outcome: str) -> None:
    """Take a decided task out of the state (its timers too) and say so."""
    state = machine.state
    del state["tasks"][task_id]
    for timer_id in [m for m, t in state["timers"].items() if t["task"] == task_id]:
        del state["timers"][timer_id]
        machine.effects.append(TimerCancelled(timer_id))
    machine.effects.append(TaskCompleted(task_id, node.id, outcome))
    token = state["tokens"][task["token"]]
    if task_id in token.get("tasks", ()):
        token["tasks"].remove(task_id)


# -- 转办 -----------------------------------------------------------------------------


def transfer_task(machine: Machine, event: TransferTask, task: dict, node: Node) -> None:
    rule = node.transfer
    if rule is None or task.get("added"):
        raise IllegalEvent(
            Message("tasks of '{node}' cannot be transferred", node=node.id), code="transfer_not_allowed"
        )
    if event.department == task["department"]:
        raise IllegalEvent(
            Message("the task is already with that department"), code="transfer_same_department"
        )
    if rule.to is not None and event.department not in rule.to:
        raise IllegalEvent(
            Message(
                "tasks of '{node}' go only to {departments}", node=node.id, departments=", ".join(rule.to)
            ),
            code="transfer_target_not_allowed",
        )
    before = task["department"]
    task["department"] = event.department
    task.setdefault("transfers", []).append(
        {"from": before, "to": event.department, "by": event.actor, "at": machine.now}
    )
    machine.effects.append(TaskTransferred(event.task_id, node.id, before, event.department, rule.via))


# -- 延期 -----------------------------------------------------------------------------


def extend_task(machine: Machine, event: ExtendTask, task: dict, node: Node) -> None:
    """延期: the task's SLA moves by the node's extension, at most `max`
    times per node and case (counted in state["extensions"])."""
    rule = node.extension
    if rule is None or node.sla is None or task.get("added"):
        raise IllegalEvent(
            Message("the time limit of '{node}' cannot be extended", node=node.id),
            code="extension_not_allowed",
        )
    counts = machine.state.setdefault("extensions", {})
    done = int(counts.get(node.id, 0))
    if done >= rule.max:
        raise IllegalEvent(
            Message(
                "the time limit of '{node}' was already extended once, the most its template allows",
                node=node.id,
            )
            if rule.max == 1
            else Message(
                "the time limit of '{node}' was already extended {count} times, the most its template allows",
                node=node.id,
                count=rule.max,
            ),
            code="extension_limit_reached",
        )
    counts[node.id] = done + 1
    task.setdefault("extensions", []).append({"by": event.actor, "at": machine.now, **rule.limit.as_dict()})
    machine.effects.append(TaskExtended(event.task_id, node.id, rule.limit.days, rule.limit.hours, done + 1))


# -- 加签 / 减签 ------------------------------------------------------------------------


def add_signer(machine: Machine, event: AddSigner, task: dict, node: Node) -> None:
    state = machine.state
    if task.get("added"):
        raise IllegalEvent(Message("an added signer cannot add another"), code="add_signer_not_allowed")
    if event.position not in ("before", "after"):
        raise IllegalEvent(Message("a signer is added 'before' or 'after'"), code="add_signer_not_allowed")
    if event.department in _signing_departments(state, task):
        raise IllegalEvent(Message("that department already signs here"), code="signer_already_added")
    if event.position == "after":
        task.setdefault("after", []).append(event.department)
        return
    added = add_task(machine, task["token"], node, event.department, event.task_id, "before", task["round"])
    task.setdefault("waiting", []).append(added)


def _signing_departments(state: dict[str, Any], task: dict) -> set[str]:
    token = state["tokens"][task["token"]]
    waiting = {state["tasks"][t]["department"] for t in task.get("waiting", ()) if t in state["tasks"]}
    return (
        waiting
        | set(task.get("after", ()))
        | {state["tasks"][t]["department"] for t in token.get("tasks", ()) if state["tasks"][t].get("added")}
    )


def add_task(
    machine: Machine, token_id: str, node: Node, department: str, owner: str, position: str, round_: int
) -> str:
    added = machine.create_task(token_id, node, "review", department, round_, None)
    machine.state["tasks"][added]["added"] = {"for": owner, "position": position}
    machine.state["tokens"][token_id].setdefault("tasks", []).append(added)
    return added


def remove_signer(machine: Machine, event: RemoveSigner, task: dict, node: Node) -> tuple[str, str] | None:
    """`task` is the reviewer's open task (the signer an added task id, or a
    department still to sign after), or the added task itself. Returns
    (token id, owner task id) when the owner's held approval waits for no one
    now: the node's kind lets it count (`UserTask.release_held`)."""
    state = machine.state
    if event.signer in task.get("after", ()):
        task["after"].remove(event.signer)
        if not task["after"]:
            del task["after"]
        return
    added = state["tasks"].get(event.signer)
    info = added.get("added") if added else None
    if added is None or info is None or (event.signer != event.task_id and info["for"] != event.task_id):
        raise IllegalEvent(Message("no such added signer on this task"), code="signer_not_found")
    token_id = added["token"]
    token = state["tokens"][token_id]
    machine.cancel_task(event.signer, "signer_removed")
    token["tasks"].remove(event.signer)
    owner_id = info["for"]
    if info["position"] == "before":
        owner = state["tasks"].get(owner_id)
        if owner is not None and event.signer in owner.get("waiting", ()):
            owner["waiting"].remove(event.signer)
            if not owner["waiting"]:
                del owner["waiting"]
        return
    held = token.get("held", {}).get(owner_id)
    if held is not None and event.signer in held["waiting"]:
        held["waiting"].remove(event.signer)
        if not held["waiting"]:
            return token_id, owner_id
    return None


# -- 撤回 / 拿回 ------------------------------------------------------------------------


def begin_trail(machine: Machine, task_id: str, task: dict) -> dict[str, Any]:
    state = machine.state
    token = state["tokens"][task["token"]]
    frame_id = token["frame"]
    call = None
    frame = state["frames"].get(frame_id) if frame_id else None
    if frame is not None and machine.nodes[frame["call"]].type == "call":
        # a called sub-process (not a bundle's item): what its end would change in the caller
        caller = state["tokens"][frame["token"]]
        call = {
            "frame": frame_id,
            "info": _copy(frame),
            "caller": frame["token"],
            "caller_before": _copy(caller),
            "decision": _copy(state["decisions"].get(frame["call"])),
            "alone": sum(1 for t in state["tokens"].values() if t["frame"] == frame_id) == 1,
            "certificates": len(state["certificates"]),
        }
    tasks = state["tasks"]
    siblings = {t: tasks[t] for t in token.get("tasks", ()) if t != task_id}
    # one copy of the four (a decision takes a trail, whether or not it is kept)
    task_before, token_before, siblings, results = _copy(
        (task, token, siblings, state["results"].get(task["node"]))
    )
    return {
        "call": call,
        "task": task_before,
        "token": task["token"],
        "token_before": token_before,
        "siblings": siblings,
        "results": results,
        "frames": sorted(state["frames"]),
        "at": machine.now,
        "tokens": [],
        "tasks": [],
        "scopes": [],
        "arrivals": [],
        "rounds": {},
    }


def keep_trail(machine: Machine, task_id: str) -> None:
    """After a reviewer's decision: keep what it set going, to be taken back."""
    trail, machine.trail = machine.trail, None
    state = machine.state
    if trail is None or state["status"] != "running":
        return
    undo = state.setdefault("undo", {})
    prune_undo(state)
    if trail["task"].get("added"):
        return  # an added signer signed: not undone
    call = trail.pop("call")
    if sorted(state["frames"]) == trail["frames"]:
        call = None
    elif not _ended_alone(state, trail, call):
        return  # a sub-process started, or ended with more than this decision: not undone
    tokens = state["tokens"]
    alive = [*trail["tokens"], trail["token"]]
    if call is not None:
        trail["call"] = call
        alive.append(call["caller"])
    trail["alive"] = {t: tokens[t]["node"] for t in alive if t in tokens}
    trail["open"] = [t for t in trail.pop("tasks") if t in state["tasks"]]
    trail["open_scopes"] = [s for s, _before in trail["arrivals"] if s in state["scopes"]]
    del trail["tokens"], trail["frames"]
    undo[task_id] = trail


def _ended_alone(state: dict[str, Any], trail: dict[str, Any], call: dict[str, Any] | None) -> bool:
    """Whether the decision's only change to the frames is the end of its
    own sub-process, which held nothing else and issued no certificate."""
    return (
        call is not None
        and call["alone"]
        and set(trail["frames"]) - set(state["frames"]) == {call["frame"]}
        and set(state["frames"]) <= set(trail["frames"])
        and len(state["certificates"]) == call["certificates"]
    )


def prune_undo(state: dict[str, Any]) -> None:
    """Forget the decisions that can no longer be taken back."""
    undo = state.get("undo")
    if not undo:
        return
    for old in [key for key, record in undo.items() if not _intact(state, record)]:
        del undo[old]


def _intact(state: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether everything the decision set going is still where it left it
    (plain loops: this runs for every kept record at every decision)."""
    tasks, tokens, scopes = state["tasks"], state["tokens"], state["scopes"]
    for task_id in record["open"]:
        if task_id not in tasks:
            return False
    for token_id, node_id in record["alive"].items():
        token = tokens.get(token_id)
        if token is None or token["node"] != node_id:
            return False
    return all(scope in scopes for scope in record["open_scopes"])


def _home_frames(record: dict[str, Any]) -> set[str]:
    """The frames a take-back puts tokens back into (the decided task's, and
    for a decision that ended its sub-process the caller's), without the one
    the take-back opens again itself."""
    homes = {record["token_before"]["frame"]}
    call = record.get("call")
    if call is not None:
        homes.add(call["caller_before"]["frame"])
        homes.discard(call["frame"])
    homes.discard("")
    return homes


def has_frame_ended(state: dict[str, Any], task_id: str) -> bool:
    """Whether the decision of `task_id` was made in a sub-process (or a
    bundle's item) that has ended since: taking it back would reach into a
    frame that no longer exists. The record is kept, not pruned: a take-back
    of the decision that ended the sub-process opens it again."""
    record = state.get("undo", {}).get(task_id)
    return record is not None and not _home_frames(record) <= set(state["frames"])


def can_take_back(state: dict[str, Any], task_id: str) -> bool:
    """Whether the decision of `task_id` can still be taken back (engine side;
    the service also refuses once a task it created has been claimed)."""
    record = state.get("undo", {}).get(task_id)
    return (
        record is not None
        and state["status"] == "running"
        and _intact(state, record)
        and not has_frame_ended(state, task_id)
    )


def taken_back_tasks(state: dict[str, Any], task_id: str) -> list[str]:
    """The open tasks a take-back of `task_id` would cancel (those its decision created)."""
    record = state.get("undo", {}).get(task_id)
    return sorted(record["open"]) if record is not None else []


def take_back(machine: Machine, event: TakeBack) -> None:
    state, nodes = machine.state, machine.nodes
    record = state.get("undo", {}).get(event.task_id)
    if record is None:
        raise IllegalEvent(Message("this decision can no longer be taken back"), code="take_back_closed")
    if has_frame_ended(state, event.task_id):
        raise IllegalEvent(
            Message(
                "the sub-process of '{node}' has already ended; this decision can no longer be taken back",
                node=record["task"]["node"],
            ),
            code="take_back_too_late",
        )
    if not _intact(state, record):
        raise IllegalEvent(
            Message("the next step has already acted on this decision; it can no longer be taken back"),
            code="next_step_acted",
        )
    del state["undo"][event.task_id]
    task = record["task"]
    node = nodes[task["node"]]
    token_id = record["token"]
    at_node = record["alive"].get(token_id) == node.id
    # What the decision set going ...
    for other_id in record["alive"]:
        if other_id in state["tokens"] and not (other_id == token_id and at_node):
            machine.discard_token(other_id, "taken_back")
    call = record.get("call")
    if call is not None:
        # ... the sub-process's end: open it again, and the caller waits on the call
        state["frames"][call["frame"]] = _copy(call["info"])
        state["tokens"][call["caller"]] = _copy(call["caller_before"])
        call_node = call["info"]["call"]
        if call["decision"] is None:
            state["decisions"].pop(call_node, None)
        else:
            state["decisions"][call_node] = _copy(call["decision"])
    for scope_id in record["scopes"]:
        state["scopes"].pop(scope_id, None)
    for scope_id, before in reversed(record["arrivals"]):
        if scope_id in record["scopes"]:
            continue  # opened by the decision itself: gone with it
        if scope_id in state["scopes"]:
            state["scopes"][scope_id]["arrived"] -= 1
        else:
            state["scopes"][scope_id] = dict(before)
    for node_id, before in record["rounds"].items():
        if before:
            state["rounds"][node_id] = before
        else:
            state["rounds"].pop(node_id, None)
    if record["results"] is None:
        state["results"].pop(node.id, None)
    else:
        state["results"][node.id] = record["results"]
    # ... and the decision itself.
    recreate = [(event.task_id, task)]
    if at_node:  # a signature among others, or an approval waiting for signers added after it
        token = state["tokens"][token_id]
        for other_id in record["open"]:
            if other_id in state["tasks"]:
                machine.cancel_task(other_id, "taken_back")
                token["tasks"].remove(other_id)
        signatures = token.get("signatures", [])
        for index, signature in enumerate(signatures):
            if signature.get("signer") == task["signer"] and signature.get("at") == record["at"]:
                del signatures[index]
                break
        held = token.get("held", {})
        held.pop(event.task_id, None)
        if "held" in token and not held:
            del token["held"]
    else:
        state["decisions"].pop(node.id, None)
        token = _copy(record["token_before"])
        token["tasks"] = []
        state["tokens"][token_id] = token
        if node.clock_excluded:
            token.pop("excluded", None)
            machine.pause(node.id, token)
        recreate += list(record["siblings"].items())
    again = ""
    renamed: dict[str, str] = {}
    for old_id, old in recreate:
        new_id = machine.create_task(
            token_id, node, old["kind"], old["department"], old["round"], old["signer"], since=old["created"]
        )
        for key in ("after", "transfers", "extensions"):
            if key in old:
                state["tasks"][new_id][key] = old[key]
        # 延期: the task given back keeps the extensions of its time limit.
        for extension in old.get("extensions", ()):
            machine.effects.append(
                TaskExtended(
                    new_id,
                    node.id,
                    extension.get("days"),
                    extension.get("hours"),
                    int(state.get("extensions", {}).get(node.id, 0)),
                )
            )
        token.setdefault("tasks", []).append(new_id)
        renamed[old_id] = new_id
        if old_id == event.task_id:
            again = new_id
    # 加签 given back with the tasks: an added signer stays added (for the
    # task's new id), a reviewer still waits for the signers added before it,
    # and an approval held for signers added after it waits for their new ids.
    for old_id, old in recreate:
        new = state["tasks"][renamed[old_id]]
        if "added" in old:
            new["added"] = {**old["added"], "for": renamed.get(old["added"]["for"], old["added"]["for"])}
        if "waiting" in old:
            new["waiting"] = [renamed.get(waiting, waiting) for waiting in old["waiting"]]
    for held in token.get("held", {}).values():
        held["waiting"] = [renamed.get(waiting, waiting) for waiting in held["waiting"]]
    machine.effects.append(DecisionTakenBack(event.task_id, node.id, again))
