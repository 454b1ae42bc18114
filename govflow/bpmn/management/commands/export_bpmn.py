"""export_bpmn FILE.yaml --out FILE.bpmn

A govflow template as BPMN 2.0 XML with diagram interchange (an automatic
left-to-right layout), for bpmn-js, Camunda Modeler and other modelers.
Exit 1 with the template's `PATH:LINE:COL: message` lines when it does not
validate."""

from pathlib import Path

from django.utils.translation import gettext as _

from govflow.bpmn.catalogue import departments_catalogue, handlers
from govflow.bpmn.exporter import export_bpmn
from govflow.command_language import TranslatedCommand
from govflow.engine import InvalidDefinition
from govflow.engine.loader import MAX_BYTES
from govflow.messages import translated_problems


class Command(TranslatedCommand):
    help = "Write a govflow process template as BPMN 2.0 XML with a diagram."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.yaml")
        parser.add_argument("--out", metavar="FILE.bpmn", help="write the XML here instead of stdout")

    def handle(self, *args, path, out, **options):
        try:
            source = Path(path).read_bytes()[: MAX_BYTES + 1]
        except OSError as exc:
            self.stderr.write(
                f"{path}:1:1: " + _("cannot read the file: %(reason)s") % {"reason": exc.strerror or exc}
            )
            raise SystemExit(1) from None
        try:
            xml = export_bpmn(source, handlers=handlers(), departments=departments_catalogue())
        except InvalidDefinition as exc:
            for problem in translated_problems(exc.problems):
                self.stderr.write(problem.format(path))
            raise SystemExit(1) from None
        if out:
            try:
                Path(out).write_bytes(xml)
            except OSError as exc:
                self.stderr.write(
                    f"{out}: " + _("cannot write the file: %(reason)s") % {"reason": exc.strerror or exc}
                )
                raise SystemExit(1) from None
        else:
            self.stdout.write(xml.decode("utf-8"), ending="")
