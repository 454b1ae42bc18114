"""export_audit_checkpoints — the signed checkpoints as JSON lines, for
keeping outside the database (verify_audit --checkpoints FILE)."""

from django.core.management.base import BaseCommand

from govflow.audit.checkpoints import checkpoints_export


class Command(BaseCommand):
    help = "Export the audit chain's signed checkpoints as JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
        parser.add_argument(
            "--since",
            type=int,
            default=0,
            metavar="SEQ",
            help="only checkpoints covering more than SEQ events (a checkpoint's seq)",
        )

    def handle(self, *args, **options):
        lines = checkpoints_export(since_seq=options["since"])
        if options["out"]:
            count = 0
            with open(options["out"], "w", encoding="utf-8") as handle:
                for line in lines:
                    handle.write(line + "\n")
                    count += 1
            self.stderr.write(f"{count} checkpoint(s) written to {options['out']}")
        else:
            for line in lines:
                self.stdout.write(line)
