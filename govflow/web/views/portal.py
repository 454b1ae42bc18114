"""The applicant portal: catalogue, application form, my cases, the case page,
corrections, withdrawal and downloads."""

from __future__ import annotations

import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from govflow.cases import selectors
from govflow.cases.applicant_steps import applicant_step_document_add, applicant_task_complete
from govflow.cases.applications import correction_answer, draft_update
from govflow.cases.attachments import served_name
from govflow.cases.corrections import correction_scope
from govflow.cases.models import CaseStatus
from govflow.cases.services import case_create, case_withdraw
from govflow.commitments.services import case_submit_with_commitment
from govflow.errors import FormInvalid, GovflowError
from govflow.messages import error_text
from govflow.processes.services import version_definition
from govflow.security.input import checks_own_text
from govflow.security.ratelimit import has_files, is_submit, rate_limit
from govflow.storage import StoredFileMissing, StoredObject, open_verified
from govflow.web import forms
from govflow.web.selectors import service_get, services_catalogue

from .case_page import render_case_page
from .common import int_or_none, lang

_ROW_ACTION = re.compile(r"^(add_row|remove_row):([A-Za-z0-9_]+)(?::([0-9]{1,12}))?$")
_ATTACHMENT_ACTION = re.compile(r"^remove_attachment:([0-9]{1,18})$")


@require_GET
def catalogue(request):
    return render(request, "portal/catalogue.html", {"services": services_catalogue(language=lang())})


@require_GET
def service_detail(request, code):
    return render(request, "portal/service.html", {"service": service_get(code=code, language=lang())})


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("apply")
def service_apply(request, code):
    if request.method == "GET":
        return redirect("web:service", code=code)
    case = case_create(applicant=request.user, template_code=code)
    messages.success(
        request, _("A draft application was started. You can save it and come back at any time.")
    )
    return redirect("web:case_edit", reference=case.reference)


@login_required
@require_GET
def my_cases(request):
    q = request.GET.get("q", "")
    status = request.GET.get("status", "")
    cases = selectors.cases_for_applicant(user=request.user, q=q, status=status)
    page = Paginator(cases, 20).get_page(request.GET.get("page"))
    return render(request, "portal/my_cases.html", {"page": page, "q": q, "status": status})


@login_required
@require_GET
def case_page(request, reference):
    return render_case_page(request, reference)


def _parse_action(post) -> tuple[str, dict]:
    action = post.get("action", "save")
    match = _ROW_ACTION.match(action)
    if match:
        return match[1], {"table": match[2], "number": int_or_none(match[3])}
    match = _ATTACHMENT_ACTION.match(action)
    if match:
        return "remove_attachment", {"attachment": int(match[1])}
    return ("submit" if action == "submit" else "save"), {}


def _uploads(request, form_spec) -> dict[str, list]:
    return {
        spec.id: request.FILES.getlist("attach-" + spec.id)
        for spec in form_spec.attachments
        if request.FILES.getlist("attach-" + spec.id)
    }


def _render_form(request, template, *, case, data, errors, extra_rows=None, status=200, problem=None):
    definition = version_definition(case.version)
    bound = forms.bind(definition.form, data, errors, language=lang(), extra_rows=extra_rows)
    attachments = forms.bind_attachments(
        definition.form, selectors.attachments_for_case(case=case), errors, language=lang()
    )
    detail = None
    if case.status == CaseStatus.AWAITING_CORRECTION:
        # The applicant's own case: nothing is unmasked, so no read to record.
        detail = selectors.case_detail(user=request.user, reference=case.reference, language=lang())
        if detail.correction is not None and detail.correction.notice:
            # 一次性告知: only what the notice lists is offered (the service refuses the rest).
            listed, slots = set(detail.correction.editable_fields), set(detail.correction.editable_materials)
            bound = [field for field in bound if field.spec.id in listed]
            attachments = [slot for slot in attachments if slot.spec.id in slots]
    context = {
        "case": case,
        "definition": definition,
        "service_title": case.template.title(lang()),
        "fields": bound,
        "attachments": attachments,
        "summary": forms.error_summary(bound, attachments, errors),
        "problem": problem,
        "detail": detail,
    }
    return render(request, template, context, status=status)


def _posted(request, definition):
    """The form action, its arguments, and the form data the POST carries
    (without a table row the applicant asked to remove)."""
    action, args = _parse_action(request.POST)
    drop = (
        (args["table"], args["number"]) if action == "remove_row" and args.get("number") is not None else None
    )
    return action, args, forms.data_from_post(definition.form, request.POST, drop_row=drop)


@checks_own_text  # refused characters are shown next to their field
@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("submit", when=is_submit)
@rate_limit("upload", when=has_files)
def case_edit(request, reference):
    case = selectors.case_get_for_applicant(user=request.user, reference=reference)
    if case.status != CaseStatus.DRAFT:
        return redirect("web:case", reference=reference)
    if request.method == "GET":
        return _render_form(request, "portal/apply.html", case=case, data=case.data, errors={})
    definition = version_definition(case.version)
    action, args, data = _posted(request, definition)
    result = draft_update(
        case=case,
        actor=request.user,
        data=data,
        expected_version=int_or_none(request.POST.get("row_version")),
        uploads=_uploads(request, definition.form),
        remove_attachment=args.get("attachment"),
        submit=action == "submit",
        submitter=case_submit_with_commitment,
        commitment=request.POST.get("commitment") == "1",
        language=lang(),
    )
    if result.submitted:
        messages.success(
            request,
            _("Your application %(reference)s was submitted. The departments now review it in parallel.")
            % {"reference": case.reference},
        )
        return redirect("web:case", reference=reference)
    problem = error_text(result.problem) if result.problem else None
    errors = result.errors
    extra = {args["table"]: 1} if action == "add_row" else None
    if result.ok and action == "save":
        messages.success(request, _("Draft saved."))
        return redirect("web:case_edit", reference=reference)
    if result.ok and action == "remove_attachment":
        messages.success(request, _("The file was removed."))
    return _render_form(
        request,
        "portal/apply.html",
        case=result.case,
        data=data,
        errors=errors,
        extra_rows=extra,
        problem=problem,
        status=200,
    )


