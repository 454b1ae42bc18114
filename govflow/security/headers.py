"""Security headers on every response: a Content Security Policy, a
Permissions-Policy, Cross-Origin-Resource-Policy, no caching of pages shown
to a logged-in user, and for downloads a sandboxing policy and nosniff.

The pages load scripts and styles only from /static/ (htmx is vendored and
runs with allowEval off), so the policy allows no inline code and no other
origin. A view that needs a different policy sets the header itself
(`csp_override`); this middleware then leaves it alone, except on
downloads, which always get the sandbox.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# A downloaded file opened in the browser can run nothing and load nothing.
DOWNLOAD_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox"
DEFAULT_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = getattr(settings, "GOVFLOW_CSP", DEFAULT_CSP)
        self.permissions = getattr(settings, "GOVFLOW_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        headers = response.headers
        if headers.get("Content-Disposition", "").lower().startswith("attachment"):
            headers["Content-Security-Policy"] = DOWNLOAD_CSP
            headers["X-Content-Type-Options"] = "nosniff"
        elif self.csp:
            headers.setdefault("Content-Security-Policy", self.csp)
        if self.permissions:
            headers.setdefault("Permissions-Policy", self.permissions)
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages with personal data stay out of shared and back-button caches.
            headers.setdefault("Cache-Control", "private, no-store")
        return response


def csp_override(policy: str):
    """Give one view its own Content-Security-Policy."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.headers["Content-Security-Policy"] = policy
            return response

        return wrapped

    return decorate
