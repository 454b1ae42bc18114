"""The decision panel's 退回, 撤回, 转办, 加签 and 减签 (the forms in
templates/inbox/_flow.html and _take_back.html). Each posts, calls one
service, and goes back to the case page (or the inbox when the task left
the reviewer's departments) with a message."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from govflow.cases.operations.returns import task_return
from govflow.cases.operations.signers import task_add_signer, task_remove_signer
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.errors import GovflowError, NotFound
from govflow.messages import error_text

from .common import int_or_none, reviewer_required, safe_next

FLOW_MESSAGES = (
    ("cannot send the case back to", gettext_lazy("The case cannot be sent back to that step.")),
    (
        "can come straight back only",
        gettext_lazy("The case can come straight back to you only from a step of the same branch."),
    ),
    ("give a reason", gettext_lazy("Give a reason.")),
    ("choose the step", gettext_lazy("Choose the step to send the case back to.")),
    (
        "next step has already acted",
        gettext_lazy("The next step has already acted on this decision; it can no longer be taken back."),
    ),
    (
        "next reviewer has already claimed",
        gettext_lazy("The next reviewer has already claimed the case; it can no longer be taken back."),
    ),
    ("only the reviewer who decided", gettext_lazy("Only the reviewer who decided can take it back.")),
    ("already with that department", gettext_lazy("The task is already with that department.")),
    ("cannot be transferred", gettext_lazy("Tasks of this step cannot be transferred.")),
    ("go only to", gettext_lazy("Tasks of this step go only to the departments the template names.")),
    ("choose a department", gettext_lazy("Choose a department.")),
    ("already signs here", gettext_lazy("That department already signs here.")),
    ("add a signer of another department", gettext_lazy("Add a signer of another department.")),
    ("signer added before you", gettext_lazy("A signer added before you has not approved yet.")),
)


def _text(exc: GovflowError) -> str:
    for needle, text in FLOW_MESSAGES:
        if needle in exc.message:
            return str(text)
    return error_text(exc)


def _run(request, action, success: str, *, leave: bool = False):
    back = safe_next(request, reverse("web:inbox"))
    try:
        action()
    except NotFound:
        raise
    except GovflowError as exc:
        messages.error(request, _text(exc))
        return redirect(back)
    messages.success(request, success)
    return redirect(reverse("web:inbox") if leave else back)


@reviewer_required
@require_POST
def task_return_view(request, pk):
    return _run(
        request,
        lambda: task_return(
            task_id=pk,
            actor=request.user,
            target=request.POST.get("target", ""),
            opinion=request.POST.get("opinion", ""),
            come_back=request.POST.get("come_back") == "1",
        ),
        _("The case was sent back."),
    )


@reviewer_required
@require_POST
def task_take_back_view(request, pk):
    return _run(
        request,
        lambda: task_take_back(task_id=pk, actor=request.user),
        _("Your decision was taken back; the task is yours again."),
    )


@reviewer_required
@require_POST
def task_transfer_view(request, pk):
    return _run(
        request,
        lambda: task_transfer(
            task_id=pk,
            actor=request.user,
            department=request.POST.get("department", ""),
            opinion=request.POST.get("opinion", ""),
        ),
        _("The task was transferred."),
        leave=True,
    )


@reviewer_required
@require_POST
def task_add_signer_view(request, pk):
    return _run(
        request,
        lambda: task_add_signer(
            task_id=pk,
            actor=request.user,
            department=request.POST.get("department", ""),
            position=request.POST.get("position", ""),
        ),
        _("The signer was added."),
    )


@reviewer_required
@require_POST
def task_remove_signer_view(request, pk):
    return _run(
        request,
        lambda: task_remove_signer(
            task_id=pk,
            actor=request.user,
            signer_task_id=int_or_none(request.POST.get("signer")),
            department=request.POST.get("department") or None,
        ),
        _("The signer was removed."),
    )
