"""The login lockout (django-axes) made race-proof, and its page; where
each role lands after logging in.

Axes' database handler counts failures atomically (SELECT ... FOR UPDATE and
F() + 1), but it checks whether an account is locked before the password is
tried and counts the failure after: fifty parallel wrong passwords can all
pass the check before the first failure is counted. `serialize_login` closes
that gap: a POST to a login view runs in one transaction holding a
PostgreSQL advisory lock on the user name tried, so attempts on one account
are checked, tried and counted one after another, and the attempt after the
limit is refused without trying the password.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.db import connection, transaction
from django.shortcuts import render
from django.urls import reverse

from govflow.accounts.models import LEADER
from govflow.accounts.permissions import has_role, is_admin, is_auditor, memberships
from govflow.security.client import client_ip

from .ratelimit import rate_limit

# First key of the two-key advisory lock: "govflow login" attempts.
LOGIN_LOCK_CLASS = 0x60F1


def axes_client_ip(request) -> str:
    """Axes sees the same client address as the audit trail."""
    return client_ip(request) or ""


def _lock_username(username: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers already
    key = zlib.crc32(username.encode("utf-8")) - 2**31  # int4 range
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOGIN_LOCK_CLASS, key])


def serialize_login(view):
    """Run POSTs of a login view one at a time per user name tried."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = str(request.POST.get(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"), ""))[:150]
        with transaction.atomic():
            _lock_username(username)
            response = view(request, *args, **kwargs)
            # Render inside the lock: a lazily rendered page must not run
            # queries after the attempt was counted and the lock released.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    return wrapped


def _limited(view):
    return rate_limit("login", key="ip")(serialize_login(view))


def landing_url(user) -> str:
    """Where a user lands after logging in without a `next`: an
    administrator on the process console, a reviewer in the inbox, a leader
    on the dashboard, an auditor on the audit trail, anyone else (an
    applicant) on the service catalogue."""
    if is_admin(user):
        return reverse("web:console")
    if memberships(user):
        return reverse("web:inbox")
    if has_role(user, LEADER):
        return reverse("insight:dashboard")
    if is_auditor(user):
        return reverse("audit:trail")
    return reverse("web:catalogue")


class LoginView(auth_views.LoginView):
    """Django's login view; a safe `next` still wins (Django checks it is
    on this site), otherwise the user lands by role (`landing_url`)."""

    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        user = self.request.user
        return landing_url(user) if user.is_authenticated else super().get_default_redirect_url()


# The site's login page and the admin's: the lockout applies to both.
login_view = _limited(LoginView.as_view())


def _admin_login(request, extra_context=None):
    return admin.site.login(request, extra_context)


admin_login_view = _limited(_admin_login)


def lockout_response(request, original_response=None, credentials=None):
    """The page shown while an account is locked after too many failures."""
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    minutes = None
    if isinstance(cool_off, timedelta):
        minutes = max(1, int(cool_off.total_seconds() // 60))
    elif isinstance(cool_off, int | float):
        minutes = max(1, int(cool_off * 60))
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
