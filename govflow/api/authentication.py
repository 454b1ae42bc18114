"""How API callers prove who they are.

Systems send `Authorization: Token <key>` (or `Bearer <key>`); keys are
issued by an admin (`manage.py drf_create_token <user>` or the Django admin).
The browser uses its session, and then every unsafe request must carry the
CSRF token, as the web's forms do.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .callers import token_with_user


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, also under the `Bearer` keyword that
    most HTTP clients send."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as 'Authorization: Token <key>'."), code="authentication_failed"
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                _("The token is not valid."), code="authentication_failed"
            ) from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key):
        token = token_with_user(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token is not valid."), code="authentication_failed")
        return (token.user, token)


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session; a missing or wrong CSRF token is a 403 with
    the code `csrf_failed`."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                _(
                    "The CSRF token is missing or wrong; send the X-CSRFToken header "
                    "with the csrftoken cookie."
                ),
                code="csrf_failed",
            ) from exc
