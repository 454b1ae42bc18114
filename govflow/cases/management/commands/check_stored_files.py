"""check_stored_files — after restoring PostgreSQL and the bucket: every
attachment, certificate and letter row finds its stored file (--hashes:
with the SHA-256 the row records). One line per problem, exit 1 if any."""

from django.core.management.base import BaseCommand

from govflow.storage_check import stored_files_check


class Command(BaseCommand):
    help = "List rows whose stored file is missing (or, with --hashes, altered); exit 1 if any."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hashes", action="store_true", help="Also read every file and check its SHA-256."
        )

    def handle(self, *args, hashes: bool, **options):
        problems = stored_files_check(hashes=hashes)
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise SystemExit(1)
