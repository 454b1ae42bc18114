"""BPMN pages: upload -> import into the console's editor, the diagram XML
of a published version (console) and of a case (case page)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.accounts.permissions import is_admin
from govflow.engine import InvalidDefinition
from govflow.errors import GovflowError
from govflow.messages import engine_text, translated_problems
from govflow.processes.services import template_import_draft
from govflow.web.selectors import template_get_for_admin, version_get_for_admin
from govflow.web.views.common import admin_required

from .catalogue import departments_catalogue, handlers
from .common import MAX_BYTES, BpmnError, lane_entry
from .exporter import export_bpmn
from .importer import import_bpmn
from .selectors import case_bpmn, version_bpmn

MAX_NOTES_SHOWN = 200
MAX_LANE_MAP_CHARS = 20_000


def _lane_map(text: str) -> tuple[dict[str, str], list[str]]:
    """The form's lane map, one LANE=CODE per line (blank lines and lines
    starting with # skipped), and a problem per malformed line."""
    lanes: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            lane, code = lane_entry(line)
        except ValueError as exc:
            problems.append(
                _("Lane map, line %(number)s: %(problem)s")
                % {"number": number, "problem": engine_text(exc.args[0])}
            )
            continue
        lanes[lane] = code
    return lanes, problems


def _xml_response(xml: bytes, *, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(xml, content_type="application/xml; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    departments = departments_catalogue()
    context = {
        "departments": sorted(departments.items()),
        "problems": [],
        "chosen": "",
        "lane_map": "",
        "keep_conditions": False,
        "process": "",
    }
    if request.method == "GET":
        return render(request, "bpmn/import.html", context)
    chosen = request.POST.get("department", "")
    lane_text = request.POST.get("lane_map", "")[:MAX_LANE_MAP_CHARS]
    keep_conditions = request.POST.get("keep_conditions") == "on"
    process = request.POST.get("process", "").strip()[:200]
    context.update(chosen=chosen, lane_map=lane_text, keep_conditions=keep_conditions, process=process)
    lanes, lane_problems = _lane_map(lane_text)
    if lane_problems:
        context["problems"] = lane_problems
        return render(request, "bpmn/import.html", context, status=400)
    upload = request.FILES.get("file")
    if upload is None:
        context["problems"] = [_("Choose a BPMN file (.bpmn or .xml) to import.")]
        return render(request, "bpmn/import.html", context, status=400)
    if chosen and chosen not in departments:
        context["problems"] = [_("Unknown department.")]
        return render(request, "bpmn/import.html", context, status=400)
    if upload.size > MAX_BYTES:
        context["problems"] = [_("The file is too large (the limit is 5 MB).")]
        return render(request, "bpmn/import.html", context, status=400)
    source = upload.read(MAX_BYTES + 1)
    try:
        result = import_bpmn(
            source,
            departments=departments,
            handlers=handlers(),
            default_department=chosen or None,
            lane_map=lanes,
            keep_conditions=keep_conditions,
            process=process or None,
        )
    except BpmnError as exc:
        # each problem in the reader's language, at the same line and element
        context["problems"] = [engine_text(line) for line in exc.lines(upload.name or "")]
        return render(request, "bpmn/import.html", context, status=400)
    messages.success(
        request,
        _("%(name)s was imported as template %(code)s. Check it, dry-run it, then publish it.")
        % {"name": upload.name, "code": result.template_id},
    )
    source = result.yaml
    if result.placeholders:
        messages.warning(
            request,
            _(
                "%(count)s condition(s) could not be translated and stand as placeholders; the template "
                "will not validate until you rewrite them."
            )
            % {"count": result.placeholders},
        )
    if result.notes:
        messages.warning(
            request,
            _("The import left %(count)s note(s) for you; they are comments at the top of the YAML.")
            % {"count": len(result.notes)},
        )
        lines = [
            f"# - {' '.join(engine_text(n.format(upload.name or '')).split())}"
            for n in result.notes[:MAX_NOTES_SHOWN]
        ]
        source = "# BPMN import notes (delete them once handled):\n" + "\n".join(lines) + "\n" + source
    if request.POST.get("open") == "designer":
        try:
            draft = template_import_draft(source=source, actor=request.user)
        except GovflowError as exc:
            context["problems"] = [exc.message]
            return render(request, "bpmn/import.html", context, status=400)
        # the designer names the part that is not block-structured, if any
        return redirect("web:console_designer", draft.template.code)
    return render(
        request,
        "console/editor.html",
        {
            "source": source,
            "note": (_("Imported from %(name)s") % {"name": upload.name})[:500],
            "script": "",
            "problems": [],
            "action": "",
        },
    )


@require_GET
def version_xml(request, code, number):
    # Admins only; anyone else is told nothing exists here.
    if not is_admin(request.user):
        raise Http404
    version = version_get_for_admin(code=code, number=number)
    filename = f"{code}-v{number}.bpmn" if request.GET.get("download") else None
    return _xml_response(version_bpmn(version), filename=filename)


@require_GET
def case_xml(request, reference):
    return _xml_response(case_bpmn(user=request.user, reference=reference))


@admin_required
@require_POST
def designer_xml(request, code):
    """The designer's working text (saved or not) as BPMN, with the
    exporter export_bpmn uses; a text that does not validate is answered
    with its problems."""
    template_get_for_admin(code=code)
    source = request.POST.get("source", "").replace("\r\n", "\n")[:MAX_BYTES]
    try:
        xml = export_bpmn(source.encode("utf-8"), handlers=handlers(), departments=departments_catalogue())
    except InvalidDefinition as exc:
        lines = [problem.format(code) for problem in translated_problems(exc.problems)]
        response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8", status=400)
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return _xml_response(xml, filename=f"{code}.bpmn")
