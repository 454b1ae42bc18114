"""The reviewer inbox, task actions, and the department head's dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govflow.cases import selectors
from govflow.cases.services import task_claim, task_complete, task_handover, task_release
from govflow.errors import GovflowError, InvalidInput, NotFound
from govflow.messages import error_text, fields_of
from govflow.web.presenters import department_tasks_for_head
from govflow.web.selectors import services_catalogue

from .case_page import render_case_page
from .common import int_or_none, lang, reviewer_required, roles_of, safe_next


def _filters(request) -> dict:
    get = request.GET
    status = get.get("status", "live")
    due = get.get("due", "")
    return {
        "service": get.get("service", "")[:64],
        "status": status if status in selectors.INBOX_STATUSES else "live",
        "due": due if due in selectors.INBOX_DUE else "",
        "sort": "-due" if get.get("sort") == "-due" else "due",
        "q": get.get("q", "")[:100],
    }


@reviewer_required
@require_GET
def inbox(request):
    filters = _filters(request)
    page = max(1, int_or_none(request.GET.get("page")) or 1)
    result = selectors.tasks_for_reviewer(user=request.user, page=page, language=lang(), **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "inbox/list.html",
        {
            "result": result,
            "filters": filters,
            "services": services_catalogue(language=lang()),
            "query": query.urlencode(),
            "now": timezone.now(),
        },
    )


def _act(request, task_id: int, action, success):
    """Run a task action. An HTMX request gets the refreshed inbox row (with
    the error in it, if any); a plain form post goes back with a message
    (`success`, or a function of the action's result giving it)."""
    error = ""
    try:
        result = action()
        if callable(success):
            success = success(result)
    except NotFound:
        raise
    except GovflowError as exc:
        error = error_text(exc)
    back = safe_next(request, reverse("web:inbox"))
    if request.htmx:
        row = selectors.task_row(user=request.user, task_id=task_id, language=lang())
        return render(request, "inbox/_row.html", {"row": row, "next": back, "row_error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect(back)


@reviewer_required
@require_POST
def task_claim_view(request, pk):
    return _act(
        request,
        pk,
        lambda: task_claim(task_id=pk, actor=request.user),
        lambda task: (
            _(
                "You have already decided another step of this application, so this step was approved "
                "automatically in your name (审批人去重)."
            )
            if task.status == "completed"
            else _("You claimed the task; it is now yours to decide.")
        ),
    )


@reviewer_required
@require_POST
def task_release_view(request, pk):
    return _act(
        request,
        pk,
        lambda: task_release(task_id=pk, actor=request.user),
        _("The task is back in the department's queue."),
    )


@reviewer_required
@require_POST
def task_handover_view(request, pk):
    colleague = selectors.colleague_get(actor=request.user, task_id=pk, user_id=request.POST.get("to_user"))
    return _act(
        request,
        pk,
        lambda: task_handover(task_id=pk, actor=request.user, to_user=colleague),
        _("The task was handed over to %(name)s.") % {"name": selectors.display_name(colleague)},
    )


def notice_from_post(post) -> list[dict[str, str]]:
    """The decide form's correction notice: each ticked `notice_item`
    ("field:<id>" or "material:<id>") with its `reason-<item>`."""
    items = []
    for value in post.getlist("notice_item"):
        kind, _sep, item_id = value.partition(":")
        items.append({"kind": kind, "id": item_id, "reason": post.get(f"reason-{value}", "").strip()})
    return items


@reviewer_required
@require_POST
def task_decide_view(request, pk):
    outcome = request.POST.get("outcome", "")
    opinion = request.POST.get("opinion", "")
    legal_basis = request.POST.get("legal_basis", "")
    notice = notice_from_post(request.POST)
    try:
        task_complete(
            task_id=pk,
            actor=request.user,
            outcome=outcome,
            opinion=opinion,
            legal_basis=legal_basis,
            notice=notice or ([] if outcome == "notice" else None),
        )
    except NotFound:
        raise
    except InvalidInput as exc:
        errors = fields_of(exc)
        if "opinion" in errors:
            errors["opinion"] = [error_text(exc)]
        for key in ("legal_basis", "notice"):
            if key in errors:
                errors[key] = [error_text(exc)]
        if not outcome:
            errors["outcome"] = [_("Choose a decision.")]
        elif "outcome" in errors:
            errors["outcome"] = [_("That decision is not offered at this step.")]
        task = selectors.task_get_for_reviewer(user=request.user, task_id=pk)
        return render_case_page(
            request,
            task.case.reference,
            status=400,
            decide_errors=errors,
            decide_task=pk,
            typed_opinion=opinion,
            typed_outcome=outcome,
            typed_legal_basis=legal_basis,
            decide_problem="" if errors else error_text(exc),
        )
    except GovflowError as exc:
        messages.error(request, error_text(exc))
        task = selectors.task_get_for_reviewer(user=request.user, task_id=pk)
        return redirect("web:case", reference=task.case.reference)
    messages.success(request, _("Your decision was recorded."))
    return redirect("web:inbox")


@reviewer_required
@require_GET
def department(request):
    if not roles_of(request).is_head:
        raise PermissionDenied
    overdue_only = request.GET.get("due") == "overdue"
    loads = department_tasks_for_head(user=request.user, language=lang())
    return render(request, "inbox/department.html", {"loads": loads, "overdue_only": overdue_only})
