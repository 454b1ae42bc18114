"""verify_certificate FILE.pdf — valid (exit 0), revoked (exit 2), or
altered / not issued here (exit 1)."""

import sys

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from govflow.certificates.services import MAX_PDF_BYTES, certificate_verify_pdf
from govflow.command_language import TranslatedCommand
from govflow.messages import engine_text


class Command(TranslatedCommand):
    help = "Verify a certificate PDF: prints valid / revoked / altered; exit 0 / 2 / 1."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_PDF_BYTES + 1)
        except OSError as exc:
            self.stderr.write(
                _("%(path)s: cannot be read (%(reason)s)") % {"path": path, "reason": exc.strerror or exc}
            )
            sys.exit(1)
        result = certificate_verify_pdf(data)
        word = {
            "valid": pgettext("certificate check", "valid"),
            "revoked": pgettext("certificate check", "revoked"),
        }.get(result.status, pgettext("certificate check", "altered"))
        line = _("%(word)s: %(message)s") % {"word": word, "message": engine_text(result.message)}
        if result.number and result.status == "revoked" and result.revoked_at:
            line += _(" (certificate %(number)s, revoked %(date)s: %(reason)s)") % {
                "number": result.number,
                "date": f"{result.revoked_at:%Y-%m-%d}",
                "reason": result.revoked_reason,
            }
        elif result.number:
            line += _(" (certificate %(number)s)") % {"number": result.number}
        self.stdout.write(line)
        sys.exit(result.exit_code)
