"""Four-eyes publishing (双人复核): where a template says so
(`ProcessTemplate.second_approval`), a new text is proposed by one
administrator and published only when another approves it, having seen what
it changes (govflow.processes.diff). The only writers of proposals.

The console's publish button calls `process_propose`: without four-eyes it
publishes at once, as before. A template that does not exist yet is
published by its first administrator (there is nothing to protect yet);
turning four-eyes on or off is audited. `manage.py` commands that publish
(load_demo, publish_process) run with the server's own rights and publish
directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from govflow.accounts import permissions
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit

from .models import ProcessProposal, ProcessTemplate, ProcessVersion, ProposalStatus
from .services import definition_validated, process_publish

MAX_REASON = 2000


@dataclass(frozen=True)
class Proposed:
    """What the publish button did: published a version, or stored a proposal."""

    version: ProcessVersion | None = None
    proposal: ProcessProposal | None = None
    unchanged: bool = False


def _audit(action: Action, actor, now: datetime, proposal: ProcessProposal, **data) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor.pk,
                object_type="process_proposal",
                object_id=str(proposal.pk),
                data={"template": proposal.template.code, **data},
            )
        ]
    )


def _require_admin(actor) -> None:
    if not permissions.is_admin(actor):
        raise Forbidden("only administrators may publish templates")


@transaction.atomic
def process_propose(*, source: str, actor, note: str = "", now: datetime | None = None) -> Proposed:
    """Publish `source`, or propose it where the template wants a second
    administrator. A new proposal replaces the template's pending one."""
    _require_admin(actor)
    now = now or timezone.now()
    definition = definition_validated(source)
    template = ProcessTemplate.objects.select_for_update().filter(code=definition.id).first()
    if template is None or not template.second_approval:
        started = now
        version = process_publish(source=source, published_by=actor, note=note, now=now)
        return Proposed(version=version, unchanged=version.published_at < started)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    current = template.current_version
    if current is not None and current.source_sha256 == digest:
        return Proposed(version=current, unchanged=True)
    replaced = list(
        ProcessProposal.objects.select_for_update().filter(template=template, status=ProposalStatus.PENDING)
    )
    for old in replaced:
        old.status, old.decided_at = ProposalStatus.SUPERSEDED, now
        old.save(update_fields=["status", "decided_at"])
    proposal = ProcessProposal.objects.create(
        template=template,
        based_on=current,
        source=source,
        source_sha256=digest,
        note=note[:500],
        proposed_by=actor,
        proposed_at=now,
    )
    _audit(
        Action.TEMPLATE_PROPOSED,
        actor,
        now,
        proposal,
        based_on=current.number if current else None,
        sha256=digest,
        note=note,
        replaces=[p.pk for p in replaced],
    )
    _tell(
        "template_proposed",
        f"proposal:{proposal.pk}:proposed",
        [a for a in permissions.admins() if a.pk != actor.pk],
        f"{template.code} 有新版本待您复核发布：{note}\n"
        f"A new version of {template.code} waits for your approval: {note}\n",
        proposal,
        now,
    )
    return Proposed(proposal=proposal)


