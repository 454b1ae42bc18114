from django.contrib import admin
from django.urls import include, path

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.security.login import admin_login_view

# Uncaught exceptions: a 503 with Retry-After while the database is
# unreachable, the API's JSON shape under /api/ (govflow.web.views.errors).
handler500 = "govflow.web.views.errors.server_error"

urlpatterns = [
    path("admin/login/", admin_login_view),  # the login lockout, serialised (govflow.security.login)
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("govflow.audit.urls")),
    path("api/", include("govflow.api.urls")),
    path("verify/", include("govflow.certificates.urls")),
    path("letters/", include("govflow.letters.urls")),
    path("webhooks/", include("govflow.webhooks.urls")),
    path("insight/", include("govflow.insight.urls")),
    path("metrics", include("govflow.insight.metrics_urls")),
    path("bpmn/", include("govflow.bpmn.urls")),
    path("catalog/", include("govflow.catalog.urls")),
    path("ratings/", include("govflow.ratings.urls")),
    path("collab/", include("govflow.collab.urls")),
    path("notifications/", include("govflow.notifications.urls")),
    path("notices/", include("govflow.notices.urls")),
    path("commitments/", include("govflow.commitments.urls")),
    path("", include("govflow.web.urls")),
]
