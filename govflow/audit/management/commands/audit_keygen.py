"""audit_keygen — create the Ed25519 key that signs audit checkpoints, in
var/keys/audit-signing.pem (mode 0600), and print its public key."""

from django.core.management.base import BaseCommand, CommandError

from govflow.audit.signing import generate_key_file, key_file, parse_private_key, public_text


class Command(BaseCommand):
    help = "Create the audit checkpoint signing key (refuses to replace one unless --rotate)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="replace an existing key (the old public key is printed, for "
            "GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS)",
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the key exists (for set-up scripts such as `make run`)",
        )

    def handle(self, *args, **options):
        path = key_file()
        old = None
        if path.exists():
            if options["if_missing"] and not options["rotate"]:
                self.stdout.write(f"{path} exists; nothing to do")
                return
            if not options["rotate"]:
                raise CommandError(f"{path} exists; use --rotate to replace it")
            old = parse_private_key(path.read_bytes())
        key = generate_key_file(path, overwrite=True)
        self.stdout.write(f"wrote {path}")
        self.stdout.write(f"public key: {public_text(key)}")
        if old is not None:
            self.stdout.write(
                "retired public key (add it to GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS so older checkpoints "
                f"still verify): {public_text(old)}"
            )
