"""import_bpmn FILE.bpmn [--out FILE.yaml] [--department CODE]

BPMN 2.0 XML -> a govflow YAML template that passes validate_process. Exit
0 and the YAML (on stdout, or in --out); notes for the admin (translated or
untranslated conditions, ignored vendor extensions) go to stderr. Exit 1 with
one `FILE:LINE: element 'ID': message` line per reason when the file is
refused."""

from pathlib import Path

from django.core.management.base import BaseCommand

from govflow.bpmn.catalogue import departments_catalogue, handlers
from govflow.bpmn.common import MAX_BYTES, BpmnError
from govflow.bpmn.importer import import_bpmn


class Command(BaseCommand):
    help = "Translate a BPMN 2.0 file into a govflow process template (YAML)."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.bpmn")
        parser.add_argument("--out", metavar="FILE.yaml", help="write the YAML here instead of stdout")
        parser.add_argument(
            "--department",
            metavar="CODE",
            help="department for tasks that stand in no lane naming a department",
        )

    def handle(self, *args, path, out, department, **options):
        departments = departments_catalogue()
        if department and department not in departments:
            self.stderr.write(
                f"{path}: unknown department '{department}' (known: {', '.join(sorted(departments))})"
            )
            raise SystemExit(1)
        try:
            with open(path, "rb") as stream:
                source = stream.read(MAX_BYTES + 1)
        except OSError as exc:
            self.stderr.write(f"{path}: cannot read the file: {exc.strerror or exc}")
            raise SystemExit(1) from None
        try:
            result = import_bpmn(
                source, departments=departments, handlers=handlers(), default_department=department
            )
        except BpmnError as exc:
            for line in exc.lines(path):
                self.stderr.write(line)
            raise SystemExit(1) from None
        for note in result.notes:
            self.stderr.write("note: " + note.format(path))
        if out:
            try:
                Path(out).write_text(result.yaml, encoding="utf-8")
            except OSError as exc:
                self.stderr.write(f"{out}: cannot write the file: {exc.strerror or exc}")
                raise SystemExit(1) from None
            self.stderr.write(f"{out}: template '{result.template_id}' written")
        else:
            self.stdout.write(result.yaml, ending="")
