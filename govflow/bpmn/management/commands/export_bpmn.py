"""export_bpmn FILE.yaml --out FILE.bpmn

A govflow template as BPMN 2.0 XML with diagram interchange (an automatic
left-to-right layout), for bpmn-js, Camunda Modeler and other modelers.
Exit 1 with the template's `PATH:LINE:COL: message` lines when it does not
validate."""

from pathlib import Path

from django.core.management.base import BaseCommand

from govflow.bpmn.catalogue import departments_catalogue, handlers
from govflow.bpmn.exporter import export_bpmn
from govflow.engine import InvalidDefinition
from govflow.engine.loader import MAX_BYTES


class Command(BaseCommand):
    help = "Write a govflow process template as BPMN 2.0 XML with a diagram."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.yaml")
        parser.add_argument("--out", metavar="FILE.bpmn", help="write the XML here instead of stdout")

    def handle(self, *args, path, out, **options):
        try:
            source = Path(path).read_bytes()[: MAX_BYTES + 1]
        except OSError as exc:
            self.stderr.write(f"{path}:1:1: cannot read the file: {exc.strerror or exc}")
            raise SystemExit(1) from None
        try:
            xml = export_bpmn(source, handlers=handlers(), departments=departments_catalogue())
        except InvalidDefinition as exc:
            for line in exc.lines(path):
                self.stderr.write(line)
            raise SystemExit(1) from None
        if out:
            try:
                Path(out).write_bytes(xml)
            except OSError as exc:
                self.stderr.write(f"{out}: cannot write the file: {exc.strerror or exc}")
                raise SystemExit(1) from None
        else:
            self.stdout.write(xml.decode("utf-8"), ending="")
