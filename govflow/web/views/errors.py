"""Error pages: the 404/403/500 handlers use templates/404.html etc.; CSRF
failures (an expired form, cookies off) get a page of their own."""

from django.shortcuts import render


def csrf_failure(request, reason=""):
    return render(request, "errors/csrf.html", status=403)
