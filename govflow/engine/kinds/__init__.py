"""The node-kind registry: one class per `type:` of node, each in its own
module, owning its YAML, graph facts, runtime behaviour and drawing/BPMN
data (see `base.NodeKind` and docs/extending.md).

    KINDS["user_task"].read(...) / .enter(...) / .successors(node)

The loader, the graph pass and the runtime look kinds up here; the web
diagram and the BPMN exporter read their plain data (`shape`, `colours`,
`bpmn_element` ...). The order of `KINDS` is the order error messages list
the known types in.
"""

from __future__ import annotations

from .acceptance import Acceptance
from .applicant_task import ApplicantTask
from .base import NodeKind
from .bundle import Bundle
from .call import Call
from .correction import Correction
from .end import End
from .exclusive import Exclusive
from .fee import Fee
from .inclusive import Inclusive
from .parallel import Parallel
from .publicity import Publicity
from .service_task import ServiceTask
from .signal import SignalWait
from .start import Start
from .user_task import UserTask
from .wait import Wait

KINDS: dict[str, NodeKind] = {}


def register(kind: type[NodeKind]) -> NodeKind:
    """Add a kind to the registry (an instance of it), replacing one of the same type."""
    if not kind.type:
        raise ValueError(f"{kind.__name__} names no type")
    instance = kind()
    KINDS[kind.type] = instance
    return instance


for _kind in (
    Start,
    End,
    UserTask,
    ServiceTask,
    Parallel,
    Exclusive,
    Inclusive,
    Wait,
    SignalWait,
    Correction,
    Call,
    Publicity,
    ApplicantTask,
    Fee,
    Acceptance,
    Bundle,
):
    register(_kind)


def kind_of(node_type: str) -> NodeKind:
    return KINDS[node_type]


__all__ = ["KINDS", "NodeKind", "kind_of", "register"]
