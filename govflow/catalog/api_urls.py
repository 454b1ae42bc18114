"""Mounted under /api/v1/catalog/ by govflow.api.urls."""

from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)

from . import api

urlpatterns = [
    path("", api.DatasetList.as_view(), name="catalog-datasets"),
    path("datasets/<slug:code>/", api.DatasetDetail.as_view(), name="catalog-dataset"),
    path("datasets/<slug:code>/records/", api.RecordList.as_view(), name="catalog-records"),
    path("datasets/<slug:code>/records/<path:key>/", api.RecordDetail.as_view(), name="catalog-record"),
    path("requests/", api.RequestList.as_view(), name="catalog-requests"),
    path("requests/<id:request_id>/decide/", api.RequestDecide.as_view(), name="catalog-request-decide"),
    path("prefill/", api.Prefill.as_view(), name="catalog-prefill"),
]
