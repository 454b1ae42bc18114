"""sweep_orphan_files — delete stored files no row names (attachments,
certificate PDFs) older than the grace period; one line per file, and a
summary. With --dry-run nothing is deleted."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from govflow.storage_sweep import orphan_files_sweep


class Command(BaseCommand):
    help = "Delete stored files that no attachment or certificate refers to, older than the grace period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=24.0,
            metavar="HOURS",
            help="Leave files younger than this alone (a transaction may still be about to name them). "
            "Default 24.",
        )
        parser.add_argument("--dry-run", action="store_true", help="List the orphans, delete nothing.")

    def handle(self, *args, older_than: float, dry_run: bool, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 hour")
        result = orphan_files_sweep(older_than=timedelta(hours=older_than), dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for orphan in result.orphans:
            self.stdout.write(
                f"{verb} {orphan.storage}:{orphan.name} (modified {orphan.modified.isoformat()})"
            )
        self.stdout.write(
            f"{len(result.orphans)} orphan(s) {verb}; {result.referenced} referenced and "
            f"{result.kept_young} younger than {older_than:g} h kept."
        )
