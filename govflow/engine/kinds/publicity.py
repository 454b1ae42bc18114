"""`publicity`: a public notice (公示). For `days` (or `hours`) the case is
listed on the public notice page with its public title only, and anyone may
file an objection there. An objection interrupts the notice and sends the
case to the `objection` node (usually a user task, the objection review).
Where the review sends the case back to the notice node, the notice resumes
until the end first published (it is not restarted: the public was told
that date); routed elsewhere it ends the notice (upheld: a refusal).
`clock: excluded` keeps the notice days out of the statutory clock (公示 is
not among art 45's excluded periods: a special law or local rule decides).

    - id: notice
      type: publicity
      title: {zh: 许可前公示, en: Public notice before the licence}
      days: 5
      clock: excluded
      objection: review_objection
      next: issue

Conditions may read `result.<id>.objections`, the number of objections
filed in the notice so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..effects import TimerCancelled
from ..loading.positions import value_pos
from ..loading.primitives import DURATION_KEYS
from ..problems import Message
from .base import NodeKind, gettext_noop

if TYPE_CHECKING:
    from .base import Machine, Reader

NOTICE_TIMER = "notice"


class Publicity(NodeKind):
    type = "publicity"
    keys = frozenset({*DURATION_KEYS, "next", "objection", "clock", "public_title"})
    waits = True
    has_results = True
    colours = ("#fdf5e6", "#8a5a00", "")
    caption = gettext_noop("public notice")
    bpmn_element = "task"
    shape = "task"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        node.duration = reader.duration(item, what)
        reader.single_next(node, item, what)
        if "objection" not in item:
            reader.err(
                (node.line, node.col),
                Message(
                    "{what} is missing required key 'objection' (the step that reviews an objection)",
                    what=what,
                ),
            )
        else:
            node.on_timeout = None
            node.settings["objection"] = reader.target(item, "objection", what, node)
        if "public_title" in item:
            # what the public list shows besides the service and the
            # reference: a public text field (a shop's name), never a person's data
            field_id = item["public_title"]
            spec = reader.fields.get(field_id) if isinstance(field_id, str) else None
            if spec is None or spec.type not in ("text", "textarea") or spec.sensitivity != "public":
                reader.err(
                    value_pos(item, "public_title"),
                    Message(
                        "{what} 'public_title' must name a text field of the form whose "
                        "sensitivity is public",
                        what=what,
                    ),
                )
            else:
                node.settings["public_title"] = str(field_id)
        if "clock" in item:
            clock = item["clock"]
            if clock not in ("counted", "excluded"):
                reader.err(
                    value_pos(item, "clock"),
                    Message("{what} 'clock' must be 'counted' or 'excluded'", what=what),
                )
            node.clock_excluded = clock == "excluded"

    def successors(self, node: Node) -> tuple[str, ...]:
        objection = node.settings.get("objection")
        return tuple(dict.fromkeys((*node.next, objection))) if objection else node.next

    def holds_clock(self, node: Node) -> bool:
        return node.clock_excluded

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        duration = node.duration
        assert duration is not None
        results = machine.state["results"]
        notice = results.get(node.id)
        since = None
        if isinstance(notice, dict) and notice.get("interrupted") and notice.get("started"):
            # back from an objection review that dismissed the objection:
            # the notice runs on to the end first published
            since = notice["started"]
            notice = {**notice, "interrupted": False}
        else:
            notice = {"objections": 0, "started": machine.now, "interrupted": False}
        results[node.id] = notice
        if node.clock_excluded:
            machine.pause(node.id)
            token["holding"] = True
        machine.start_timer_for(NOTICE_TIMER, node, token_id, None, duration, 1.0, since)

    def _leave(self, machine: Machine, token_id: str, node: Node) -> None:
        state = machine.state
        for timer_id in [m for m, t in state["timers"].items() if t["token"] == token_id]:
            del state["timers"][timer_id]
            machine.effects.append(TimerCancelled(timer_id))
        state["tokens"][token_id].pop("holding", None)
        if node.clock_excluded:
            machine.resume(node.id)

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # the notice period has ended with no objection pending
        self._leave(machine, timer["token"], node)
        machine.move(timer["token"], node.next[0])

    def takes_objections(self, node: Node) -> bool:
        return True

    def objected(self, machine: Machine, token_id: str, node: Node) -> None:
        """An objection was filed: the notice stops and the review begins."""
        self._leave(machine, token_id, node)
        notice = dict(machine.state["results"].get(node.id) or {})
        notice["objections"] = int(notice.get("objections", 0)) + 1
        notice["interrupted"] = True
        machine.state["results"][node.id] = notice
        machine.move(token_id, node.settings["objection"])