def _lock(proposal_id: int) -> ProcessProposal:
    proposal = (
        ProcessProposal.objects.select_for_update(of=("self",))
        .select_related("template", "proposed_by")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise NotFound("proposal not found")
    if proposal.status != ProposalStatus.PENDING:
        raise Conflict(f"this proposal is no longer waiting ({proposal.status})", code="proposal_closed")
    return proposal


@transaction.atomic
def proposal_approve(*, proposal_id: int, actor, now: datetime | None = None) -> ProcessVersion:
    """A second administrator approves: the text is published as the next
    version. The proposer cannot approve their own; a proposal made on a
    version that has since been replaced must be proposed again."""
    _require_admin(actor)
    now = now or timezone.now()
    proposal = _lock(proposal_id)
    if proposal.proposed_by_id == actor.pk:
        raise Forbidden(
            "you proposed this version; another administrator must approve it", code="own_proposal"
        )
    template = ProcessTemplate.objects.select_for_update().get(pk=proposal.template_id)
    if template.current_version_id != proposal.based_on_id:
        raise Conflict(
            "the published version has changed since this was proposed; propose it again on the current one",
            code="proposal_stale",
        )
    note = proposal.note or ""
    version = process_publish(source=proposal.source, published_by=actor, note=note, now=now)
    proposal.status, proposal.decided_by, proposal.decided_at, proposal.version = (
        ProposalStatus.PUBLISHED,
        actor,
        now,
        version,
    )
    proposal.save(update_fields=["status", "decided_by", "decided_at", "version"])
    _audit(
        Action.TEMPLATE_PROPOSAL_APPROVED,
        actor,
        now,
        proposal,
        version=version.number,
        proposed_by=proposal.proposed_by_id,
    )
    _tell(
        "template_proposal_decided",
        f"proposal:{proposal.pk}:decided",
        [proposal.proposed_by],
        f"{template.code} v{version.number} 已复核发布。\n"
        f"{template.code} v{version.number} is approved and published.\n",
        proposal,
        now,
    )
    return version


@transaction.atomic
def proposal_reject(*, proposal_id: int, actor, reason: str, now: datetime | None = None) -> ProcessProposal:
    """A second administrator sends it back, saying why."""
    _require_admin(actor)
    now = now or timezone.now()
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("say why it is sent back", fields={"reason": ["required"]})
    proposal = _lock(proposal_id)
    if proposal.proposed_by_id == actor.pk:
        raise Forbidden("withdraw your own proposal instead", code="own_proposal")
    proposal.status, proposal.decided_by, proposal.decided_at, proposal.reason = (
        ProposalStatus.REJECTED,
        actor,
        now,
        reason[:MAX_REASON],
    )
    proposal.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    _audit(Action.TEMPLATE_PROPOSAL_REJECTED, actor, now, proposal, reason=proposal.reason)
    _tell(
        "template_proposal_decided",
        f"proposal:{proposal.pk}:decided",
        [proposal.proposed_by],
        f"{proposal.template.code} 的新版本被退回：{proposal.reason}\n"
        f"The new version of {proposal.template.code} was sent back: {proposal.reason}\n",
        proposal,
        now,
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal_id: int, actor, now: datetime | None = None) -> ProcessProposal:
    _require_admin(actor)
    now = now or timezone.now()
    proposal = _lock(proposal_id)
    if proposal.proposed_by_id != actor.pk:
        raise Forbidden("only the administrator who proposed it may withdraw it")
    proposal.status, proposal.decided_at = ProposalStatus.WITHDRAWN, now
    proposal.save(update_fields=["status", "decided_at"])
    _audit(Action.TEMPLATE_PROPOSAL_WITHDRAWN, actor, now, proposal)
    return proposal


@transaction.atomic
def template_second_approval_set(
    *, code: str, actor, on: bool, now: datetime | None = None
) -> ProcessTemplate:
    """Turn four-eyes on or off for a template (audited). Turning it off
    leaves a pending proposal waiting: it is still approved or sent back."""
    _require_admin(actor)
    now = now or timezone.now()
    template = ProcessTemplate.objects.select_for_update().filter(code=code).first()
    if template is None:
        raise NotFound("template not found")
    if template.second_approval != bool(on):
        template.second_approval = bool(on)
        template.save(update_fields=["second_approval"])
        audit_write(
            [
                PendingAudit(
                    action=Action.TEMPLATE_SECOND_APPROVAL_SET,
                    at=now,
                    actor_id=actor.pk,
                    object_type="process_template",
                    object_id=str(template.pk),
                    data={"template": code, "on": bool(on)},
                )
            ]
        )
    return template


def _tell(kind: str, key: str, users, body: str, proposal: ProcessProposal, now: datetime) -> None:
    """After commit, through the outbox: the bell and e-mail."""
    message = OutboxMessage.objects.create(
        key=f"process:{key}",
        topic="process_notice",
        payload={"kind": kind, "users": [u.pk for u in users], "body": body, "proposal": proposal.pk},
        created_at=now,
    )
    dispatch_on_commit([message.pk])
