"""validate_process PATH... — exit 0 when every template is valid, else 1
with one `PATH:LINE:COL: message` line per problem."""

from django.core.management.base import BaseCommand

from govflow.processes.cli import read_definition


class Command(BaseCommand):
    help = "Validate process templates; prints PATH:LINE:COL: message for every problem."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--quiet", action="store_true", help="print nothing for valid files")

    def handle(self, *args, paths, quiet, **options):
        failed = False
        for path in paths:
            definition, problems = read_definition(path)
            if problems:
                failed = True
                for line in problems:
                    self.stdout.write(line)
            elif not quiet:
                self.stdout.write(f"{path}: ok ({len(definition.nodes)} nodes)")
        if failed:
            raise SystemExit(1)
