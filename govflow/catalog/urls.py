from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("requests/", views.requests_board, name="requests"),
    path("requests/<id:pk>/decide/", views.request_decide, name="request_decide"),
    path("lookup/<str:reference>/", views.lookup, name="lookup"),
    path("prefill/<str:reference>/", views.prefill, name="prefill"),
    path("release/<str:reference>/", views.release, name="release"),
    path("<slug:code>/", views.dataset_detail, name="dataset"),
    path("<slug:code>/request/", views.request_create, name="request_create"),
    path("<slug:code>/records/", views.records, name="records"),
    path("<slug:code>/records/<path:key>/", views.record_detail, name="record"),
]
