"""Reading proposed template versions (four-eyes); never writes."""

from __future__ import annotations

from govflow.errors import NotFound

from .models import ProcessDraft, ProcessProposal, ProposalStatus


def proposal_pending(*, template) -> ProcessProposal | None:
    return (
        ProcessProposal.objects.select_related("proposed_by", "based_on")
        .filter(template=template, status=ProposalStatus.PENDING)
        .first()
    )


def proposals_recent(*, template, limit: int = 20) -> list[ProcessProposal]:
    return list(
        ProcessProposal.objects.select_related("proposed_by", "decided_by", "version")
        .filter(template=template)
        .order_by("-proposed_at", "-id")[:limit]
    )


def proposal_get(*, code: str, pk: int) -> ProcessProposal:
    found = (
        ProcessProposal.objects.select_related("template", "proposed_by", "decided_by", "based_on", "version")
        .filter(pk=pk, template__code=code)
        .first()
    )
    if found is None:
        raise NotFound("proposal not found")
    return found


def template_draft(*, template) -> ProcessDraft | None:
    """The designer's saved working text of a template, if any."""
    return ProcessDraft.objects.filter(template=template).first()
