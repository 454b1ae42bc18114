"""Web pages and forms of the task operations: the decision panel's
actions (委派, 会商, 抄送), 待我回复 (delegations and consultations to
answer), 抄送我的 (copies), 催办 (the applicant's and a head's), 代理 and
离职交接, 常用意见 and 批量审批. Thin: selectors read, services write, errors
become messages."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.accounts.models import Department, Membership
from govflow.cases.models import Case
from govflow.errors import GovflowError, NotFound
from govflow.messages import error_text, refusal_text
from govflow.web.views.common import reviewer_required, roles_of, safe_next

from . import copies, extensions, proxies, selectors, services, urges

MESSAGES = {
    "consultation_open": gettext_lazy(
        "The consulted departments have not all given their opinion; decide once they have or their "
        "time limit has passed."
    ),
    "delegation_open": gettext_lazy(
        "The task is delegated to a colleague: wait for their opinion or take the delegation back."
    ),
    "delegation_closed": gettext_lazy("This delegation has been answered or taken back."),
    "consultation_closed": gettext_lazy("This consultation has been answered or withdrawn."),
    "task_not_live": gettext_lazy("This task has been decided or cancelled."),
    "not_claimed": gettext_lazy("Claim the task first: only the reviewer holding it can do this."),
    "not_holder": gettext_lazy("A colleague holds this task."),
    "urged_today": gettext_lazy("You can urge an application once per working day."),
    "too_early": gettext_lazy("A step can be urged once half of its time limit has passed."),
    "not_in_review": gettext_lazy("Only an application in review can be urged."),
    "nothing_to_urge": gettext_lazy("This application has no open step you can urge."),
    "proxy_overlaps": gettext_lazy("An acting officer is already named for part of this period."),
    "too_many_opinions": gettext_lazy("You keep 50 opinions already; delete one first."),
    "extension_pending": gettext_lazy("An extension of this task already waits for the head."),
    "extension_not_allowed": gettext_lazy("The template does not allow extending this step."),
    "extension_limit_reached": gettext_lazy(
        "This step's time limit was already extended as often as the template allows."
    ),
    "deadline_passed": gettext_lazy("The time limit has passed: an extension must be decided within it."),
    "extension_closed": gettext_lazy("This extension request has been answered."),
}


def message_of(exc: GovflowError) -> str:
    known = MESSAGES.get(exc.code)
    if known is not None:
        return str(known)
    if exc.fields and exc.code == "invalid":
        first = next(iter(exc.fields.values()))
        return f"{error_text(exc)} ({', '.join(first)})"
    return error_text(exc)


def _back(request, reference: str | None = None) -> str:
    default = reverse("web:case", args=[reference]) if reference else reverse("web:inbox")
    return safe_next(request, default)


def _run(request, action, success: str, reference: str | None = None):
    try:
        action()
    except NotFound:
        raise Http404 from None
    except GovflowError as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, success)
    return redirect(_back(request, reference))


def _user(value):
    try:
        return get_user_model().objects.filter(pk=int(value), is_active=True).first()
    except (TypeError, ValueError):
        return None


# -- the decision panel's actions -----------------------------------------------------


@reviewer_required
@require_POST
def task_delegate(request, pk):
    to_user = _user(request.POST.get("to_user"))
    return _run(
        request,
        lambda: services.delegation_request(
            task_id=pk, actor=request.user, to_user=to_user, note=request.POST.get("note", "")
        ),
        _("The task was delegated; you decide once the opinion is back."),
    )


@reviewer_required
@require_POST
def task_consult(request, pk):
    return _run(
        request,
        lambda: services.consultation_request(
            task_id=pk,
            actor=request.user,
            departments=request.POST.getlist("departments"),
            question=request.POST.get("question", ""),
            days=request.POST.get("days") or services.DEFAULT_CONSULT_DAYS,
        ),
        _("The departments were asked for their opinion."),
    )


@reviewer_required
@require_POST
def task_cc(request, pk):
    return _run(
        request,
        lambda: copies.copy_send(
            task_id=pk,
            actor=request.user,
            user_ids=request.POST.getlist("users"),
            departments=request.POST.getlist("departments"),
            note=request.POST.get("note", ""),
        ),
        _("The case was copied."),
    )


@login_required
@require_POST
def delegation_cancel(request, pk):
    return _run(
        request,
        lambda: services.delegation_cancel(delegation_id=pk, actor=request.user),
        _("The delegation was taken back."),
    )


@login_required
@require_POST
def consultation_withdraw(request, pk):
    return _run(
        request,
        lambda: services.consultation_withdraw(consultation_id=pk, actor=request.user),
        _("The consultation was withdrawn."),
    )


@reviewer_required
@require_POST
def task_extension(request, pk):
    return _run(
        request,
        lambda: extensions.extension_request(
            task_id=pk, actor=request.user, reason=request.POST.get("reason", "")
        ),
        _("The extension was asked of the department head."),
    )


# -- 待我回复 ----------------------------------------------------------------------


@reviewer_required
@require_GET
def requests_page(request):
    delegations, consultations = selectors.requests_for_user(user=request.user)
    return render(
        request,
        "collab/requests.html",
        {
            "delegations": delegations,
            "consultations": consultations,
            "extensions": selectors.extensions_for_head(user=request.user),
            "now": timezone.now(),
        },
    )


@reviewer_required
@require_POST
def extension_withdraw(request, pk):
    return _run(
        request,
        lambda: extensions.extension_withdraw(extension_id=pk, actor=request.user),
        _("The extension request was withdrawn."),
    )


@reviewer_required
@require_POST
def extension_answer(request, pk):
    """The head approves (the deadline moves, the applicant gets the letter) or refuses."""
    note = request.POST.get("answer", "")
    if request.POST.get("decision") == "approve":
        return _run(
            request,
            lambda: extensions.extension_approve(extension_id=pk, actor=request.user, note=note),
            _("The extension was approved; the applicant was told in writing."),
        )
    return _run(
        request,
        lambda: extensions.extension_refuse(extension_id=pk, actor=request.user, note=note),
        _("The extension was refused; the reviewer was told."),
    )


@reviewer_required
@require_POST
def delegation_answer(request, pk):
    return _run(
        request,
        lambda: services.delegation_answer(
            delegation_id=pk, actor=request.user, opinion=request.POST.get("opinion", "")
        ),
        _("Your opinion was sent back to the reviewer."),
    )


@reviewer_required
@require_POST
def consultation_answer(request, pk):
    return _run(
        request,
        lambda: services.consultation_answer(
            consultation_id=pk, actor=request.user, opinion=request.POST.get("opinion", "")
        ),
        _("Your department's opinion was sent."),
    )


# -- 抄送我的 ----------------------------------------------------------------------


@login_required
@require_GET
def copies_page(request):
    unread = request.GET.get("unread") == "1"
    rows = list(selectors.copies_for_user(user=request.user, unread_only=unread)[:200])
    return render(request, "collab/copies.html", {"copies": rows, "unread": unread})


@login_required
@require_GET
def copy_open(request, pk):
    try:
        copy = copies.copy_mark_read(copy_id=pk, actor=request.user)
    except NotFound:
        raise Http404 from None
    return redirect("web:case", reference=copy.case.reference)


# -- 催办 --------------------------------------------------------------------------


@login_required
@require_POST
def case_urge(request, reference):
    case = Case.objects.filter(reference=reference).only("pk").first()
    if case is None:
        raise Http404
    task_id = request.POST.get("task")
    return _run(
        request,
        lambda: urges.case_urge(
            case_id=case.pk,
            actor=request.user,
            task_id=int(task_id) if task_id and task_id.isdigit() else None,
            note=request.POST.get("note", ""),
        ),
        _("Your urge was sent to the reviewers."),
        reference,
    )


# -- 代理 and 离职交接 ----------------------------------------------------------------


def _when(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@reviewer_required
@require_http_methods(["GET", "POST"])
def proxies_page(request):
    if request.method == "POST":
        principal = _user(request.POST.get("principal")) or request.user
        starts, ends = _when(request.POST.get("starts_at", "")), _when(request.POST.get("ends_at", ""))
        if starts is None or ends is None:
            messages.error(request, _("Give the start and the end of the period."))
        else:
            try:
                proxies.proxy_appoint(
                    actor=request.user,
                    principal=principal,
                    proxy=_user(request.POST.get("proxy")),
                    starts_at=starts,
                    ends_at=ends,
                    reason=request.POST.get("reason", ""),
                )
            except GovflowError as exc:
                messages.error(request, message_of(exc))
            else:
                messages.success(request, _("The acting officer was named."))
                return redirect("collab:proxies")
    departments = Department.objects.filter(memberships__user=request.user).order_by("code")
    colleagues = (
        Membership.objects.filter(department__in=departments)
        .exclude(user=request.user)
        .select_related("user", "department")
        .order_by("department__code", "user__username")
    )
    headed = [
        m.department
        for m in Membership.objects.filter(user=request.user, is_head=True).select_related("department")
    ]
    return render(
        request,
        "collab/proxies.html",
        {
            "proxies": selectors.proxies_for_user(user=request.user),
            "acting": selectors.tasks_acting_for(user=request.user),
            "colleagues": colleagues,
            "headed": headed,
            "is_head": roles_of(request).is_head,
        },
    )


@reviewer_required
@require_POST
def proxy_cancel(request, pk):
    try:
        proxies.proxy_cancel(proxy_id=pk, actor=request.user)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The acting officer was withdrawn."))
    return redirect("collab:proxies")


@reviewer_required
@require_POST
def reassign(request):
    if not roles_of(request).is_head:
        raise PermissionDenied
    department = Department.objects.filter(code=request.POST.get("department", "")).first()
    from_user, to_user = _user(request.POST.get("from_user")), _user(request.POST.get("to_user"))
    if department is None or from_user is None:
        messages.error(request, _("Choose the department and the leaving reviewer."))
        return redirect("collab:proxies")
    try:
        moved = proxies.tasks_reassign(
            actor=request.user, department_id=department.pk, from_user=from_user, to_user=to_user
        )
    except GovflowError as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, _("%(n)d tasks were handed over.") % {"n": len(moved)})
    return redirect("collab:proxies")


# -- 常用意见 and 批量审批 -------------------------------------------------------------


@reviewer_required
@require_http_methods(["GET", "POST"])
def opinions_page(request):
    if request.method == "POST":
        try:
            proxies.opinion_save(actor=request.user, text_value=request.POST.get("text", ""))
        except GovflowError as exc:
            messages.error(request, message_of(exc))
        else:
            messages.success(request, _("The opinion was kept."))
        return redirect(safe_next(request, reverse("collab:opinions")))
    return render(request, "collab/opinions.html", {"opinions": selectors.saved_opinions(user=request.user)})


@reviewer_required
@require_POST
def opinion_delete(request, pk):
    try:
        proxies.opinion_delete(actor=request.user, opinion_id=pk)
    except NotFound:
        raise Http404 from None
    return redirect("collab:opinions")


@reviewer_required
@require_http_methods(["GET", "POST"])
def batch_page(request):
    results = None
    if request.method == "POST":
        try:
            results = proxies.tasks_approve_batch(
                actor=request.user,
                task_ids=[int(t) for t in request.POST.getlist("tasks") if t.isdigit()],
                opinion=request.POST.get("opinion", ""),
            )
        except NotFound:
            raise Http404 from None
        except GovflowError as exc:
            messages.error(request, message_of(exc))
        else:
            done = sum(1 for r in results if r.ok)
            messages.success(request, _("%(n)d tasks were approved.") % {"n": done})
            for result in results:
                if not result.ok:
                    why = MESSAGES.get(result.code) or refusal_text(result.error, result.code)
                    messages.error(request, f"#{result.task_id}: {why}")
    return render(
        request,
        "collab/batch.html",
        {
            "groups": selectors.batch_candidates(user=request.user),
            "opinions": selectors.saved_opinions(user=request.user),
            "results": results,
        },
    )
