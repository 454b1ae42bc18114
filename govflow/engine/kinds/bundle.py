"""`bundle`: 一件事一次办 (高效办成一件事) - several matters of one applicant,
each an ordinary sub-process with its own department, clock, outcome and
certificates, run from one case with one form and one set of materials.

    - id: business_setup
      type: bundle
      title: {zh: 企业开办一件事, en: Business setup bundle}
      lead: market_regulation          # 牵头部门
      items:
        - {process: registration, department: market_regulation}
        - {process: seal, department: public_security, after: [registration]}
        - {process: housing_fund, department: housing_fund, after: [registration],
           when: "employees_count > 0"}
      outcomes:
        approved: end_approved               # every item that applies approved
        partially_approved: end_partially    # some approved, some not
        rejected: end_rejected               # none approved

An item starts when every item it comes `after` has ended approved (one not
approved: the item does not start, `not_started`; one that does not apply
is no obstacle); an item whose `when` does not hold is `not_applicable`.
Items run side by side, each in a frame of its own (the call machinery);
an item that ends rejected ends alone, and its certificates (the end nodes
of its sub-process) are issued the moment it is approved. The bundle ends
when every item has ended, with the outcome that sums them up; the state
keeps each item's line (`state["bundles"][node]["items"]`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import BUNDLE_OUTCOMES, CASE_OUTCOMES, MAIN, BundleItem, Node
from ..effects import ItemEnded
from ..loading.positions import item_pos, value_pos
from ..loading.primitives import ID_RE
from ..problems import Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader

#: What an item's line says: not yet started, running, or how it ended.
ITEM_WAITING, ITEM_RUNNING = "waiting", "running"
ITEM_NOT_APPLICABLE, ITEM_NOT_STARTED = "not_applicable", "not_started"
#: An item cut short because the whole case ended (withdrawn or ended elsewhere).
ITEM_CANCELLED = "cancelled"
ITEM_OPEN = (ITEM_WAITING, ITEM_RUNNING)


def bundle_outcome(statuses: list[str]) -> str:
    """The bundle's outcome from its items' ends: approved when every item
    that applies was approved, partially_approved when some were, withdrawn
    when every one that applies was withdrawn, else rejected."""
    applicable = [s for s in statuses if s != ITEM_NOT_APPLICABLE]
    approved = sum(1 for s in applicable if s == "approved")
    if applicable and approved == len(applicable):
        return "approved"
    if approved:
        return "partially_approved"
    if applicable and all(s == "withdrawn" for s in applicable):
        return "withdrawn"
    return "rejected"


class Bundle(NodeKind):
    type = "bundle"
    keys = frozenset({"items", "lead", "outcomes"})
    waits = True
    decides = True
    colours = ("#eef6ee", "#2f5d34", "")
    caption = gettext_noop("bundle of matters")
    bpmn_element = "subProcess"

    # YAML -------------------------------------------------------------------

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if node.process != MAIN:
            reader.err(
                (node.line, node.col),
                Message("{what}: a bundle stands in the main process, not a sub-process", what=what),
            )
        if "lead" in item:
            node.lead = reader.department(
                item["lead"], value_pos(item, "lead"), Message("{what} lead", what=what)
            )
        else:
            reader.err(
                (node.line, node.col),
                Message("{what} is missing required key 'lead' (the lead department)", what=what),
            )
        items = self.read_items(reader, node, item, what)
        node.items = tuple(items)
        required = ["approved", "rejected"] + (["partially_approved"] if len(items) > 1 else [])
        node.outcomes = reader.outcomes(node, item, what, BUNDLE_OUTCOMES, "approved")
        if "outcomes" in item:
            for outcome in required[1:]:
                if outcome not in item["outcomes"]:
                    reader.err(
                        value_pos(item, "outcomes"),
                        Message("{what} outcomes must include '{outcome}'", what=what, outcome=outcome),
                    )

    def read_items(self, reader: Reader, node: Node, item: Any, what: str) -> list[BundleItem]:
        if "items" not in item:
            reader.err((node.line, node.col), Message("{what} is missing required key 'items'", what=what))
            return []
        pos = value_pos(item, "items")
        raw = reader.seq(item["items"], pos, Message("{what} items", what=what))
        if raw is None:
            return []
        if not raw:
            reader.err(pos, Message("{what} items must not be empty", what=what))
            return []
        items: list[BundleItem] = []
        where: dict[str, tuple[int, int]] = {}
        after_pos: dict[str, list[tuple[str, tuple[int, int]]]] = {}
        for index, entry in enumerate(raw):
            entry_pos = item_pos(raw, index, pos)
            spec = reader.mapping(entry, entry_pos, Message("an item of {what}", what=what))
            if spec is None:
                continue
            reader.keys(
                spec,
                ("process", "department", "after", "when"),
                ("process", "department"),
                Message("an item of {what}", what=what),
            )
            process = (
                reader.ident(spec, "process", Message("an item of {what}", what=what))
                if "process" in spec
                else None
            )
            department = (
                reader.department(
                    spec["department"],
                    value_pos(spec, "department"),
                    Message("item '{process}'", process=process),
                )
                if "department" in spec
                else None
            )
            when = reader.condition(spec, "when", node.id) if "when" in spec else None
            after: list[str] = []
            if "after" in spec:
                apos = value_pos(spec, "after")
                for a_index, name in enumerate(
                    reader.seq(spec["after"], apos, Message("item '{process}' after", process=process)) or []
                ):
                    npos = item_pos(spec["after"], a_index, apos)
                    if not isinstance(name, str) or not ID_RE.match(name):
                        reader.err(
                            npos, Message("item '{process}' 'after' must list item ids", process=process)
                        )
                    elif name == process:
                        reader.err(npos, Message("item '{process}' comes after itself", process=process))
                    elif name in after:
                        reader.err(
                            npos,
                            Message(
                                "item '{process}' names '{name}' twice in 'after'", process=process, name=name
                            ),
                        )
                    else:
                        after.append(str(name))
                        after_pos.setdefault(str(process), []).append((str(name), npos))
            if process is None:
                continue
            if process in where:
                reader.err(
                    value_pos(spec, "process"),
                    Message(
                        "{what} names item '{process}' twice (first at line {where})",
                        what=what,
                        process=process,
                        where=where[process][0],
                    ),
                )
                continue
            where[process] = value_pos(spec, "process")
            if department is not None:
                items.append(BundleItem(id=process, department=department, after=tuple(after), when=when))
        for name, deps in after_pos.items():
            for dep, dpos in deps:
                if dep not in where:
                    reader.err(
                        dpos,
                        Message(
                            "item '{name}' comes after '{dep}', which is no item of {what}",
                            name=name,
                            dep=dep,
                            what=what,
                        ),
                    )
        self.check_cycles(reader, items, after_pos, what)
        if items and not any(not i.after and i.when is None for i in items):
            reader.err(
                pos,
                Message(
                    "{what}: every item waits for another or has a 'when' condition; at "
                    "least one item must always apply and start at once",
                    what=what,
                ),
            )
        reader.item_positions[node.id] = where
        return items

    def check_cycles(self, reader: Reader, items: list[BundleItem], after_pos: dict, what: str) -> None:
        after = {i.id: [a for a in i.after if any(j.id == a for j in items)] for i in items}
        state: dict[str, int] = {}  # 1 visiting, 2 done
        reported: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for dep in after.get(name, ()):
                if state.get(dep) == 1:
                    cycle = [*path[path.index(dep) :], dep] if dep in path else [name, dep]
                    if not reported & set(cycle):
                        reported.update(cycle)
                        dpos = next(p for n, p in after_pos[name] if n == dep)
                        reader.err(
                            dpos,
                            Message(
                                "{what}: items wait for each other in a cycle ({cycle}); none of them "
                                "could ever start",
                                what=what,
                                cycle=" -> ".join(cycle),
                            ),
                        )
                elif state.get(dep) is None:
                    visit(dep, [*path, dep])
            state[name] = 2

        for item in items:
            if state.get(item.id) is None:
                visit(item.id, [item.id])

    def check(self, reader: Reader, node: Node, nodes: Any) -> None:
        processes = {n.process for n in nodes.values()} - {MAIN}
        where = reader.item_positions.get(node.id, {})
        for item in node.items:
            if item.id not in processes:
                reader.err(
                    where.get(item.id, (node.line, node.col)),
                    Message(
                        "item '{item}' of bundle '{node}' names no sub-process (define it "
                        "under 'subprocesses')",
                        item=item.id,
                        node=node.id,
                    ),
                )
        others = sorted((n for n in nodes.values() if n.type == "bundle"), key=lambda n: (n.line, n.col))
        if len(others) > 1 and others[0] is not node:
            reader.err(
                (node.line, node.col),
                Message(
                    "a template has one bundle; '{node}' is a second one (the first is '{others}')",
                    node=node.id,
                    others=others[0].id,
                ),
            )
        called = {n.calls: n.id for n in nodes.values() if n.type == "call" and n.calls}
        for item in node.items:
            if item.id in called:
                reader.err(
                    where.get(item.id, (node.line, node.col)),
                    Message(
                        "sub-process '{item}' is an item of bundle '{node}' and is also called "
                        "by '{called}': the two runs would share its tasks and decisions",
                        item=item.id,
                        node=node.id,
                        called=called[item.id],
                    ),
                )

    def successors(self, node: Node) -> tuple[str, ...]:
        return tuple(dict.fromkeys(node.outcomes.values()))

    # runtime ------------------------------------------------------------------

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        state = machine.state
        state["decisions"].pop(node.id, None)
        record = {
            "token": token_id,
            "started": machine.now,
            "items": {item.id: {"status": ITEM_WAITING} for item in node.items},
        }
        state.setdefault("bundles", {})[node.id] = record
        self.advance(machine, node, record)

    def advance(self, machine: Machine, node: Node, record: dict) -> None:
        """Start every item whose predecessors have ended, settle those that
        cannot start or do not apply, and end the bundle once none is open."""
        lines = record["items"]
        changed = True
        while changed:
            changed = False
            for item in node.items:
                line = lines[item.id]
                if line["status"] != ITEM_WAITING:
                    continue
                before = [lines[a]["status"] for a in item.after]
                if any(status in ITEM_OPEN for status in before):
                    continue
                changed = True
                if any(status not in ("approved", ITEM_NOT_APPLICABLE) for status in before):
                    line.update(status=ITEM_NOT_STARTED, ended=machine.now)
                    machine.effects.append(ItemEnded(node.id, item.id, ITEM_NOT_STARTED))
                elif item.when is not None and not machine.holds(node, item.when, machine.context()):
                    line.update(status=ITEM_NOT_APPLICABLE)
                    machine.effects.append(ItemEnded(node.id, item.id, ITEM_NOT_APPLICABLE))
                else:
                    self.start_item(machine, node, record, item)
        if not any(line["status"] in ITEM_OPEN for line in lines.values()):
            self.conclude(machine, node, record)

    def start_item(self, machine: Machine, node: Node, record: dict, item: BundleItem) -> None:
        frame_id = machine.new_id("f")
        machine.state["frames"][frame_id] = {
            "call": node.id,
            "token": record["token"],
            "process": item.id,
            "item": item.id,
        }
        record["items"][item.id].update(status=ITEM_RUNNING, frame=frame_id, started=machine.now)
        child = machine.new_token(machine.definition.processes[item.id].start, [], frame_id)
        machine.queue.append(child)

    def subprocess_ended(self, machine: Machine, caller: dict, node: Node, outcome: str) -> None:
        record = machine.state["bundles"][node.id]
        line = record["items"][caller["item"]]
        line.update(status=outcome, ended=machine.now)
        line.pop("frame", None)
        machine.effects.append(ItemEnded(node.id, caller["item"], outcome, caller.get("end")))
        self.advance(machine, node, record)

    def conclude(self, machine: Machine, node: Node, record: dict) -> None:
        outcome = bundle_outcome([line["status"] for line in record["items"].values()])
        record.update(outcome=outcome, ended=machine.now)
        machine.state["decisions"][node.id] = {"outcome": outcome, "at": machine.now}
        token_id = record["token"]
        target = node.outcomes.get(outcome)
        if target is None:
            # (only `withdrawn` may go unmapped: the case ends withdrawn)
            frame = machine.state["tokens"][token_id]["frame"]
            machine.finish(frame, outcome if outcome in CASE_OUTCOMES else "rejected", node.id)
            return
        machine.move(token_id, target)

    def case_ended(self, machine: Machine, outcome: str) -> None:
        """The case ended while items were open (withdrawn, or ended by
        another path): their lines say so."""
        for record in machine.state.get("bundles", {}).values():
            for line in record["items"].values():
                if line["status"] in ITEM_OPEN:
                    line["status"] = "withdrawn" if outcome == "withdrawn" else ITEM_CANCELLED
                    line.pop("frame", None)
