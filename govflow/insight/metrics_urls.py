"""`/metrics` (mounted at the root by govflow/urls.py)."""

from django.urls import path

from .metrics import metrics

urlpatterns = [path("", metrics, name="metrics")]
