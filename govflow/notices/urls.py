from django.urls import path

from govflow.web.urls import ReferenceConverter  # noqa: F401  (registers <ref:...>)

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("<ref:reference>/object/", views.objection_form, name="object"),
]
