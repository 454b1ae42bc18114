"""Request middleware of the web app: HEAD, the language, and GovflowError pages."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views import defaults

from govflow.errors import Forbidden, GovflowError, NotFound
from govflow.messages import error_text


class HeadAsGetMiddleware:
    """HEAD is answered wherever GET is (RFC 9110: a server that answers GET
    answers HEAD): the request runs as a GET, through views that allow only
    GET as well, and the body is dropped. The headers stay the GET's,
    Content-Length included (set by CommonMiddleware, inside this one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"
        if response.streaming:
            response.streaming_content = []  # a file is still closed with the response
        else:
            response.content = b""
        return response


class DefaultLanguageMiddleware:
    """Chinese unless the user chose another language (the language cookie
    set by /i18n/setlang/). The browser's Accept-Language is not consulted:
    a government portal here speaks Chinese first, and English on request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class GovflowErrorMiddleware:
    """A GovflowError a view did not handle becomes a page in the user's
    language with the error's status, never a traceback. NotFound and
    Forbidden use the site's 404 and 403 pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, GovflowError):
            return None
        if isinstance(exception, NotFound):
            return defaults.page_not_found(request, exception)
        if isinstance(exception, Forbidden):
            return render(request, "403.html", {"message": error_text(exception)}, status=403)
        status = exception.status if 400 <= exception.status < 600 else 400
        return render(
            request, "errors/error.html", {"message": error_text(exception), "status": status}, status=status
        )
