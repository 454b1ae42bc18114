from django.urls import path

from . import views

app_name = "letters"

urlpatterns = [
    path("<str:number>/download/", views.download, name="download"),
]
