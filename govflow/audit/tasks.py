"""Celery beat job: sign a checkpoint of every audit chain's head."""

import logging

from celery import shared_task

from govflow.audit.checkpoints import ChainNotIntact, checkpoint_create
from govflow.audit.signing import SigningKeyInvalid, SigningKeyMissing

log = logging.getLogger(__name__)


@shared_task(name="govflow.audit.checkpoint", acks_late=True)
def checkpoint() -> int | None:
    """The number of events the checkpoint covers, or None (nothing new, no key, or a broken
    chain; the last two are logged as errors for the operator)."""
    try:
        made = checkpoint_create()
    except (SigningKeyMissing, SigningKeyInvalid, ChainNotIntact) as exc:
        log.error("audit checkpoint not signed: %s", getattr(exc, "message", exc))
        return None
    return made.seq if made is not None else None
