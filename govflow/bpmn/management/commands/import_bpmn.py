"""import_bpmn FILE.bpmn [--out FILE.yaml] [--department CODE] [--lane-map LANE=CODE ...] [--process ID]
    [--keep-conditions]

BPMN 2.0 XML -> a govflow YAML template that passes validate_process. Exit
0 and the YAML (on stdout, or in --out); notes for the admin (translated
conditions, decisions read from flow names, dropped data elements, ignored
vendor extensions) go to stderr. Exit 1 with one `FILE:LINE: element 'ID':
message` line per reason when the file is refused. Problems and notes are
said in the configured language (or --language zh-hans|en).

Lanes and pools name departments by code, Chinese or English name; --lane-map
names the others (by lane name or id; repeatable); --department takes the
tasks of lanes that name none. --keep-conditions turns conditions govflow
cannot translate into placeholders an admin must rewrite (the YAML then
fails validate_process, naming each one with its line) instead of refusing.
The departments are the database's active ones, else fixtures/departments.yaml."""

from pathlib import Path

from django.utils.translation import gettext as _

from govflow.bpmn.catalogue import departments_catalogue, handlers
from govflow.bpmn.common import MAX_BYTES, BpmnError, lane_entry
from govflow.bpmn.conditions import PLACEHOLDER_FIELD
from govflow.bpmn.importer import import_bpmn
from govflow.command_language import TranslatedCommand
from govflow.messages import engine_text


class Command(TranslatedCommand):
    help = "Translate a BPMN 2.0 file into a govflow process template (YAML)."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.bpmn")
        parser.add_argument("--out", metavar="FILE.yaml", help="write the YAML here instead of stdout")
        parser.add_argument(
            "--department",
            metavar="CODE",
            help="department for tasks that stand in no lane or pool naming a department",
        )
        parser.add_argument(
            "--lane-map",
            metavar="LANE=CODE",
            action="append",
            default=[],
            help="the department (code, or 'applicant') of a lane or pool, by its name or id; repeatable",
        )
        parser.add_argument(
            "--process",
            metavar="ID",
            help="the process to import (its BPMN id) when the file holds several independent ones",
        )
        parser.add_argument(
            "--keep-conditions",
            action="store_true",
            help=f"keep conditions govflow cannot translate as placeholders ({PLACEHOLDER_FIELD}) for an "
            "admin to rewrite, instead of refusing the file",
        )

    def handle(self, *args, path, out, department, lane_map, keep_conditions, process, **options):
        departments = departments_catalogue()
        if department and department not in departments:
            self.stderr.write(
                f"{path}: "
                + _("unknown department '%(code)s' (known: %(known)s)")
                % {"code": department, "known": ", ".join(sorted(departments))}
            )
            raise SystemExit(1)
        try:
            lanes = dict(lane_entry(entry) for entry in lane_map)
        except ValueError as exc:
            self.stderr.write(f"{path}: --lane-map {engine_text(exc.args[0]) if exc.args else exc}")
            raise SystemExit(1) from None
        try:
            with open(path, "rb") as stream:
                source = stream.read(MAX_BYTES + 1)
        except OSError as exc:
            self.stderr.write(
                f"{path}: " + _("cannot read the file: %(reason)s") % {"reason": exc.strerror or exc}
            )
            raise SystemExit(1) from None
        try:
            result = import_bpmn(
                source,
                departments=departments,
                handlers=handlers(),
                default_department=department,
                lane_map=lanes,
                keep_conditions=keep_conditions,
                process=process,
            )
        except BpmnError as exc:
            for line in exc.lines(path):
                self.stderr.write(engine_text(line))
            raise SystemExit(1) from None
        for note in result.notes:
            self.stderr.write(_("note: %(note)s") % {"note": engine_text(note.format(path))})
        if result.placeholders:
            self.stderr.write(
                _(
                    "warning: %(path)s: %(count)s condition(s) stand as placeholders (%(field)s); "
                    "the template will not validate until an admin rewrites them"
                )
                % {"path": path, "count": result.placeholders, "field": PLACEHOLDER_FIELD}
            )
        if out:
            try:
                Path(out).write_text(result.yaml, encoding="utf-8")
            except OSError as exc:
                self.stderr.write(
                    f"{out}: " + _("cannot write the file: %(reason)s") % {"reason": exc.strerror or exc}
                )
                raise SystemExit(1) from None
            self.stderr.write(f"{out}: " + _("template '%(code)s' written") % {"code": result.template_id})
        else:
            self.stdout.write(result.yaml, ending="")