@login_required
@require_GET
def table_row(request, reference, table):
    """One blank row of a table field (fetched by the form's 'add a row'
    button); its number only has to be unique within the form."""
    case = selectors.case_get_for_applicant(user=request.user, reference=reference)
    spec = version_definition(case.version).form.field(table)
    if spec is None or spec.type != "table":
        raise Http404
    # Later rows sort after earlier ones; the random tail keeps two rows added
    # in the same millisecond apart.
    number = (int(timezone.now().timestamp() * 1000) % 10**9) * 1000 + secrets.randbelow(1000)
    row = forms.bind_row(spec, {}, {}, lang(), number=number, position=-1)
    label = spec.label.get(lang()) or spec.label.get("zh", "")
    return render(request, "portal/_table_row.html", {"row": row, "table_id": table, "table_label": label})


@checks_own_text  # refused characters are shown next to their field
@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("submit", when=is_submit)
@rate_limit("upload", when=has_files)
def case_correct(request, reference):
    case = selectors.case_get_for_applicant(user=request.user, reference=reference)
    if case.status != CaseStatus.AWAITING_CORRECTION:
        return redirect("web:case", reference=reference)
    if request.method == "GET":
        return _render_form(request, "portal/correct.html", case=case, data=case.data, errors={})
    definition = version_definition(case.version)
    action, args, data = _posted(request, definition)
    scope = correction_scope(case)
    if scope is not None:
        data = {key: value for key, value in data.items() if key in scope[0]}
    result = correction_answer(
        case=case,
        actor=request.user,
        data=data,
        uploads=_uploads(request, definition.form),
        remove_attachment=args.get("attachment"),
        submit=action == "submit",
        language=lang(),
    )
    if result.submitted:
        messages.success(
            request, _("Your correction was sent. The review continues and the clock runs again.")
        )
        return redirect("web:case", reference=reference)
    extra = {args["table"]: 1} if action == "add_row" else None
    if result.ok and result.uploaded:
        messages.success(request, _("The files were uploaded."))
    return _render_form(
        request,
        "portal/correct.html",
        case=result.case,
        data=data,
        errors=result.errors,
        extra_rows=extra,
        problem=error_text(result.problem) if result.problem else None,
    )


@login_required
@require_http_methods(["POST"])
@rate_limit("submit")
def case_step(request, reference, task):
    """The applicant completes an open applicant_task from the case page."""
    case = selectors.case_get_for_applicant(user=request.user, reference=reference)
    node = None
    task_state = (case.state or {}).get("tasks", {}).get(task)
    if task_state is not None:
        node = version_definition(case.version).nodes.get(task_state["node"])
    asked = node.settings.get("fields", ()) if node is not None else ()
    data = {key: request.POST.get(key, "") for key in asked}
    documents = node.settings.get("documents", ()) if node is not None else ()
    try:
        # The step's documents come with the form (one file input per slot);
        # each is stored on its own, so a refused file leaves the others.
        for slot in documents:
            for upload in request.FILES.getlist(f"document-{slot}"):
                applicant_step_document_add(
                    case_id=case.pk,
                    actor=request.user,
                    task_id=task,
                    slot=slot,
                    upload=upload,
                    language=lang(),
                )
        applicant_task_complete(
            case_id=case.pk,
            actor=request.user,
            task_id=task,
            data=data,
            confirmed=request.POST.get("confirmed") == "1",
            language=lang(),
        )
    except FormInvalid as exc:
        return render_case_page(request, reference, status=400, step_errors=exc.fields)
    except GovflowError as exc:
        messages.error(request, error_text(exc))
        return redirect("web:case", reference=reference)
    messages.success(request, _("Done. The case continues and the clock runs again."))
    return redirect("web:case", reference=reference)


@login_required
@require_http_methods(["GET", "POST"])
def case_withdraw_view(request, reference):
    case = selectors.case_get_for_applicant(user=request.user, reference=reference)
    if request.method == "POST":
        reason = request.POST.get("reason", "")[:500]
        try:
            case_withdraw(case_id=case.pk, actor=request.user, reason=reason)
        except GovflowError as exc:
            messages.error(request, error_text(exc))
            return redirect("web:case", reference=reference)
        messages.success(request, _("The application was withdrawn."))
        return redirect("web:case", reference=reference)
    return render(
        request, "portal/withdraw.html", {"case": case, "service_title": case.template.title(lang())}
    )


@login_required
@require_GET
def attachment_download(request, reference, pk):
    attachment = selectors.attachment_get_for_user(user=request.user, reference=reference, attachment_id=pk)
    try:
        handle = open_verified(
            attachment.file,
            sha256=attachment.sha256,
            stored=StoredObject("attachment", str(attachment.pk), attachment.case_id),
            actor_id=request.user.pk,
        )
    except StoredFileMissing:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=served_name(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
