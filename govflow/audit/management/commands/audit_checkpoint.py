"""audit_checkpoint — sign every audit chain's head now (beat does this
periodically). Exit 1 when there is no key or the chain is broken."""

from django.core.management.base import BaseCommand

from govflow.audit.checkpoints import ChainNotIntact, checkpoint_create
from govflow.audit.signing import SigningKeyInvalid, SigningKeyMissing


class Command(BaseCommand):
    help = "Sign a checkpoint of the audit chain's head."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="sign even if nothing was appended")

    def handle(self, *args, **options):
        try:
            checkpoint = checkpoint_create(force=options["force"])
        except (SigningKeyMissing, SigningKeyInvalid, ChainNotIntact) as exc:
            self.stdout.write(f"no checkpoint: {getattr(exc, 'message', exc)}")
            raise SystemExit(1) from None
        if checkpoint is None:
            self.stdout.write("no new audit events since the last checkpoint")
        else:
            self.stdout.write(
                f"checkpoint signed over {len(checkpoint.heads)} chain(s), {checkpoint.seq} events "
                f"(Merkle root {checkpoint.head_hash})"
            )
