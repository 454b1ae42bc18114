"""purge_retention — remove attachments and secret field values of cases
closed longer ago than the retention settings allow (see docs/security.md)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from govflow.cases.retention import retention_purge


class Command(BaseCommand):
    help = "Purge attachments and secret field values of closed cases past their retention period."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be purged; change nothing")

    def handle(self, *args, **options):
        dry = options["dry_run"]
        if not settings.GOVFLOW_RETENTION_ATTACHMENTS_DAYS and not settings.GOVFLOW_RETENTION_SECRETS_DAYS:
            self.stdout.write(
                "no retention period is set (GOVFLOW_RETENTION_ATTACHMENTS_DAYS, "
                "GOVFLOW_RETENTION_SECRETS_DAYS): nothing is purged"
            )
            return
        report = retention_purge(dry_run=dry)
        verb = "would purge" if dry else "purged"
        self.stdout.write(
            f"{verb} {report.attachments} attachment(s) of {len(report.attachment_cases)} case(s); "
            f"{report.secret_values} secret value(s) of {len(report.secret_cases)} case(s)"
        )
        if dry:
            for reference in report.attachment_cases:
                self.stdout.write(f"  attachments: {reference}")
            for reference in report.secret_cases:
                self.stdout.write(f"  secret fields: {reference}")
