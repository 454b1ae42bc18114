"""certificate_keys — create (idempotently) the demo root CA and a signing key
with its certificate for every department; `--rotate CODE` replaces one."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from ruamel.yaml import YAML

from govflow.accounts.models import Department
from govflow.certificates.keys import keys_dir, keys_ensure


def _fixture_departments() -> list[tuple[str, str]]:
    path = Path(settings.GOVFLOW_FIXTURES_DIR) / "departments.yaml"
    if not path.exists():
        return []
    entries = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    return [(str(e["code"]), str(e["zh"])) for e in entries.get("departments", [])]


class Command(BaseCommand):
    help = "Create missing signing keys and demo certificates for the departments (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rotate", action="append", default=[], metavar="CODE", help="replace this department's key"
        )

    def handle(self, *args, rotate, **options):
        # The departments in the database, and those of the fixtures (so that
        # `make run` can create the keys before load_demo creates departments).
        known = dict(_fixture_departments())
        known.update(Department.objects.values_list("code", "name_zh"))
        departments = sorted(known.items())
        unknown = sorted(set(rotate) - {code for code, _ in departments})
        if unknown:
            raise CommandError(f"unknown department(s): {', '.join(unknown)}")
        try:
            done = keys_ensure(departments, rotate=rotate)
        except OSError as exc:
            raise CommandError(f"keys could not be written to {keys_dir()}: {exc}") from exc
        for line in done:
            self.stdout.write(line)
        self.stdout.write(f"signing keys in {keys_dir()}: {len(departments)} department(s) ready")
