from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "commitments"

urlpatterns = [
    path("cases/<str:reference>/materials/<slug:slot>/", views.material_supply_view, name="material_supply"),
    path("materials/<id:pk>/review/", views.material_review_view, name="material_review"),
    path("verifications/", views.verifications, name="verifications"),
    path("verifications/<id:pk>/decide/", views.verification_decide_view, name="verification_decide"),
]
