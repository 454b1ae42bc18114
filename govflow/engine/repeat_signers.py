"""审批人去重: what happens when a person who decided an earlier step of a
case is to sign a later one (the template's `repeat_signer`).

The same person may not sign twice in one case unless the template allows
it, so the default is `refuse`: a colleague decides the later step (the
older `distinct_signers: true`). As DingTalk and Feishu approvals offer it,
a template may instead have the later step approved automatically in that
person's name (`auto_approve`, "同一审批人重复出现时自动同意"), or only when
the person decided the step just before (`auto_approve_consecutive`);
`allow` lets one person decide several steps. A signature of a countersign
that wants several different people of one department (双人审核: the
department named twice, `distinct_people`) is never given automatically:
the person is refused as its signer. A step without an `approve` outcome,
and the review of an objection to a public notice (公示异议: new facts to
weigh, not the matter already signed), are decided as usual (there is
nothing to approve automatically).

Pure: the services and the dry run give the decisions the case has had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .definition import ALLOW, AUTO_APPROVE, AUTO_APPROVE_CONSECUTIVE, REFUSE, Definition, Node

# The outcome an automatic approval gives.
APPROVE = "approve"


@dataclass(frozen=True)
class Signed:
    """One decision a person made on the case (a decision taken back, or a
    return, is not one)."""

    node: str
    person: str


@dataclass(frozen=True)
class RepeatSigner:
    """What happens to `person` on the later step: `action` is
    `auto_approve` or `refuse`; `earlier` the step they decided before."""

    action: str
    earlier: str


def repeat_signer(
    rule: str,
    *,
    node: str,
    person: str,
    decided: Sequence[Signed],
    last: Signed | None,
    can_approve: bool,
    distinct_signature: bool = False,
) -> RepeatSigner | None:
    """None when `person` may sign step `node` as anyone would.

    `decided`: the case's decisions so far; `last`: the one made last before
    the step's task was created (for `auto_approve_consecutive`);
    `can_approve`: whether the step offers `approve`; `distinct_signature`:
    the task is one of several signatures of one department that must be
    different people (双人审核). A
    step decided again (after a return or a take-back) is not a repeat."""
    if rule == ALLOW:
        return None
    earlier = next((d.node for d in decided if d.person == person and d.node != node), None)
    if rule == AUTO_APPROVE_CONSECUTIVE:
        earlier = last.node if last is not None and last.person == person and last.node != node else None
    if earlier is None:
        return None
    if rule == REFUSE or distinct_signature:
        return RepeatSigner(REFUSE, earlier)
    # a step that cannot be approved (its outcomes are others) is decided as usual
    return RepeatSigner(AUTO_APPROVE, earlier) if can_approve else None


def approvable_automatically(definition: Definition, node: Node) -> bool:
    """Whether a repeat signer's later step `node` may be approved in their
    name: it offers `approve`, and it is not where a public notice sends an
    objection (the objection review weighs what the public raised, which
    no earlier signature has seen)."""
    if APPROVE not in node.outcomes:
        return False
    return not any(other.settings.get("objection") == node.id for other in definition.nodes.values())
