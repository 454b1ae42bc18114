"""The admin console: templates and versions, the YAML editor with its
validation, dry run and publishing, and the process diagram."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from govflow.accounts.selectors import department_names
from govflow.errors import InvalidInput
from govflow.processes.services import process_publish, version_definition
from govflow.web.console import template_dry_run
from govflow.web.diagram import diagram_svg, outline
from govflow.web.selectors import (
    problems_from_messages,
    template_check,
    template_get_for_admin,
    templates_for_admin,
    version_get_for_admin,
)

from .common import admin_required, int_or_none, lang

MAX_SOURCE = 500_000


def _diagram(definition) -> str:
    # diagram_svg escapes every text it draws.
    return mark_safe(diagram_svg(definition, language=lang(), departments=department_names(language=lang())))


@admin_required
@require_GET
def home(request):
    return render(request, "console/home.html", {"templates": templates_for_admin()})


@admin_required
@require_GET
def template_detail(request, code):
    template = template_get_for_admin(code=code)
    version = template.current_version
    definition = None
    if version is not None:
        version = version_get_for_admin(code=code, number=version.number)
        definition = version_definition(version)
    return render(
        request,
        "console/template.html",
        {
            "template": template,
            "version": version,
            "definition": definition,
            "outline": outline(definition, language=lang()) if definition else [],
        },
    )


@admin_required
@require_GET
def version_detail(request, code, number):
    version = version_get_for_admin(code=code, number=number)
    definition = version_definition(version)
    return render(
        request,
        "console/version.html",
        {
            "version": version,
            "template": version.template,
            "lines": list(enumerate(version.source.splitlines(), start=1)),
            "outline": outline(definition, language=lang()),
        },
    )


@admin_required
@require_GET
def version_svg(request, code, number):
    version = version_get_for_admin(code=code, number=number)
    svg = diagram_svg(
        version_definition(version), language=lang(), departments=department_names(language=lang())
    )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


CONTEXT_LINES = 3


def _excerpts(source: str, problems) -> list[list[tuple[int, str, list]]]:
    """The source around each problem (a few lines either side), as runs of
    (line number, text, problems on that line); runs that touch are merged."""
    by_line: dict[int, list] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem)
    lines = source.splitlines() or [""]
    wanted = sorted(
        {
            n
            for line in by_line
            for n in range(line - CONTEXT_LINES, line + CONTEXT_LINES + 1)
            if 1 <= n <= len(lines)
        }
    )
    runs: list[list[tuple[int, str, list]]] = []
    for number in wanted:
        if not runs or runs[-1][-1][0] != number - 1:
            runs.append([])
        runs[-1].append((number, lines[number - 1], by_line.get(number, [])))
    return runs


@admin_required
@require_http_methods(["GET", "POST"])
def editor(request):
    context: dict = {"source": "", "note": "", "script": "", "problems": [], "action": ""}
    if request.method == "GET":
        code = request.GET.get("template", "")
        if code:
            template = template_get_for_admin(code=code)
            number = int_or_none(request.GET.get("version"))
            if number is None and template.current_version is not None:
                number = template.current_version.number
            if number is not None:
                context["source"] = version_get_for_admin(code=code, number=number).source
                context["based_on"] = (template, number)
        return render(request, "console/editor.html", context)
    source = request.POST.get("source", "").replace("\r\n", "\n")[:MAX_SOURCE]
    action = request.POST.get("action", "validate")
    context.update(
        source=source,
        note=request.POST.get("note", "")[:500],
        script=request.POST.get("script", ""),
        action=action,
    )
    status = 200
    if action == "publish":
        started = timezone.now()
        try:
            version = process_publish(source=source, published_by=request.user, note=context["note"])
        except InvalidInput as exc:
            context["problems"] = problems_from_messages(list(exc.fields.get("source", [exc.message])))
            status = 400
        else:
            if version.published_at < started:
                messages.info(
                    request,
                    _("The text is the same as the current version v%(number)s; nothing was published.")
                    % {"number": version.number},
                )
                return redirect("web:console_template", code=version.template.code)
            messages.success(
                request,
                _(
                    "Version %(number)s of %(title)s is published. New applications use it; "
                    "running cases keep the version they started on."
                )
                % {"number": version.number, "title": version.template.title(lang())},
            )
            return redirect("web:console_template", code=version.template.code)
    elif action == "simulate":
        run = template_dry_run(
            source=source, script_text=context["script"], today=timezone.localdate(), language=lang()
        )
        context.update(problems=run.problems, dry_run=run)
        status = 400 if run.problems else 200
    else:
        definition, problems = template_check(source)
        context["problems"] = problems
        context["valid"] = not problems
        if definition is not None and not problems:
            context["diagram"] = _diagram(definition)
        status = 400 if problems else 200
    context["excerpts"] = _excerpts(source, context["problems"])
    return render(request, "console/editor.html", context, status=status)
