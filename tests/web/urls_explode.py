"""Views that fail with an ordinary bug, on the site and under /api/, with
govflow's error handler (for tests/web/test_database_outage.py)."""

from django.urls import include, path

from govflow.urls import handler500  # noqa: F401  (the handler under test)


def explode(request):
    raise RuntimeError("an ordinary bug")


urlpatterns = [
    path("explode/", explode),
    path("api/explode/", explode),
    path("", include("govflow.urls")),
]
