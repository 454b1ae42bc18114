"""`applicant_task`: a step the applicant performs beyond a correction:
supply some fields of the form (`fields`), upload documents into document
slots of the form (`documents`: a signed commitment, the completion
report), confirm a statement (`confirm`: declare the works completed,
confirm a payment, sign a commitment), or any of these together.
Like a correction it is the applicant's time: the statutory clock stands
still while it is open; an optional `deadline` sends the case to
`on_timeout` when the applicant does not act in time.

    - id: declare_completion
      type: applicant_task
      title: {zh: 申报竣工, en: Declare the works completed}
      fields: [completion_date]
      documents: [completion_report]
      confirm: {zh: 本单位承诺工程已按许可内容竣工。, en: We declare the works completed as permitted.}
      deadline: {days: 30}
      on_timeout: lapsed
      next: inspection

The values supplied are written into the case's form data (conditions read
them by their field ids); `result.<id>.confirmed` is true once confirmed.
The documents are uploaded through the service layer (the engine sees no
files): the step completes only once each named slot holds a file uploaded
while it was open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import TaskCancelled, TaskCompleted, TimerCancelled
from ..events import SubmitApplicantTask
from ..loading.positions import item_pos, key_pos, value_pos
from ..loading.primitives import DURATION_KEYS
from ..problems import IllegalEvent, Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader

DEADLINE_TIMER = "applicant_deadline"


class ApplicantTask(NodeKind):
    type = "applicant_task"
    article = "an"
    keys = frozenset({"fields", "documents", "confirm", "deadline", "next", "on_timeout"})
    waits = True
    has_results = True
    colours = ("#fff8e1", "#8c6d00", "5 3")
    caption = gettext_noop("applicant acts")
    bpmn_element = "userTask"
    lane = "applicant"
    events = {SubmitApplicantTask: "submit"}

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        reader.single_next(node, item, what)
        fields: list[str] = []
        if "fields" in item:
            pos = value_pos(item, "fields")
            items = reader.seq(item["fields"], pos, Message("{what} fields", what=what))
            for index, raw in enumerate(items or ()):
                where = item_pos(items, index, pos)
                spec = reader.fields.get(raw) if isinstance(raw, str) else None
                if spec is None:
                    reader.err(
                        where,
                        Message("{what} fields names unknown form field {raw}", what=what, raw=repr(raw)),
                    )
                elif spec.type == "table":
                    reader.err(
                        where, Message("{what} fields cannot ask for the table '{raw}'", what=what, raw=raw)
                    )
                elif raw in fields:
                    reader.err(where, Message("{what} fields names '{raw}' twice", what=what, raw=raw))
                else:
                    fields.append(str(raw))
        node.settings["fields"] = tuple(fields)
        documents: list[str] = []
        if "documents" in item:
            pos = value_pos(item, "documents")
            items = reader.seq(item["documents"], pos, Message("{what} documents", what=what))
            for index, raw in enumerate(items or ()):
                where = item_pos(items, index, pos)
                if not isinstance(raw, str) or raw not in reader.document_slots:
                    reader.err(
                        where,
                        Message(
                            "{what} documents names unknown document slot {raw} (list it under "
                            "form: attachments)",
                            what=what,
                            raw=repr(raw),
                        ),
                    )
                elif raw in documents:
                    reader.err(where, Message("{what} documents names '{raw}' twice", what=what, raw=raw))
                else:
                    documents.append(raw)
            if items is not None and not items:
                reader.err(
                    pos, Message("{what} documents is empty: name at least one document slot", what=what)
                )
        if documents:
            node.settings["documents"] = tuple(documents)
        if "confirm" in item:
            node.settings["confirm"] = reader.label(
                item, "confirm", Message("{what} confirm", what=what), required=True
            )
        if "fields" not in item and "confirm" not in item and "documents" not in item:
            reader.err(
                (node.line, node.col),
                Message(
                    "{what} asks nothing of the applicant: give 'fields', 'documents', 'confirm' or more",
                    what=what,
                ),
            )
        if "deadline" in item:
            deadline = reader.mapping(
                item["deadline"], value_pos(item, "deadline"), Message("{what} deadline", what=what)
            )
            if deadline is not None:
                reader.keys(deadline, DURATION_KEYS, (), Message("{what} deadline", what=what))
                node.duration = reader.duration(deadline, Message("{what} deadline", what=what))
            if "on_timeout" not in item:
                reader.err(
                    key_pos(item, "deadline"),
                    Message(
                        "{what}: an applicant task deadline needs 'on_timeout' (where the case "
                        "goes when it is missed)",
                        what=what,
                    ),
                )
        if "on_timeout" in item:
            if "deadline" not in item:
                reader.err(
                    key_pos(item, "on_timeout"), Message("{what}: 'on_timeout' needs a 'deadline'", what=what)
                )
            node.on_timeout = reader.target(item, "on_timeout", what, node)

    def successors(self, node: Node) -> tuple[str, ...]:
        if node.on_timeout:
            return tuple(dict.fromkeys((*node.next, node.on_timeout)))
        return node.next

    def holds_clock(self, node: Node) -> bool:
        return True  # the applicant's time, as for a correction

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        round_ = machine.next_round(node.id)
        machine.state["results"].pop(node.id, None)
        task_id = machine.create_task(token_id, node, "applicant", None, round_, None)
        token["tasks"] = [task_id]
        if node.duration is not None:
            machine.start_timer_for(DEADLINE_TIMER, node, token_id, task_id, node.duration)
        machine.pause(node.id)

    def submit(self, machine: Machine, event: SubmitApplicantTask, task: dict, node: Node) -> None:
        asked = set(node.settings.get("fields", ()))
        extra = sorted(set(event.data) - asked)
        if extra:
            raise IllegalEvent(
                Message("the step '{node}' does not ask for {fields}", node=node.id, fields=", ".join(extra)),
                code="field_not_asked",
            )
        if node.settings.get("confirm") and not event.confirmed:
            raise IllegalEvent(
                Message("the step '{node}' must be confirmed", node=node.id), code="not_confirmed"
            )
        state = machine.state
        del state["tasks"][event.task_id]
        for timer_id in [m for m, t in state["timers"].items() if t["task"] == event.task_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        machine.effects.append(TaskCompleted(event.task_id, node.id, "done"))
        state["data"].update(event.data)
        state["results"][node.id] = {"confirmed": bool(event.confirmed), "fields": sorted(event.data)}
        state["tokens"][task["token"]].pop("tasks", None)
        machine.resume(node.id)
        machine.move(task["token"], node.next[0])

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # applicant_deadline: the applicant did not act in time
        task_id = timer["task"]
        machine.state["tasks"].pop(task_id, None)
        machine.effects.append(TaskCancelled(task_id, node.id, "deadline_missed"))
        machine.state["tokens"][timer["token"]].pop("tasks", None)
        machine.resume(node.id)
        machine.move(timer["token"], node.on_timeout or "")
