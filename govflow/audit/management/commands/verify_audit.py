"""verify_audit — exit 0 when the audit chain is intact, else 1 naming the
first broken event."""

from django.core.management.base import BaseCommand

from govflow.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail."

    def handle(self, *args, **options):
        broken = audit_verify()
        if broken is not None:
            self.stdout.write(f"audit chain broken at event {broken.event_id}: {broken.reason}")
            raise SystemExit(1)
        self.stdout.write("audit chain intact")
