"""validate_process PATH... — exit 0 when every template is valid, else 1
with one `PATH:LINE:COL: message` line per problem, in the configured
language (or --language zh-hans|en)."""

from django.utils.translation import gettext as _

from govflow.command_language import TranslatedCommand
from govflow.processes.cli import read_definition


class Command(TranslatedCommand):
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
                self.stdout.write(
                    _("%(path)s: ok (%(count)s nodes)") % {"path": path, "count": len(definition.nodes)}
                )
        if failed:
            raise SystemExit(1)
