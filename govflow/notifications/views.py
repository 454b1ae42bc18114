"""The notification page (通知): a user's own notices, newest first; opening
one marks it read and goes to its case. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govflow.errors import GovflowError, NotFound
from govflow.messages import fields_of

from .models import NotificationPreference
from .selectors import notification_preference, notifications_for_user, notifications_unread_count
from .services import notification_mark_read, notification_preferences_save, notifications_mark_all_read

PAGE = 100


@login_required
@require_GET
def notification_list(request):
    unread_only = request.GET.get("show") == "unread"
    items = notifications_for_user(user=request.user, unread_only=unread_only, limit=PAGE)
    return render(
        request,
        "notifications/list.html",
        {
            "items": items,
            "unread_only": unread_only,
            "unread_count": notifications_unread_count(user=request.user),
            "page_size": PAGE,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request):
    """How the user wants to hear besides the bell: e-mail, SMS (and the number)."""
    preference = notification_preference(user=request.user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        wanted = {
            "email": request.POST.get("email") == "on",
            "sms": request.POST.get("sms") == "on",
            "phone": request.POST.get("phone", "")[:40],
        }
        try:
            notification_preferences_save(user=request.user, **wanted)
        except GovflowError as exc:
            errors = fields_of(exc)
            preference = NotificationPreference(user=request.user, **wanted)
        else:
            messages.success(request, _("Saved."))
            return redirect("notifications:settings")
    return render(
        request,
        "notifications/settings.html",
        {"preference": preference, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
@require_POST
def notification_open(request, pk):
    try:
        notification = notification_mark_read(notification_id=pk, actor=request.user)
    except NotFound:
        raise Http404 from None
    if notification.case_id is not None:
        return redirect("web:case", notification.case.reference)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    notifications_mark_all_read(actor=request.user)
    return redirect("notifications:list")
