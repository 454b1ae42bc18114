"""verify_certificate FILE.pdf — valid (exit 0), revoked (exit 2), or
altered / not issued here (exit 1)."""

import sys

from django.core.management.base import BaseCommand

from govflow.certificates.services import MAX_PDF_BYTES, certificate_verify_pdf


class Command(BaseCommand):
    help = "Verify a certificate PDF: prints valid / revoked / altered; exit 0 / 2 / 1."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_PDF_BYTES + 1)
        except OSError as exc:
            self.stderr.write(f"{path}: cannot be read ({exc.strerror or exc})")
            sys.exit(1)
        result = certificate_verify_pdf(data)
        word = {"valid": "valid", "revoked": "revoked"}.get(result.status, "altered")
        line = f"{word}: {result.message}"
        if result.number:
            line += f" (certificate {result.number}"
            if result.status == "revoked" and result.revoked_at:
                line += f", revoked {result.revoked_at:%Y-%m-%d}: {result.revoked_reason}"
            line += ")"
        self.stdout.write(line)
        sys.exit(result.exit_code)
