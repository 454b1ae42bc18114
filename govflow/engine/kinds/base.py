"""`NodeKind`: everything one `type:` of node means, in one class.

A kind owns
- its YAML: the keys it takes and how they are read (`read`, given the
  loader's reader for its helpers: positions, types, departments, flows);
- its graph facts: where flows leave it (`successors`), whether a token can
  rest on it (`waits`), whether it is a gateway or has no way out (an end);
- its behaviour: what entering it does (`enter`), how it answers the events
  aimed at its tasks (`reactions`, event class -> method) and its timers
  (`on_timer`), and whether its open tasks hold the case's clock;
- how it is drawn and exported, as plain data the apps read (`shape`,
  `colours`, `symbol`, `caption`, `bpmn_element`, `lane`): the engine stays
  free of Django, SVG and XML, and the apps look the kind up by `node.type`.

Kinds are stateless singletons registered in `govflow.engine.kinds.KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..problems import IllegalEvent, Message

if TYPE_CHECKING:
    from ..definition import Node
    from ..runtime import _Machine as Machine

    Reader = Any  # govflow.engine.loading.nodes.NodeReader and the helpers it inherits


def gettext_noop(message: str) -> str:
    """Marks a caption for translation (Django's makemessages finds the
    keyword) without importing Django; the web app translates it when drawing."""
    return message


class NodeKind:
    """Base class of the node kinds; subclasses set the class data and
    override what differs."""

    type: ClassVar[str] = ""
    #: YAML keys the node takes besides id, type, title and description.
    keys: ClassVar[frozenset[str]] = frozenset()
    #: Whether the node must carry a `title` (zh and en).
    titled: ClassVar[bool] = True
    #: "a" or "an", for messages ("an end node").
    article: ClassVar[str] = "a"

    # graph ------------------------------------------------------------------
    #: A token rests here until an event moves it (a task, a wait).
    waits: ClassVar[bool] = False
    #: A gateway: splits and joins are worked out from its flows.
    is_gateway: ClassVar[bool] = False
    #: The node has no outgoing flow (an end).
    is_final: ClassVar[bool] = False
    #: Conditions may name `decision.<id>` of such a node ...
    decides: ClassVar[bool] = False
    #: ... and `result.<id>.<key>` (also catalogue sources).
    has_results: ClassVar[bool] = False

    # drawing and BPMN (plain data; govflow.web.diagram and govflow.bpmn read it)
    #: "event" (a circle), "gateway" (a diamond) or "task" (a box).
    shape: ClassVar[str] = "task"
    #: fill, stroke and dash pattern of a box.
    colours: ClassVar[tuple[str, str, str]] = ("#ffffff", "#444444", "")
    #: the sign inside a gateway's diamond.
    symbol: ClassVar[str] = ""
    #: the second line of a box (an English msgid, translated by the web app).
    caption: ClassVar[str] = ""
    #: the BPMN 2.0 element the node becomes (`userTask`, `exclusiveGateway` ...).
    bpmn_element: ClassVar[str] = ""
    #: the BPMN lane it is drawn in: "department", "applicant" or "process".
    lane: ClassVar[str] = "process"

    # runtime ----------------------------------------------------------------
    #: event class -> name of the method that answers it for a task of this
    #: node (`method(machine, event, task, node)`).
    events: ClassVar[Mapping[type, str]] = {}

    def __init__(self) -> None:
        self.reactions: dict[type, Callable[..., None]] = {
            event: getattr(self, name) for event, name in self.events.items()
        }

    def __repr__(self) -> str:
        return Message("<node kind {type}>", type=self.type)

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        """Fill `node` from its YAML mapping `item`, reporting problems on
        `reader` (`reader.err(pos, message)`)."""

    def check(self, reader: Reader, node: Node, nodes: Mapping[str, Node]) -> None:
        """Checks that need the other nodes (where an outcome may lead),
        run once the whole document is read."""

    def successors(self, node: Node) -> tuple[str, ...]:
        return node.next

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        """A token has arrived: create tasks, start timers, or move it on."""
        raise NotImplementedError(self.type)

    def case_ended(self, machine: Machine, outcome: str) -> None:
        """The whole case ended with `outcome` (a kind that keeps lines of
        its own in the state closes them; see kinds/bundle.py)."""

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        """One of the node's timers fell due (it is already removed from the state)."""
        raise IllegalEvent(Message("a {type} node has no timers", type=self.type), code="timer_not_pending")

    def receives(self, node: Node, name: str) -> bool:
        """Whether a token resting here takes the external message `name`
        (a `Signal` event; see kinds/signal.py)."""
        return False

    def received(self, machine: Machine, token_id: str, node: Node, data: Mapping[str, Any]) -> None:
        """The message this node waits for has arrived for the token."""
        raise IllegalEvent(
            Message("a {type} node takes no messages", type=self.type), code="not_waiting_for_signal"
        )

    def holds_clock(self, node: Node) -> bool:
        """Whether the case's clock stands still while the node's tasks are open
        (or, for a node without tasks, while a token marked `holding` rests on it)."""
        return False

    def takes_objections(self, node: Node) -> bool:
        """Whether a token resting here can be interrupted by an objection
        from the public (an `Objection` event; see kinds/publicity.py)."""
        return False

    def objected(self, machine: Machine, token_id: str, node: Node) -> None:
        """An objection was filed while a token rests here."""
        raise IllegalEvent(
            Message("a {type} node takes no objections", type=self.type), code="not_in_public_notice"
        )


def read_claim_required(reader: Reader, node: Node, item: Any, what: str) -> None:
    """签收: a step may say whether its task is claimed before it is decided
    (the process's `claim_required` otherwise)."""
    if "claim_required" in item:
        node.settings["claim_required"] = reader.boolean(item, "claim_required", what, True)
