"""Define the data catalogue's datasets from a catalogue file (default:
govflow/catalog/datasets.yaml), then check every published template's
`catalog:` declarations against them. Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from govflow.catalog.datasets import DEFAULT_FILE, catalogue_load_file
from govflow.catalog.models import Dataset
from govflow.catalog.publishing import declaration_problems
from govflow.errors import GovflowError
from govflow.processes.models import ProcessTemplate
from govflow.processes.services import version_definition


class Command(BaseCommand):
    help = "Define the data catalogue's datasets from a file and check the templates' declarations."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_FILE))

    def handle(self, *args, path, **options):
        try:
            datasets = catalogue_load_file(path)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from exc
        except GovflowError as exc:
            lines = [f"{path}: {exc.message}"]
            lines += [f"{path}: {where}: {m}" for where, ms in exc.fields.items() for m in ms]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(f"{path}: {len(datasets)} dataset(s)")
        known = {d.code: d for d in Dataset.objects.all()}
        broken = False
        for template in ProcessTemplate.objects.filter(current_version__isnull=False).select_related(
            "current_version"
        ):
            for problem in declaration_problems(version_definition(template.current_version), known):
                broken = True
                self.stderr.write(f"template {template.code}: {problem}")
        if broken:
            raise CommandError("some templates' catalogue declarations do not match the datasets")
