"""Error pages: the 404/403 handlers use templates/404.html etc.; CSRF
failures (an expired form, cookies off) get a page of their own.

Every uncaught exception ends in `server_error` (handler500), wherever it
was raised, a middleware included. A database that cannot be reached is
not a server bug: the answer is 503 with Retry-After (templates/503.html,
which like 500.html needs no database; under /api/ the API's error shape).
"""

import sys

from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

from govflow.api.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, unavailable_response
from govflow.api.errors import server_error as api_server_error

API_PREFIX = "/api/"


def csrf_failure(request, reason=""):
    return render(request, "errors/csrf.html", status=403)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]  # handler500 runs inside Django's except block
    api = request.path_info.startswith(API_PREFIX)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        if api:
            return unavailable_response()
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if api:
        return api_server_error(request)
    return defaults.server_error(request)
