"""Helpers shared by the web views: language, roles, access decorators."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language

from govflow.accounts.permissions import Roles, user_roles


def lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def roles_of(request) -> Roles:
    """The user's roles, worked out once per request."""
    cached = getattr(request, "_govflow_roles", None)
    if cached is None:
        cached = request._govflow_roles = user_roles(request.user)
    return cached


def reviewer_required(view):
    """Department staff only; anyone else is told they may not (403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not roles_of(request).is_reviewer:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not roles_of(request).is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
