from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.web.urls import ReferenceConverter  # noqa: F401  (registers <ref:...>)

from . import views

app_name = "ratings"

urlpatterns = [
    path("cases/<ref:reference>/", views.rate_case, name="rate"),
    path("remediations/", views.remediation_list, name="remediations"),
    path("remediations/<id:pk>/", views.remediation_detail, name="remediation"),
]
