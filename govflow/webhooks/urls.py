from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="endpoints"),
    path("new/", views.endpoint_new, name="endpoint_new"),
    path("<id:pk>/", views.endpoint_detail, name="endpoint"),
    path("<id:pk>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("<id:pk>/activation/", views.endpoint_activation, name="endpoint_activation"),
    path("<id:pk>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("deliveries/<id:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<id:pk>/retry/", views.delivery_retry_view, name="delivery_retry"),
]
