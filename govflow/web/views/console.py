"""The admin console: templates and versions, the YAML editor with its
validation, dry run and publishing, and the process diagram."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.accounts.selectors import department_names
from govflow.errors import GovflowError, InvalidInput
from govflow.messages import engine_text, error_text, translated_problems
from govflow.processes import proposals
from govflow.processes.diff import template_diff
from govflow.processes.models import ProcessTemplate
from govflow.processes.selectors import proposal_get, proposal_pending, proposals_recent, template_draft
from govflow.processes.services import document_id, template_draft_save, template_new, version_definition
from govflow.web import designer as designing
from govflow.web import designer_form
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
            "pending": proposal_pending(template=template),
            "proposals": proposals_recent(template=template),
        },
    )


@admin_required
@require_POST
def second_approval(request, code):
    """Four-eyes on or off for the template (audited)."""
    on = request.POST.get("on") == "1"
    proposals.template_second_approval_set(code=code, actor=request.user, on=on)
    if on:
        messages.success(request, _("From now on, each new version needs a second administrator's approval."))
    else:
        messages.info(request, _("New versions are published by one administrator again."))
    return redirect("web:console_template", code=code)


@admin_required
@require_GET
def proposal_detail(request, code, pk):
    proposal = proposal_get(code=code, pk=pk)
    before = proposal.based_on.source if proposal.based_on else ""
    return render(
        request,
        "console/proposal.html",
        {
            "proposal": proposal,
            "template": proposal.template,
            "diff": template_diff(before, proposal.source),
            "own": proposal.proposed_by_id == request.user.pk,
        },
    )


@admin_required
@require_POST
def proposal_decide(request, code, pk):
    proposal = proposal_get(code=code, pk=pk)
    action = request.POST.get("action")
    try:
        if action == "approve":
            version = proposals.proposal_approve(proposal_id=proposal.pk, actor=request.user)
            messages.success(
                request,
                _("Version %(number)s is approved and published.") % {"number": version.number},
            )
            return redirect("web:console_template", code=code)
        if action == "reject":
            proposals.proposal_reject(
                proposal_id=proposal.pk, actor=request.user, reason=request.POST.get("reason", "")[:2000]
            )
            messages.info(request, _("The proposed version is sent back."))
        elif action == "withdraw":
            proposals.proposal_withdraw(proposal_id=proposal.pk, actor=request.user)
            messages.info(request, _("Your proposed version is withdrawn."))
        else:
            messages.error(request, _("Choose approve, send back or withdraw."))
    except GovflowError as exc:
        messages.error(request, error_text(exc))
    return redirect("web:console_proposal", code=code, pk=pk)


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


def _problem_marks(problems) -> list[dict]:
    """The problems as data for the editor's script (a JSON script element,
    which the CSP does not run): line and column (1-based), the message, the
    text for the mark in the margin and the text shown under the line."""
    marks = []
    for p in problems:
        words = {"line": p.line, "col": p.col, "message": str(p.message)}
        marks.append(
            {
                "line": p.line,
                "col": p.col,
                "message": words["message"],
                "label": _("Line %(line)s, column %(col)s: %(message)s") % words,
                "below": _("Column %(col)s: %(message)s") % words,
            }
        )
    return marks


def _against_published(code: str, source: str):
    """What the text changes against the template's published version (None
    for a new template)."""
    template = ProcessTemplate.objects.select_related("current_version").filter(code=code).first()
    if template is None or template.current_version is None:
        return None
    return {
        "number": template.current_version.number,
        "four_eyes": template.second_approval,
        "diff": template_diff(template.current_version.source, source),
    }


@admin_required
@require_http_methods(["GET", "POST"])
def editor(request):
    context: dict = {
        "source": "",
        "note": "",
        "script": "",
        "problems": [],
        "problem_marks": [],
        "action": "",
    }
    if request.method == "GET":
        code = request.GET.get("template", "")
        if code:
            template = template_get_for_admin(code=code)
            number = int_or_none(request.GET.get("version"))
            if number is None and template.current_version is not None:
                number = template.current_version.number
            draft = template_draft(template=template) if request.GET.get("draft") == "1" else None
            if draft is not None:  # the designer's saved draft
                context["source"] = draft.source
                context["from_draft"] = True
            elif number is not None:
                context["source"] = version_get_for_admin(code=code, number=number).source
                context["based_on"] = (template, number)
            context["designer_code"] = template.code
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
        try:
            outcome = proposals.process_propose(source=source, actor=request.user, note=context["note"])
        except InvalidInput as exc:
            context["problems"] = problems_from_messages(list(exc.fields.get("source", [exc.message])))
            status = 400
        else:
            return _published(request, outcome)
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
            context["diff"] = _against_published(definition.id, source)
        status = 400 if problems else 200
    context["designer_code"] = _designer_code(source)
    context["problems"] = translated_problems(context["problems"])  # same line:col, the reader's language
    context["excerpts"] = _excerpts(source, context["problems"])
    context["problem_marks"] = _problem_marks(context["problems"])
    return render(request, "console/editor.html", context, status=status)


def _published(request, outcome):
    """Where publishing (from the text editor or the designer) leads: the
    proposal waiting for a second administrator, or the template."""
    if outcome.proposal is not None:
        messages.success(
            request,
            _("The new version is proposed. Another administrator must approve it before it is published."),
        )
        return redirect("web:console_proposal", code=outcome.proposal.template.code, pk=outcome.proposal.pk)
    version = outcome.version
    if outcome.unchanged:
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


def _designer_code(source: str) -> str | None:
    """The template the text is (its top-level id), when it exists: the
    editor offers to open the text in its designer."""
    code = document_id(source)
    return code if code and ProcessTemplate.objects.filter(code=code).exists() else None


@admin_required
@require_http_methods(["GET", "POST"])
def designer_new(request):
    """A new template started in the designer: its code, titles and the
    department of its first steps; it opens as a draft of the smallest
    valid template."""
    context = {
        "code": "",
        "title_zh": "",
        "title_en": "",
        "department": "",
        "departments": sorted(department_names(language=lang()).items()),
        "error": "",
    }
    status = 200
    if request.method == "POST":
        for key in ("code", "title_zh", "title_en", "department"):
            context[key] = request.POST.get(key, "")[:200].strip()
        try:
            template_new(
                code=context["code"],
                title_zh=context["title_zh"],
                title_en=context["title_en"],
                department=context["department"],
                actor=request.user,
            )
        except GovflowError as exc:
            context["error"] = exc.message
            status = 400
        else:
            messages.success(request, _("The new template is a draft: build it here, then publish it."))
            return redirect("web:console_designer", code=context["code"])
    return render(request, "console/designer_new.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def designer(request, code):
    """The process designer for a template's draft: the chain of cards, "+"
    between them, a properties panel, problems on their cards and the
    approve-all working days. Each button posts the working text with the
    operation; "Save draft" keeps it, "Publish" publishes it through the
    same service as the text editor (a second administrator approves where
    the template asks)."""
    template = template_get_for_admin(code=code)
    draft = template_draft(template=template)
    check = designing.checker()
    status = 200
    refused = ""
    publish_problems: list = []
    if request.method == "GET":
        if draft is not None and request.GET.get("from") != "published":
            source = draft.source
        elif template.current_version is not None:
            source = version_get_for_admin(code=code, number=template.current_version.number).source
        else:
            source = ""
        selected = request.GET.get("node", "")
        dirty = False
    else:
        source = request.POST.get("source", "").replace("\r\n", "\n")[:MAX_SOURCE]
        selected = request.POST.get("selected", "")[:100]
        do = request.POST.get("do", "")[:300]
        dirty = request.POST.get("dirty") == "1"
        if do == "save":
            try:
                draft = template_draft_save(code=code, source=source, actor=request.user)
            except GovflowError as exc:
                refused = exc.message
                status = 400
            else:
                dirty = False
                messages.success(request, _("The draft is saved. Publish it when it is ready."))
        elif do == "publish":  # the text editor's publishing, four-eyes included
            if document_id(source) != code:
                refused = _("The draft's id must stay %(code)s; a different id is a different template.") % {
                    "code": code
                }
                status = 400
            else:
                try:
                    outcome = proposals.process_propose(
                        source=source, actor=request.user, note=request.POST.get("note", "")[:500]
                    )
                except InvalidInput as exc:
                    refused = _("Nothing was published: the template has problems.")
                    publish_problems = translated_problems(
                        problems_from_messages(list(exc.fields.get("source", [exc.message])))
                    )
                    status = 400
                else:
                    return _published(request, outcome)
        elif do == "open":  # the text editor's text, opened here
            pass
        elif do.startswith("select|"):
            selected = do.partition("|")[2][:100]
        else:
            on_form = do.startswith("form|")  # the form's panel (fields, materials)
            op = (designer_form if on_form else designing).operation_of(do, request.POST)
            if op is None:
                refused = _("Choose an operation.")
                status = 400
            else:
                result = (designer_form if on_form else designing).run(source, op, check)
                if result.refused:
                    refused = engine_text(result.refused)
                    status = 400
                else:
                    dirty = dirty or result.changed
                    source = result.text
                    selected = result.focus or selected
                    if op["op"] == "delete" and selected == op.get("node"):
                        selected = ""
    view = designing.page(
        source,
        language=lang(),
        selected=selected,
        today=timezone.localdate(),
        departments=department_names(language=lang()),
        check=check,
    )
    return render(
        request,
        "console/designer.html",
        {
            "template": template,
            "draft": draft,
            "page": view,
            "source": source,
            "selected": selected,
            "refused": refused,
            "publish_problems": publish_problems,
            "dirty": dirty,
            "step_choices": designing.STEP_CHOICES,
            "block_choices": designing.BLOCK_CHOICES,
            "form_panel": designer_form.panel(
                source, selected, language=lang(), departments=department_names(language=lang())
            )
            if designer_form.is_form(selected)
            else None,
        },
        status=status,
    )


@admin_required
@require_POST
def designer_condition(request, code):
    """One condition checked against the working text's form, as the
    designer's panel types it (JSON): {"ok": ..., "problems": [...]}."""
    template_get_for_admin(code=code)
    source = request.POST.get("source", "").replace("\r\n", "\n")[:MAX_SOURCE]
    expression = request.POST.get("expression", "")[:2000]
    return JsonResponse(designer_form.condition_check(source, expression))
