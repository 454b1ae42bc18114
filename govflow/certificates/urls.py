from django.urls import path

from . import views

app_name = "certificates"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("manage/", views.manage, name="manage"),
    path("manage/<str:number>/", views.manage_detail, name="manage_detail"),
    path("download/<str:number>/", views.download, name="download"),
    path("<str:number>/", views.verify_number, name="verify_number"),
]
