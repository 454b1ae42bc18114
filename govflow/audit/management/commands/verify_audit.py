"""verify_audit — exit 0 when every audit chain is intact, else 1 naming the
first broken event (its id, chain and position). Checks the signed checkpoints in the database and, with
--checkpoints, an exported copy kept elsewhere (which exposes the deletion
of rows and checkpoints together)."""

from django.utils.translation import gettext as _

from govflow.audit.checkpoints import CheckpointFileInvalid, checkpoints_read_file
from govflow.audit.signing import SigningKeyInvalid
from govflow.audit.verification import audit_verify
from govflow.command_language import TranslatedCommand


class Command(TranslatedCommand):
    help = "Verify the hash chain of the audit trail against its signed checkpoints."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            action="append",
            default=[],
            help="also check against checkpoints exported earlier (JSON lines); may be repeated",
        )

    def handle(self, *args, **options):
        extra = []
        try:
            for path in options["checkpoints"]:
                extra += checkpoints_read_file(path)
            broken = audit_verify(extra_checkpoints=extra)
        except (OSError, CheckpointFileInvalid, SigningKeyInvalid) as exc:
            self.stdout.write(
                _("audit chain not verified: %(reason)s") % {"reason": getattr(exc, "message", exc)}
            )
            raise SystemExit(1) from None
        if broken is not None:
            self.stdout.write(broken.describe())
            raise SystemExit(1)
        self.stdout.write(_("audit chain intact"))
