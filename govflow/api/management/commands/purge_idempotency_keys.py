from django.core.management.base import BaseCommand

from govflow.api.idempotency import KEY_TTL, purge_expired


class Command(BaseCommand):
    help = f"Delete Idempotency-Key records older than {KEY_TTL} (their keys may then be used again)."

    def handle(self, *args, **options):
        count = purge_expired()
        if options["verbosity"] > 1:
            self.stdout.write(f"{count} expired idempotency key(s) deleted")
